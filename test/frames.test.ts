/** Frame folders (PNG, JPEG) and the UCF-101 layout, on fixtures the test writes. */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32, deflateSync } from 'node:zlib'
import { initBackend } from '../src/backend/backend.js'
import { FRAME_LIMITS, loadFrameFolder, sampleIndices, ucf101 } from '../src/data/frames.js'

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

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

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
    await t.throwsAsync(loadFrameFolder(dir), { message: `${join(dir, '0.png')}: not a PNG or JPEG image (it starts with the bytes 6e 6f 74 20)` })
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

// -------------------------------------------------------------------------------------------------
// hostile frames: each a clear error naming the file, quickly, without a large allocation
// -------------------------------------------------------------------------------------------------

/** A PNG chunk: length, type, data, CRC. */
const chunk = (type: string, data: Uint8Array) => {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const out = Buffer.alloc(body.length + 8)
  out.writeUInt32BE(data.length, 0)
  body.copy(out, 4)
  out.writeUInt32BE(crc32(body), body.length + 4)
  return out
}

/** A PNG from its IHDR fields and (already compressed) image data. */
const pngOf = (width: number, height: number, idat: Uint8Array, interlace = 0) => {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 6, 0, 0, interlace], 8) // 8-bit RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array())])
}

/** A JPEG whose SOF0 marker claims `width`x`height` (followed by nothing decodable). */
const jpegClaiming = (width: number, height: number) => {
  const sof = Buffer.from([0xff, 0xc0, 0, 11, 8, height >> 8, height & 255, width >> 8, width & 255, 1, 1, 0x11, 0])
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0]), sof, Buffer.from([0xff, 0xd9])])
}

/** Runs `load`, expecting `message`, within `ms` and without `MB` megabytes more of buffers or heap. */
const refusesQuickly = async (t: import('ava').ExecutionContext, load: () => Promise<unknown>, message: string | RegExp, ms = 2000, MB = 64) => {
  const memory = () => process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed
  const [before, started] = [memory(), performance.now()]
  await t.throwsAsync(load, typeof message === 'string' ? { message } : { message })
  t.true(performance.now() - started < ms, `took ${(performance.now() - started).toFixed(0)} ms`)
  t.true(memory() - before < MB * 1024 ** 2, `${((memory() - before) / 1024 ** 2).toFixed(0)} MB more`)
}

test.serial('a decompression bomb (a PNG of under 100 bytes claiming 20000x20000) is refused from its header, naming the file', async (t) => {
  await withDir(async (dir) => {
    const bomb = pngOf(20_000, 20_000, deflateSync(Buffer.alloc(16)))
    t.true(bomb.length < 100)
    const file = join(dir, 'f.png')
    await writeFile(file, bomb)
    await refusesQuickly(t, () => loadFrameFolder(dir, { T: 1, size: 8, crop: 8 }),
      `${file}: the PNG header says 20000x20000 pixels, more than a frame may have (at most ${FRAME_LIMITS.side} a side and ${FRAME_LIMITS.pixels} pixels); refused before decoding`)
    // a side within the limit, too many pixels in all; one side too long
    for (const [w, h] of [[16_000, 16_000], [16_385, 1]] as const) {
      await writeFile(file, pngOf(w, h, deflateSync(Buffer.alloc(16))))
      await refusesQuickly(t, () => loadFrameFolder(dir, { T: 1, size: 8, crop: 8 }), new RegExp(`^${esc(file)}: the PNG header says ${w}x${h} pixels, more than`))
    }
    await writeFile(file, pngOf(0, 5, deflateSync(Buffer.alloc(16))))
    await refusesQuickly(t, () => loadFrameFolder(dir), `${file}: the PNG header says 0x5 pixels; expected an image of at least 1x1`)
  })
})

test.serial('a JPEG whose frame header claims 60000x60000 is refused before decoding, naming the file', async (t) => {
  await withDir(async (dir) => {
    const file = join(dir, 'f.jpg')
    await writeFile(file, jpegClaiming(60_000, 60_000))
    await refusesQuickly(t, () => loadFrameFolder(dir), new RegExp(`^${esc(file)}: the JPEG header says 60000x60000 pixels, more than a frame may have`))
  })
})

test.serial('an interlaced PNG whose small header hides a huge inflate is refused without inflating it all', async (t) => {
  await withDir(async (dir) => {
    const file = join(dir, 'f.png')
    await writeFile(file, pngOf(4, 4, deflateSync(Buffer.alloc(32 * 1024 ** 2)), 1)) // 32 MiB of zeros, a 4x4 image
    await refusesQuickly(t, () => loadFrameFolder(dir, { T: 1, size: 4, crop: 4 }), new RegExp(`^${esc(file)}: cannot decode as PNG; the file is truncated or corrupt \\(`), 3000)
  })
})

