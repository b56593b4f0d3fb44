/** Frame folders (PNG, JPEG) and the UCF-101 layout, on fixtures the test writes. */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initBackend } from '../src/interpreters/backend.js'
import { loadFrameFolder, sampleIndices, ucf101 } from '../src/data/frames.js'

test.before(async () => {
  await initBackend('cpu')
})

/** A W×H frame, grey level `v` (0–255) everywhere except a red left half. */
const frame = (W: number, H: number, v: number) => {
  const png = new PNG({ width: W, height: H })
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4
      png.data.set(x < W / 2 ? [255, 0, 0, 255] : [v, v, v, 255], i)
    }
  return png
}

const withDir = async (f: (dir: string) => Promise<void>) => {
  const dir = await mkdtemp(join(tmpdir(), 'multav-frames-'))
  try {
    await f(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

test('uniform sampling spreads T indices over the video, repeating frames when it is short', (t) => {
  t.deepEqual(sampleIndices(32, 4), [4, 12, 20, 28])
  t.deepEqual(sampleIndices(3, 6), [0, 0, 1, 1, 2, 2])
})

test.serial('a PNG folder: frames in numeric order, uniformly sampled, shorter side resized, centre-cropped', async (t) => {
  await withDir(async (dir) => {
    // frame k has grey level 10·k; names that sort wrongly as text (frame10 < frame2)
    for (let k = 0; k < 12; k++) await writeFile(join(dir, `frame${k}.png`), PNG.sync.write(frame(40, 20, 10 * k)))
    const before = tf.memory().numTensors
    const clip = await loadFrameFolder(dir, { T: 4, size: 10, crop: 10 })
    t.is(tf.memory().numTensors, before)
    t.deepEqual(clip.shape, [1, 4, 10, 10, 3])
    // 40×20 → 20×10, centre crop columns 5..14: columns 0–4 red, 5–9 grey (the frame's level)
    const pixel = (f: number, y: number, x: number) => Array.from(clip.data.subarray(((f * 10 + y) * 10 + x) * 3, ((f * 10 + y) * 10 + x) * 3 + 3))
    t.deepEqual(pixel(0, 5, 0), [1, 0, 0])
    const levels = sampleIndices(12, 4).map((k) => (10 * k) / 255)
    levels.forEach((level, f) => t.true(Math.abs(pixel(f, 5, 9)[0]! - level) < 1e-6, `frame ${f}: ${pixel(f, 5, 9)} vs ${level}`))
  })
})

test.serial('JPEG frames decode to the same picture within compression error', async (t) => {
  await withDir(async (dir) => {
    for (let k = 0; k < 3; k++) {
      const png = frame(16, 16, 128)
      await writeFile(join(dir, `${k}.jpg`), jpeg.encode({ data: png.data, width: 16, height: 16 }, 95).data)
    }
    const clip = await loadFrameFolder(dir, { T: 2, size: 16, crop: 16 })
    const at = (y: number, x: number) => Array.from(clip.data.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3))
    t.true(Math.abs(at(8, 2)[0]! - 1) < 0.05 && at(8, 2)[1]! < 0.05, `red: ${at(8, 2)}`)
    t.true(Math.abs(at(8, 13)[1]! - 128 / 255) < 0.05, `grey: ${at(8, 13)}`)
  })
})

test.serial('clear errors: missing folder, no frames, an unreadable frame, bad sizes', async (t) => {
  await withDir(async (dir) => {
    await t.throwsAsync(loadFrameFolder(join(dir, 'nope')), { message: `${join(dir, 'nope')}: cannot read the frame folder (ENOENT)` })
    await t.throwsAsync(loadFrameFolder(dir), { message: `${dir}: no PNG or JPEG frames` })
    await writeFile(join(dir, '0.png'), Buffer.from('not a png'))
    await t.throwsAsync(loadFrameFolder(dir), { message: new RegExp(`^${join(dir, '0.png').replace(/[.]/g, '\\.')}: cannot decode`) })
    await t.throwsAsync(loadFrameFolder(dir, { crop: 200 }), { message: 'loadFrameFolder: crop must be an integer in [1, size=112], got 200' })
  })
})

test.serial('the UCF-101 layout: classes, split lists, labels and frame folders', async (t) => {
  await withDir(async (root) => {
    const lists = join(root, 'ucfTrainTestlist')
    await mkdir(lists, { recursive: true })
    await writeFile(join(lists, 'classInd.txt'), '1 ApplyEyeMakeup\n2 Archery\n')
    await writeFile(join(lists, 'trainlist01.txt'), 'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\nArchery/v_Archery_g01_c01.avi 2\n')
    await writeFile(join(lists, 'testlist01.txt'), 'Archery/v_Archery_g02_c03.avi\n')
    const frames = join(root, 'frames', 'Archery', 'v_Archery_g02_c03')
    await mkdir(frames, { recursive: true })
    for (let k = 0; k < 5; k++) await writeFile(join(frames, `img_${k}.png`), PNG.sync.write(frame(8, 8, 200)))
    const train = await ucf101(root, { subset: 'train' })
    t.deepEqual(train.classes, ['ApplyEyeMakeup', 'Archery'])
    t.deepEqual(train.videos.map((v) => [v.video, v.label]), [['ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi', 0], ['Archery/v_Archery_g01_c01.avi', 1]])
    const testSplit = await ucf101(root, { subset: 'test' })
    t.is(testSplit.videos[0]!.frames, frames)
    const clip = await loadFrameFolder(testSplit.videos[0]!.frames, { T: 2, size: 8, crop: 8 })
    t.deepEqual(clip.shape, [1, 2, 8, 8, 3])
    await writeFile(join(lists, 'trainlist01.txt'), 'Archery/v_Archery_g01_c01.avi 1\n')
    await t.throwsAsync(ucf101(root, { subset: 'train' }), { message: `${join(lists, 'trainlist01.txt')}:1: label 1 does not match class Archery (2)` })
    await writeFile(join(lists, 'classInd.txt'), '1 ApplyEyeMakeup\n3 Archery\n')
    await t.throwsAsync(ucf101(root, { subset: 'test' }), { message: `${join(lists, 'classInd.txt')}:2: expected "2 <ClassName>", got "3 Archery"` })
  })
})
