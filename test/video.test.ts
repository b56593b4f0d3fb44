/**
 * Video files through ffmpeg: clips the test encodes in a real lossy codec (MPEG-4 Part 2 in AVI, as
 * UCF-101 ships) decode with the paper's preprocessing; lossless writing round-trips exactly; and
 * missing files, non-videos, a missing ffmpeg and bad options give clear errors.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PNG } from 'pngjs'
import { initBackend } from '../src/backend/backend.js'
import { FRAME_LIMITS, loadFrameFolder, sampleIndices } from '../src/data/frames.js'
import { findFfmpeg, loadVideo, resetFfmpegCache, writeFramesPng, writeVideoLossless } from '../src/data/video.js'

type Shape = [number, number, number, number, number]

let dir = ''
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'multav-video-'))
  await initBackend('cpu')
})
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Encodes raw RGB frames with ffmpeg: MPEG-4 Part 2 in AVI (lossy), as UCF-101's videos are. */
const encodeAvi = async (file: string, frames: ReadonlyArray<Uint8Array>, W: number, H: number): Promise<void> => {
  const bin = await findFfmpeg()
  await new Promise<void>((resolve, reject) => {
    const child = spawn(bin, ['-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', '25', '-i', '-', '-c:v', 'mpeg4', '-q:v', '2', '-y', file])
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exit ${code}`))))
    child.stdin.end(Buffer.concat(frames.map((f) => Buffer.from(f))))
  })
}

const [W, H] = [160, 120]
/** Source pixel (x, y) of frame t: a dark horizontal gradient with a bright 20x20 square moving right 4 px a frame. */
const squarePixel = (t: number, x: number, y: number) => (x >= 30 + 4 * t && x < 50 + 4 * t && y >= 50 && y < 70 ? 240 : 20 + Math.round((x / W) * 40))
const movingSquare = (n: number) =>
  Array.from({ length: n }, (_, t) => {
    const f = new Uint8Array(W * H * 3)
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) f.fill(squarePixel(t, x, y), (y * W + x) * 3, (y * W + x) * 3 + 3)
    return f
  })

/** Centroid column of the pixels brighter than 0.6 in frame t of a [1, T, S, S, 3] clip. */
const brightColumn = (data: Float32Array, t: number, S: number) => {
  let [sum, count] = [0, 0]
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++)
      if (data[((t * S + y) * S + x) * 3]! > 0.6) {
        sum += x + 0.5
        count++
      }
  return count === 0 ? Number.NaN : sum / count
}

test.serial('an MPEG-4 AVI decodes to T uniformly sampled, resized and centre-cropped frames', async (t) => {
  const file = join(dir, 'square.avi')
  await encodeAvi(file, movingSquare(24), W, H)
  const clip = await loadVideo(file, { T: 8, size: 32, crop: 32 })
  t.deepEqual(clip.shape, [1, 8, 32, 32, 3])
  t.is(clip.data.length, 8 * 32 * 32 * 3)
  t.true(clip.data.every((v) => v >= 0 && v <= 1))
  // 160x120 → 43x32 (shorter side 32, scale s = 32/120), centre crop: columns 5..36, i.e. source columns
  // 18.75..138.75; the square (x = 30 + 4f … 50 + 4f in frame f) has its centre at (40 + 4f)·s − 5
  const s = 32 / 120
  const frames = sampleIndices(24, 8)
  t.deepEqual(frames, [1, 4, 7, 10, 13, 16, 19, 22])
  const columns = frames.map((_, k) => brightColumn(clip.data, k, 32))
  for (const [k, f] of frames.entries()) {
    const expected = (40 + 4 * f) * s - 5
    t.true(Math.abs(columns[k]! - expected) < 0.75, `frame ${f}: square at ${columns[k]}, expected ${expected}`)
  }
  // it moves right: strictly increasing, by 3 frames · 4 px · s = 3.2 columns per sample
  for (let k = 1; k < 8; k++) t.true(Math.abs(columns[k]! - columns[k - 1]! - 3.2) < 0.5, `step ${k}: ${columns[k - 1]} → ${columns[k]}`)
  // mean brightness of each frame = the mean of the source over the crop window, within codec error
  for (const [k, f] of frames.entries()) {
    let source = 0
    for (let y = 0; y < H; y++) for (let x = 19; x < 139; x++) source += squarePixel(f, x, y)
    source /= 255 * H * 120
    const frame = clip.data.subarray(k * 32 * 32 * 3, (k + 1) * 32 * 32 * 3)
    const mean = frame.reduce((a, v) => a + v, 0) / frame.length
    t.true(Math.abs(mean - source) < 0.005, `frame ${f}: mean ${mean}, source ${source}`)
  }
})

/** Three bands along the longer side: red, green, blue (a landscape W x H frame, or its transpose). */
const thirds = (w: number, h: number) => {
  const f = new Uint8Array(w * h * 3)
  const long = Math.max(w, h)
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) f[(y * w + x) * 3 + Math.floor((3 * (w >= h ? x : y)) / long)] = 255
  return f
}

test.serial('aspect: the shorter side is resized to size and the centre crop keeps the middle (landscape and portrait)', async (t) => {
  for (const [w, h] of [[160, 120], [120, 160]] as const) {
    const file = join(dir, `thirds-${w}x${h}.avi`)
    const f = thirds(w, h)
    await encodeAvi(file, [f, f, f], w, h)
    const clip = await loadVideo(file, { T: 2, size: 32, crop: 32 })
    t.deepEqual(clip.shape, [1, 2, 32, 32, 3])
    // along the longer side 160 → 43, crop 5..36: the band edges 160/3 and 320/3 land at 9.2 and 23.4
    // (a squashed, uncropped 32x32 would put them at 10.7 and 21.3; a left/top crop at 14.2 and 28.4)
    const band = (i: number) => (i <= 8 ? 0 : i >= 10 && i <= 22 ? 1 : i >= 24 ? 2 : -1)
    for (let i = 0; i < 32; i++) {
      const c = band(i)
      if (c < 0) continue
      // the mean colour of line i across the longer side (a column of a landscape clip, a row of a portrait one)
      const mean = [0, 0, 0]
      for (let j = 0; j < 32; j++) {
        const [y, x] = w >= h ? [j, i] : [i, j]
        for (let ch = 0; ch < 3; ch++) mean[ch]! += clip.data[(y * 32 + x) * 3 + ch]! / 32
      }
      const ok = mean.every((v, ch) => (ch === c ? v > 0.75 : v < 0.25))
      t.true(ok, `${w}x${h} line ${i}: [${mean.map((v) => v.toFixed(2))}], expected band ${c}`)
    }
  }
})

test.serial('a video shorter than T repeats frames', async (t) => {
  const file = join(dir, 'short.avi')
  await encodeAvi(file, movingSquare(3), W, H)
  const clip = await loadVideo(file, { T: 8, size: 32, crop: 32 })
  t.deepEqual(clip.shape, [1, 8, 32, 32, 3])
  const frame = 32 * 32 * 3
  const at = (k: number) => clip.data.subarray(k * frame, (k + 1) * frame)
  t.deepEqual(sampleIndices(3, 8), [0, 0, 0, 1, 1, 2, 2, 2])
  for (const [a, b] of [[0, 1], [1, 2], [3, 4], [5, 6], [6, 7]]) t.deepEqual(at(a!), at(b!), `${a} = ${b}`)
  t.notDeepEqual(at(2), at(3))
  t.notDeepEqual(at(4), at(5))
  // and they are the video's frames 0, 1, 2 in order: the square moves right by 4·32/120 columns each
  const [c0, c1, c2] = [0, 3, 5].map((k) => brightColumn(clip.data, k, 32))
  t.true(Math.abs(c1! - c0! - 16 / 15) < 0.3 && Math.abs(c2! - c1! - 16 / 15) < 0.3, `columns ${c0}, ${c1}, ${c2}`)
})

test.serial('lossless writing: FFV1 video and PNG frames give back the 8-bit clip exactly', async (t) => {
  // odd sizes, a second clip in the batch, values at and beyond the ends of [0, 1]
  const [T, S] = [5, 23]
  const one = T * S * S * 3
  const data = Float32Array.from({ length: 2 * one }, (_, i) => ((i * 7919) % 1013) / 1012)
  data.set([0, 1, -0.5, 1.5, 0.6 / 255, 254.4 / 255], one)
  const clip = { shape: [2, T, S, S, 3] as Shape, data }
  const eight = Float32Array.from(data.subarray(one), (v) => Math.round(255 * Math.min(1, Math.max(0, v))) / 255)
  t.deepEqual(Array.from(eight.subarray(0, 6), (v) => Math.round(v * 255)), [0, 255, 0, 255, 1, 254])

  const out = join(dir, 'out') // does not exist yet
  const file = join(out, 'adv.mkv')
  await writeVideoLossless(clip, file, { fps: 30, index: 1 })
  await writeVideoLossless(clip, file, { fps: 30, index: 1 }) // over an existing file
  t.deepEqual(await readdir(out), ['adv.mkv']) // no temporary file left behind
  const back = await loadVideo(file, { T, size: S, crop: S })
  t.deepEqual(back.shape, [1, T, S, S, 3])
  t.deepEqual(back.data, eight)
  // batch index 0 by default, and a T that samples frames of it
  await writeVideoLossless(clip, file)
  const first = await loadVideo(file, { T: 2, size: S, crop: S })
  const frame = S * S * 3
  const expected0 = (k: number) => Float32Array.from(data.subarray(k * frame, (k + 1) * frame), (v) => Math.round(255 * v) / 255)
  t.deepEqual(first.data, Float32Array.from([...expected0(1), ...expected0(3)])) // sampleIndices(5, 2) = [1, 3]

  const frames = join(dir, 'frames', 'nested')
  const paths = await writeFramesPng(clip, frames, 1)
  t.deepEqual(paths, [1, 2, 3, 4, 5].map((k) => join(frames, `frame_000${k}.png`)))
  t.deepEqual((await readdir(frames)).sort(), [1, 2, 3, 4, 5].map((k) => `frame_000${k}.png`))
  for (const [k, p] of paths.entries()) {
    const png = PNG.sync.read(await readFile(p))
    t.deepEqual([png.width, png.height], [S, S])
    const rgb = Array.from({ length: S * S * 3 }, (_, i) => png.data[Math.floor(i / 3) * 4 + (i % 3)]! / 255)
    t.deepEqual(Float32Array.from(rgb), eight.subarray(k * frame, (k + 1) * frame), `frame ${k}`)
  }
  // the frame-folder loader reads them back as the same clip
  const before = tf.memory().numTensors
  const folder = await loadFrameFolder(frames, { T, size: S, crop: S })
  t.is(tf.memory().numTensors, before)
  t.deepEqual(folder.data, eight)
})

test.serial('the same frames as a lossless video and as a PNG folder load alike (same resize and crop geometry)', async (t) => {
  // smooth frames (a gradient in x and y), 160x120, 4 frames; written as FFV1 and as PNG frames
  const [T, w, h] = [4, 160, 120]
  const data = Float32Array.from({ length: T * h * w * 3 }, (_, i) => {
    const [c, x, y, f] = [i % 3, Math.floor(i / 3) % w, Math.floor(i / (3 * w)) % h, Math.floor(i / (3 * w * h))]
    return (10 + 1.2 * x + 0.1 * (c + 1) * y + 5 * f) / 255
  })
  const clip = { shape: [1, T, h, w, 3] as Shape, data }
  const file = join(dir, 'smooth.mkv')
  await writeVideoLossless(clip, file)
  const frames = join(dir, 'smooth-frames')
  await writeFramesPng(clip, frames)
  const before = tf.memory().numTensors
  // no resize (size = the shorter side): the same centre crop, exactly
  t.deepEqual((await loadVideo(file, { T, size: 120, crop: 100 })).data, (await loadFrameFolder(frames, { T, size: 120, crop: 100 })).data)
  // 160x120 → 149x112, crop offset 18: ffmpeg's bilinear scaler and tf.image.resizeBilinear agree within
  // a level on smooth frames (a crop one pixel off would differ by ~1.1 levels everywhere)
  const [a, b] = [await loadVideo(file, { T, size: 112, crop: 112 }), await loadFrameFolder(frames, { T, size: 112, crop: 112 })]
  t.is(tf.memory().numTensors, before)
  let [max, sum] = [0, 0]
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!)
    max = Math.max(max, d)
    sum += d
  }
  t.true(max <= 1.5 / 255 && sum / a.data.length < 0.5 / 255, `max ${max * 255}/255, mean ${(sum / a.data.length) * 255}/255`)
})

/** A valid WAV file: 0.1 s of 8 kHz 8-bit mono silence (audio, no video stream). */
const wav = () => {
  const n = 800
  const b = Buffer.alloc(44 + n, 128)
  b.write('RIFF', 0)
  b.writeUInt32LE(36 + n, 4)
  b.write('WAVEfmt ', 8)
  b.writeUInt32LE(16, 16)
  b.writeUInt16LE(1, 20) // PCM
  b.writeUInt16LE(1, 22) // mono
  b.writeUInt32LE(8000, 24)
  b.writeUInt32LE(8000, 28)
  b.writeUInt16LE(1, 32)
  b.writeUInt16LE(8, 34)
  b.write('data', 36)
  b.writeUInt32LE(n, 40)
  return b
}

test.serial('a video whose frames claim more pixels than a frame may have is refused before they are decoded, naming the file', async (t) => {
  // a YUV4MPEG2 header claiming 16000x16000 frames (384 MB each), and 9 bytes of data
  const bomb = join(dir, 'bomb.y4m')
  await writeFile(bomb, 'YUV4MPEG2 W16000 H16000 F25:1 Ip A1:1 C420jpeg\nFRAME\nabcdefghi')
  const started = performance.now()
  await t.throwsAsync(loadVideo(bomb, { T: 2, size: 16, crop: 16 }), {
    message: `${bomb}: its frames are 16000x16000 pixels, more than a frame may have (at most ${FRAME_LIMITS.pixels} pixels); refused before decoding`,
  })
  t.true(performance.now() - started < 5000)
})

test.serial('clear errors: missing file, not a video, no video stream, no frames, bad options', async (t) => {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const missing = join(dir, 'nope.avi')
  await t.throwsAsync(loadVideo(missing), { message: `${missing}: no such file` })
  await mkdir(join(dir, 'folder.avi'), { recursive: true })
  await t.throwsAsync(loadVideo(join(dir, 'folder.avi')), { message: `${join(dir, 'folder.avi')}: not a file` })
  const text = join(dir, 'text.avi')
  await writeFile(text, 'this is not a video\n')
  await t.throwsAsync(loadVideo(text, { T: 2, size: 16, crop: 16 }), {
    message: new RegExp(`^${esc(text)}: cannot decode as a video \\(ffmpeg: .*Invalid data found when processing input\\)$`),
  })
  const audio = join(dir, 'silence.wav')
  await writeFile(audio, wav())
  await t.throwsAsync(loadVideo(audio, { T: 2, size: 16, crop: 16 }), { message: `${audio}: no video stream` })
  // an AVI cut right after its header: a video stream, but no frames
  const full = join(dir, 'full.avi')
  await encodeAvi(full, movingSquare(2), W, H)
  const bytes = await readFile(full)
  const empty = join(dir, 'empty.avi')
  await writeFile(empty, bytes.subarray(0, bytes.indexOf('movi') + 4))
  await t.throwsAsync(loadVideo(empty, { T: 2, size: 16, crop: 16 }), { message: new RegExp(`^${esc(empty)}: no video frames could be decoded`) })

  const where = `loadVideo(${text})`
  for (const [o, message] of [
    [{ T: 0 }, 'T must be an integer ≥ 1, got 0'],
    [{ T: 2.5 }, 'T must be an integer ≥ 1, got 2.5'],
    [{ size: 0, crop: 0 }, 'size must be an integer ≥ 1, got 0'],
    [{ size: 31.5 }, 'size must be an integer ≥ 1, got 31.5'],
    [{ size: 32, crop: 40 }, 'crop must be an integer in [1, size=32], got 40'],
    [{ size: 32, crop: Number.NaN }, 'crop must be an integer in [1, size=32], got NaN'],
    [{ T: 100_000, size: 2000, crop: 2000 }, 'a [1, 100000, 2000, 2000, 3] float32 clip is more than 2147483648 bytes; use a smaller T or crop'],
  ] as const)
    await t.throwsAsync(loadVideo(text, o), { message: `${where}: ${message}` })
})

test.serial('clear errors when writing: wrong extension, bad fps, a clip that does not match its shape', async (t) => {
  const clip = { shape: [1, 1, 2, 2, 3] as Shape, data: new Float32Array(12) }
  const mp4 = join(dir, 'x.mp4')
  await t.throwsAsync(writeVideoLossless(clip, mp4), { message: `${mp4}: lossless video is written as FFV1 in Matroska, so the file must end in .mkv` })
  const mkv = join(dir, 'x.mkv')
  for (const fps of [0, -1, Number.NaN, 5000])
    await t.throwsAsync(writeVideoLossless(clip, mkv, { fps }), { message: `writeVideoLossless(${mkv}): fps must be a number in (0, 1000], got ${fps}` })
  const short = { shape: [1, 2, 2, 2, 3] as Shape, data: new Float32Array(12) }
  await t.throwsAsync(writeVideoLossless(short, mkv), { message: `writeVideoLossless(${mkv}): the clip's data has 12 values, its shape [1, 2, 2, 2, 3] needs 24` })
  await t.throwsAsync(writeVideoLossless(clip, mkv, { index: 1 }), { message: `writeVideoLossless(${mkv}): clip index 1 out of range [0, 1)` })
  const grey = { shape: [1, 1, 2, 2, 1] as Shape, data: new Float32Array(4) }
  await t.throwsAsync(writeFramesPng(grey, join(dir, 'grey')), { message: `writeFramesPng(${join(dir, 'grey')}): expected RGB clips (3 channels), got 1` })
  t.deepEqual((await readdir(dir)).filter((n) => n.startsWith('x.') || n.includes('.tmp')), [])
})

test.serial('findFfmpeg: MULTAV_FFMPEG is used when it runs, and a broken one is an error, not a silent fallback', async (t) => {
  const saved = process.env['MULTAV_FFMPEG']
  try {
    resetFfmpegCache()
    delete process.env['MULTAV_FFMPEG']
    const found = await findFfmpeg()
    t.is(await findFfmpeg(), found) // cached
    process.env['MULTAV_FFMPEG'] = found
    resetFfmpegCache()
    t.is(await findFfmpeg(), found)

    const bogus = join(dir, 'no-ffmpeg-here')
    process.env['MULTAV_FFMPEG'] = bogus
    t.is(await findFfmpeg(), found) // still cached until reset
    resetFfmpegCache()
    const message = `MULTAV_FFMPEG=${bogus} does not run (\`${bogus} -version\` failed: ENOENT); point it at an ffmpeg binary or unset it`
    await t.throwsAsync(findFfmpeg(), { message })
    await t.throwsAsync(findFfmpeg(), { message }) // a failure is not cached as an answer, and stays an error
    const any = join(dir, 'any.avi') // ffmpeg is looked for after the file is found, before it is read
    await writeFile(any, '')
    await t.throwsAsync(loadVideo(any, { T: 2, size: 16, crop: 16 }), { message })
    const clip = { shape: [1, 1, 2, 2, 3] as Shape, data: new Float32Array(12) }
    await t.throwsAsync(writeVideoLossless(clip, join(dir, 'never.mkv')), { message })
    // a file that exists but is not a program
    process.env['MULTAV_FFMPEG'] = join(dir, 'placeholder')
    await writeFile(join(dir, 'placeholder'), '')
    resetFfmpegCache()
    await t.throwsAsync(findFfmpeg(), { message: new RegExp(`^MULTAV_FFMPEG=${join(dir, 'placeholder')} does not run .*failed: EACCES`) })
  } finally {
    if (saved === undefined) delete process.env['MULTAV_FFMPEG']
    else process.env['MULTAV_FFMPEG'] = saved
    resetFfmpegCache()
  }
})
