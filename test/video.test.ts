/**
 * Video files through ffmpeg: clips the test encodes in a real lossy codec (MPEG-4 Part 2 in AVI, as
 * UCF-101 ships) decode with the paper's preprocessing; lossless writing round-trips exactly; and
 * missing files, non-videos, a missing ffmpeg and bad options give clear errors.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PNG } from 'pngjs'
import { findFfmpeg, loadVideo, resetFfmpegCache, writeFramesPng, writeVideoLossless } from '../src/data/video.js'

let dir = ''
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'multav-video-'))
})
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Encodes raw RGB frames with ffmpeg: MPEG-4 Part 2 in AVI (lossy), as UCF-101's videos are. */
const encodeAvi = async (file: string, frames: ReadonlyArray<Uint8Array>, W: number, H: number): Promise<void> => {
  const bin = await findFfmpeg()
  await new Promise<void>((resolve, reject) => {
    const child = spawn(bin, ['-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', '25', '-i', '-', '-c:v', 'mpeg4', '-q:v', '2', '-y', file])
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exit ${code}`))))
    child.stdin.end(Buffer.concat(frames.map((f) => Buffer.from(f))))
  })
}

/** A 160x120 video: a dark gradient with a bright 20x20 square moving right by 4 px per frame. */
const movingSquare = (n: number) =>
  Array.from({ length: n }, (_, t) => {
    const [W, H] = [160, 120]
    const f = new Uint8Array(W * H * 3)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const inside = x >= 30 + 4 * t && x < 50 + 4 * t && y >= 50 && y < 70
        f.fill(inside ? 240 : 20 + Math.round((x / W) * 40), (y * W + x) * 3, (y * W + x) * 3 + 3)
      }
    return f
  })

/** Centroid column of the pixels brighter than 0.6 in frame t of a [1, T, S, S, 3] clip. */
const brightColumn = (data: Float32Array, t: number, S: number) => {
  let [sum, count] = [0, 0]
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++)
      if (data[((t * S + y) * S + x) * 3]! > 0.6) {
        sum += x
        count++
      }
  return count === 0 ? Number.NaN : sum / count
}

test.serial('an MPEG-4 AVI decodes to T uniformly sampled, resized and centre-cropped frames', async (t) => {
  const file = join(dir, 'square.avi')
  await encodeAvi(file, movingSquare(24), 160, 120)
  const clip = await loadVideo(file, { T: 8, size: 32, crop: 32 })
  t.deepEqual(clip.shape, [1, 8, 32, 32, 3])
  t.true(clip.data.every((v) => v >= 0 && v <= 1))
  // 160x120 → 43x32 (shorter side 32), centre crop 32x32 drops 5 or 6 columns on the left; the square
  // (x = 30 + 4f … 50 + 4f at frame f) has its centre at (40 + 4f)·32/120 − 5.5 in the crop
  const expected = (f: number) => ((40 + 4 * f) * 32) / 120 - 5.5
  const frames = [1, 4, 7, 10, 13, 16, 19, 22] // sampleIndices(24, 8): floor((i + 0.5)·3)
  for (const [k, f] of frames.entries()) {
    const column = brightColumn(clip.data, k, 32)
    if (expected(f) < 29) t.true(Math.abs(column - expected(f)) < 1.5, `frame ${f}: square at ${column}, expected ${expected(f)}`)
  }
  // the background's brightness survives the lossy codec within a few levels
  const topLeftRow = Array.from({ length: 32 }, (_, x) => clip.data[(0 * 32 + 2) * 32 * 3 + x * 3]!)
  const background = topLeftRow.reduce((s, v) => s + v, 0) / 32
  t.true(Math.abs(background - (20 + 20) / 255) < 0.03, `background mean ${background}`)
})

test.serial('the centre crop keeps the middle of a wide video', async (t) => {
  // left third red, middle third green, right third blue, 120x40: resized to 96x32, cropped to the middle 32
  const [W, H] = [120, 40]
  const f = new Uint8Array(W * H * 3)
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) f[(y * W + x) * 3 + Math.floor((3 * x) / W)] = 255
  const file = join(dir, 'thirds.avi')
  await encodeAvi(file, [f, f, f], W, H)
  const clip = await loadVideo(file, { T: 2, size: 32, crop: 32 })
  const mean = (c: number) => {
    let s = 0
    for (let i = c; i < clip.data.length; i += 3) s += clip.data[i]!
    return s / (clip.data.length / 3)
  }
  t.true(mean(1) > 0.8, `green ${mean(1)}`)
  t.true(mean(0) < 0.1 && mean(2) < 0.1, `red ${mean(0)}, blue ${mean(2)}`)
})

test.serial('a video shorter than T repeats frames', async (t) => {
  const file = join(dir, 'short.avi')
  await encodeAvi(file, movingSquare(3), 160, 120)
  const clip = await loadVideo(file, { T: 8, size: 32, crop: 32 })
  t.deepEqual(clip.shape, [1, 8, 32, 32, 3])
  const frame = 32 * 32 * 3
  const at = (k: number) => clip.data.subarray(k * frame, (k + 1) * frame)
  // sampleIndices(3, 8) = [0, 0, 0, 1, 1, 2, 2, 2]
  t.deepEqual(at(0), at(2))
  t.deepEqual(at(3), at(4))
  t.deepEqual(at(5), at(7))
  t.notDeepEqual(at(2), at(3))
  t.notDeepEqual(at(4), at(5))
})

test.serial('lossless writing: FFV1 video and PNG frames give back the 8-bit clip exactly', async (t) => {
  const [T, S] = [5, 24]
  const data = Float32Array.from({ length: T * S * S * 3 }, (_, i) => ((i * 7919) % 1013) / 1012)
  const clip = { shape: [1, T, S, S, 3] as [number, number, number, number, number], data }
  const eight = data.map((v) => Math.round(255 * v) / 255)
  const file = join(dir, 'out', 'adv.mkv')
  await writeVideoLossless(clip, file)
  const back = await loadVideo(file, { T, size: S, crop: S })
  t.deepEqual(back.data, Float32Array.from(eight))
  const paths = await writeFramesPng(clip, join(dir, 'frames'))
  t.is(paths.length, T)
  for (const [k, p] of paths.entries()) {
    const png = PNG.sync.read(await readFile(p))
    t.deepEqual([png.width, png.height], [S, S])
    for (let i = 0; i < S * S; i++)
      for (let c = 0; c < 3; c++) if (png.data[i * 4 + c] !== Math.round(255 * data[(k * S * S + i) * 3 + c]!)) return t.fail(`frame ${k} pixel ${i}`)
  }
})

test.serial('clear errors: missing file, not a video, missing ffmpeg, bad options, wrong extension', async (t) => {
  await t.throwsAsync(loadVideo(join(dir, 'nope.avi')), { message: /nope\.avi: no such file/ })
  const text = join(dir, 'text.avi')
  await writeFile(text, 'this is not a video\n')
  await t.throwsAsync(loadVideo(text, { T: 2, size: 16, crop: 16 }), { message: /text\.avi: ffmpeg failed: .+/ })
  await t.throwsAsync(loadVideo(text, { T: 0 }), { message: /T must be an integer ≥ 1, got 0/ })
  await t.throwsAsync(loadVideo(text, { size: 32, crop: 40 }), { message: /crop must be an integer in \[1, size=32\], got 40/ })
  const clip = { shape: [1, 1, 2, 2, 3] as [number, number, number, number, number], data: new Float32Array(12) }
  await t.throwsAsync(writeVideoLossless(clip, join(dir, 'x.mp4')), { message: /must end in \.mkv/ })
  const saved = process.env['MULTAV_FFMPEG']
  try {
    process.env['MULTAV_FFMPEG'] = join(dir, 'no-ffmpeg-here')
    resetFfmpegCache()
    await t.throwsAsync(findFfmpeg(), { message: /MULTAV_FFMPEG=.*no-ffmpeg-here does not run/ })
    await t.throwsAsync(loadVideo(text, { T: 2, size: 16, crop: 16 }), { message: /MULTAV_FFMPEG/ })
  } finally {
    if (saved === undefined) delete process.env['MULTAV_FFMPEG']
    else process.env['MULTAV_FFMPEG'] = saved
    resetFfmpegCache()
  }
})