test.serial('truncated PNG and JPEG files, a zero-byte file, non-image bytes named .png, a FIFO: one clear line naming the file', async (t) => {
  await withDir(async (dir) => {
    const png = PNG.sync.write(frame(16, 16, 100))
    const jpg = Buffer.from(jpeg.encode({ data: frame(16, 16, 100).data, width: 16, height: 16 }, 90).data)
    const corrupt = (format: string) => (f: string) => new RegExp(`^${esc(f)}: cannot decode as ${format}; the file is truncated or corrupt \\(.+\\)$`)
    const cases: ReadonlyArray<readonly [string, Uint8Array, (file: string) => string | RegExp]> = [
      ['empty.png', new Uint8Array(), (f) => `${f}: empty file (0 bytes), expected a PNG or JPEG image`],
      ['text.png', Buffer.from('not a png at all'), (f) => `${f}: not a PNG or JPEG image (it starts with the bytes 6e 6f 74 20)`],
      ['head.png', png.subarray(0, 20), (f) => `${f}: truncated or corrupt PNG: no IHDR chunk in its first 33 bytes`],
      ['half.png', png.subarray(0, png.length >> 1), corrupt('PNG')],
      ['head.jpg', jpg.subarray(0, 4), (f) => `${f}: truncated or corrupt JPEG: no frame header (SOF marker) before the image data`],
      ['half.jpg', jpg.subarray(0, jpg.length >> 1), corrupt('JPEG')],
    ]
    for (const [name, bytes, message] of cases) {
      const folder = join(dir, name.replace('.', '-'))
      await mkdir(folder)
      await writeFile(join(folder, name), bytes)
      await refusesQuickly(t, () => loadFrameFolder(folder, { T: 2, size: 16, crop: 16 }), message(join(folder, name)))
    }
    // the format comes from the bytes, not the name: a PNG named .jpg loads
    const named = join(dir, 'named')
    await mkdir(named)
    await writeFile(join(named, '0.jpg'), png)
    t.deepEqual((await loadFrameFolder(named, { T: 2, size: 16, crop: 16 })).shape, [1, 2, 16, 16, 3])
    const fifoDir = join(dir, 'fifo')
    await mkdir(fifoDir)
    execFileSync('mkfifo', [join(fifoDir, '0.png')])
    await refusesQuickly(t, () => loadFrameFolder(fifoDir), `${join(fifoDir, '0.png')}: not a regular file`)
  })
})

test.serial('frames of different sizes in one folder are refused, naming both files', async (t) => {
  await withDir(async (dir) => {
    await writeFile(join(dir, '0.png'), PNG.sync.write(frame(40, 20, 0)))
    await writeFile(join(dir, '1.png'), PNG.sync.write(frame(40, 20, 0)))
    await writeFile(join(dir, '2.png'), PNG.sync.write(frame(20, 20, 0)))
    const before = tf.memory().numTensors
    await t.throwsAsync(loadFrameFolder(dir, { T: 3, size: 10, crop: 10 }), {
      message: `${join(dir, '2.png')}: 20x20 pixels, but ${join(dir, '0.png')} is 40x20; the frames of one clip must have one size`,
    })
    t.is(tf.memory().numTensors, before)
  })
})

test('a JPEG with stray bytes before a marker (a segment length off by one) loads, as jpeg-js and libjpeg read it', async (t) => {
  await withDir(async (dir) => {
    const jpg = Buffer.from(jpeg.encode({ data: frame(16, 16, 100).data, width: 16, height: 16 }, 90).data)
    t.is(jpg.readUInt16BE(2), 0xffe0, 'jpeg-js writes APP0 first')
    // APP0's length one too large (a known encoder bug): read as written, it ends one byte into the next
    // marker, so a reader must resynchronise on the next 0xFF, as jpeg-js and libjpeg do
    const length = jpg.readUInt16BE(4)
    const bad = Buffer.from(jpg)
    bad.writeUInt16BE(length + 1, 4)
    for (const [name, bytes] of [['long-app0', bad]] as const) {
      const folder = join(dir, name)
      await mkdir(folder)
      await writeFile(join(folder, '1.jpg'), bytes)
      t.is(jpeg.decode(bytes, { useTArray: true }).width, 16, `${name}: jpeg-js decodes it`)
      const clip = await loadFrameFolder(folder, { T: 1, size: 16, crop: 16 })
      t.deepEqual(clip.shape, [1, 1, 16, 16, 3], name)
    }
  })
})
