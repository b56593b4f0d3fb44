/**
 * Video files through ffmpeg (the system's, `MULTAV_FFMPEG`, or the static build in the optional npm
 * package `@ffmpeg-installer/ffmpeg`), with the paper's preprocessing: every frame decoded with the
 * shorter side resized to `size` (bilinear) and a centre crop of `crop`x`crop`, then T frames sampled
 * uniformly. And lossless writing: PNG frames, or FFV1 in Matroska.
 *
 * @since 0.1.0
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, extname, join } from 'node:path'
import { PNG } from 'pngjs'
import writeFileAtomic from 'write-file-atomic'
import type { ClipData } from '../interpreters/reference.js'
import { sampleIndices, type FrameOptions } from './frames.js'

/** Decoded bytes above this are refused (a smaller size or a shorter video is needed). */
const MAX_DECODED_BYTES = 2 * 1024 ** 3

let ffmpegPath: Promise<string> | undefined

/** Forgets the ffmpeg found (for tests that change MULTAV_FFMPEG or PATH). */
export const resetFfmpegCache = (): void => {
  ffmpegPath = undefined
}

const runs = (file: string): Promise<boolean> =>
  new Promise((resolve) => execFile(file, ['-version'], { timeout: 10_000 }, (error) => resolve(error === null)))

/**
 * The ffmpeg to use: `MULTAV_FFMPEG` when set (an error if it does not run), else `ffmpeg` on PATH,
 * else the optional `@ffmpeg-installer/ffmpeg` package's binary.
 */
export const findFfmpeg = (): Promise<string> =>
  (ffmpegPath ??= (async () => {
    const chosen = process.env['MULTAV_FFMPEG']
    if (chosen !== undefined && chosen !== '') {
      if (await runs(chosen)) return chosen
      throw new Error(`MULTAV_FFMPEG=${chosen} does not run (\`${chosen} -version\` failed); point it at an ffmpeg binary or unset it`)
    }
    if (await runs('ffmpeg')) return 'ffmpeg'
    try {
      const shipped = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path
      if (await runs(shipped)) return shipped
    } catch {
      // the optional package is not installed
    }
    throw new Error(
      'ffmpeg not found: install it (e.g. `apt-get install ffmpeg`), or `npm install @ffmpeg-installer/ffmpeg`, or set MULTAV_FFMPEG to its path',
    )
  })().catch((e: unknown) => {
    ffmpegPath = undefined
    throw e
  }))

/** Runs ffmpeg with `args`, feeding `input` on stdin; resolves with stdout, rejects with stderr's last line. */
const ffmpeg = async (args: ReadonlyArray<string>, o: { readonly input?: Uint8Array; readonly maxBytes?: number; readonly what: string }): Promise<Buffer> => {
  const bin = await findFfmpeg()
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], { stdio: [o.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
    const chunks: Buffer[] = []
    let bytes = 0
    let stderr = ''
    let tooBig = false
    child.stdout!.on('data', (b: Buffer) => {
      bytes += b.length
      if (o.maxBytes !== undefined && bytes > o.maxBytes) {
        tooBig = true
        child.kill('SIGKILL')
        return
      }
      chunks.push(b)
    })
    child.stderr!.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000)
    })
    child.on('error', (e) => reject(new Error(`${o.what}: cannot run ffmpeg (${e.message})`)))
    child.on('close', (code) => {
      if (tooBig) return reject(new Error(`${o.what}: more than ${o.maxBytes} bytes of decoded frames; use a smaller size or a shorter video`))
      if (code !== 0) {
        const last = stderr.trim().split('\n').filter((l) => l.trim() !== '').pop() ?? `exit code ${code}`
        return reject(new Error(`${o.what}: ffmpeg failed: ${last}`))
      }
      resolve(Buffer.concat(chunks))
    })
    if (o.input) {
      child.stdin!.on('error', () => undefined) // ffmpeg may exit before reading everything; its stderr says why
      child.stdin!.end(o.input)
    }
  })
}

const checkOptions = (where: string, T: number, size: number, crop: number) => {
  if (!(Number.isInteger(T) && T >= 1)) throw new Error(`${where}: T must be an integer ≥ 1, got ${T}`)
  if (!(Number.isInteger(size) && size >= 1)) throw new Error(`${where}: size must be an integer ≥ 1, got ${size}`)
  if (!(Number.isInteger(crop) && crop >= 1 && crop <= size)) throw new Error(`${where}: crop must be an integer in [1, size=${size}], got ${crop}`)
}

/**
 * Loads one clip `[1, T, crop, crop, 3]` in [0, 1] from a video file: all frames decoded (shorter side
 * resized to `size`, bilinear; centre crop), then T of them sampled uniformly (frames repeat when the
 * video is shorter than T).
 */
export const loadVideo = async (file: string, o: FrameOptions = {}): Promise<ClipData> => {
  const [T, size, crop] = [o.T ?? 16, o.size ?? 112, o.crop ?? 112]
  checkOptions(`loadVideo(${file})`, T, size, crop)
  if (!existsSync(file)) throw new Error(`${file}: no such file`)
  if (!statSync(file).isFile()) throw new Error(`${file}: not a file`)
  // the shorter side becomes `size` (the other keeps the aspect ratio, rounded to even), then a centre crop
  const filter = `scale='if(lte(iw,ih),${size},-2)':'if(lte(iw,ih),-2,${size})':flags=bilinear,crop=${crop}:${crop}`
  const raw = await ffmpeg(['-i', file, '-vf', filter, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBytes: MAX_DECODED_BYTES, what: file })
  const frameBytes = crop * crop * 3
  const n = Math.floor(raw.length / frameBytes)
  if (n === 0) throw new Error(`${file}: no video frames could be decoded`)
  const data = new Float32Array(T * frameBytes)
  sampleIndices(n, T).forEach((f, t) => {
    for (let i = 0; i < frameBytes; i++) data[t * frameBytes + i] = raw[f * frameBytes + i]! / 255
  })
  return { shape: [1, T, crop, crop, 3], data }
}

/** The 8-bit RGB bytes of clip `index`'s frames, `[T, H, W, 3]`. */
const bytesOf = (clip: ClipData, index: number): { bytes: Uint8Array; T: number; H: number; W: number } => {
  const [N, T, H, W, C] = clip.shape
  if (C !== 3) throw new Error(`expected RGB clips (3 channels), got ${C}`)
  if (!(Number.isInteger(index) && index >= 0 && index < N)) throw new Error(`clip index ${index} out of range [0, ${N})`)
  const size = T * H * W * 3
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = Math.round(255 * Math.min(1, Math.max(0, clip.data[index * size + i]!)))
  return { bytes, T, H, W }
}

/** Writes clip `index`'s frames as `frame_0001.png`, … in `dir` (lossless 8-bit, each atomically); returns the paths. */
export const writeFramesPng = async (clip: ClipData, dir: string, index = 0): Promise<string[]> => {
  const { bytes, T, H, W } = bytesOf(clip, index)
  await mkdir(dir, { recursive: true })
  const paths: string[] = []
  for (let t = 0; t < T; t++) {
    const png = new PNG({ width: W, height: H })
    for (let p = 0; p < H * W; p++) {
      png.data.set(bytes.subarray((t * H * W + p) * 3, (t * H * W + p) * 3 + 3), p * 4)
      png.data[p * 4 + 3] = 255
    }
    const file = join(dir, `frame_${String(t + 1).padStart(4, '0')}.png`)
    await writeFileAtomic(file, PNG.sync.write(png))
    paths.push(file)
  }
  return paths
}

/**
 * Encodes clip `index` losslessly as FFV1 in Matroska (.mkv), written to a temporary file beside
 * `file` and renamed over it. Decoding it gives back round(255·x)/255 exactly.
 */
export const writeVideoLossless = async (clip: ClipData, file: string, o: { readonly fps?: number; readonly index?: number } = {}): Promise<void> => {
  if (extname(file).toLowerCase() !== '.mkv') throw new Error(`${file}: lossless video is written as FFV1 in Matroska, so the file must end in .mkv`)
  const { bytes, H, W } = bytesOf(clip, o.index ?? 0)
  await mkdir(dirname(file), { recursive: true })
  const temp = join(dirname(file), `.${process.pid}-${Date.now()}.tmp.mkv`)
  try {
    await ffmpeg(
      ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(o.fps ?? 25), '-i', '-', '-c:v', 'ffv1', '-level', '3', '-pix_fmt', 'bgr0', '-y', temp],
      { input: bytes, what: file },
    )
    await rename(temp, file)
  } finally {
    await rm(temp, { force: true })
  }
}
