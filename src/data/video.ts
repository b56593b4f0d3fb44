/**
 * Video files through ffmpeg (`MULTAV_FFMPEG`, the system's, or the static build in the npm package
 * `@ffmpeg-installer/ffmpeg`, an optional peer dependency that multav does not install), with the
 * paper's preprocessing: every frame decoded with the shorter side resized to `size` (ffmpeg's
 * bilinear scaler) and a centre crop of `crop`x`crop`, then T frames sampled uniformly. And lossless
 * writing: PNG frames, or FFV1 in Matroska.
 *
 * ffmpeg runs as a child process with an argument list (never a shell); file names are passed with
 * the `file:` protocol so that names such as `concat:…` or `-x.avi` are only ever read as files.
 *
 * @since 0.1.0
 */
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { basename, dirname, extname, join } from 'node:path'
import { PNG } from 'pngjs'
import writeFileAtomic from 'write-file-atomic'
import type { ClipData } from '../core/clip.js'
import { FRAME_LIMITS, sampleIndices, type FrameOptions } from './frames.js'
import { InputError, UnavailableError } from '../core/errors.js'

/** Decoded bytes above this are refused (a smaller size or a shorter video is needed). */
const MAX_DECODED_BYTES = 2 * 1024 ** 3

let ffmpegPath: Promise<string> | undefined

/** Forgets the ffmpeg found (for tests that change MULTAV_FFMPEG or PATH). */
export const resetFfmpegCache = (): void => {
  ffmpegPath = undefined
}

/** Why `file -version` does not run (null when it does). */
const whyNot = (file: string): Promise<string | null> =>
  new Promise((resolve) =>
    execFile(file, ['-version'], { timeout: 10_000, windowsHide: true }, (error) =>
      resolve(error === null ? null : ((error as NodeJS.ErrnoException).code?.toString() ?? error.message)),
    ),
  )

/** The optional peer package's binary, or undefined when the user has not installed it (or not for this platform). */
const shippedFfmpeg = (): string | undefined => {
  try {
    // import.meta.url is empty in the CommonJS bundle, where __filename exists
    const require = createRequire(typeof import.meta?.url === 'string' ? import.meta.url : __filename)
    const path = (require('@ffmpeg-installer/ffmpeg') as { path?: unknown }).path
    return typeof path === 'string' ? path : undefined
  } catch {
    return undefined
  }
}

/**
 * The ffmpeg to use, checked by running `ffmpeg -version`: `MULTAV_FFMPEG` when set (an error if it
 * does not run, rather than a silent fallback), else `ffmpeg` on PATH, else the optional
 * `@ffmpeg-installer/ffmpeg` package's binary. The answer is cached (`resetFfmpegCache` clears it, for tests).
 */
export const findFfmpeg = (): Promise<string> =>
  (ffmpegPath ??= (async () => {
    const chosen = process.env['MULTAV_FFMPEG']
    if (chosen !== undefined && chosen !== '') {
      const why = await whyNot(chosen)
      if (why === null) return chosen
      throw new UnavailableError(`MULTAV_FFMPEG=${chosen} does not run (\`${chosen} -version\` failed: ${why}); point it at an ffmpeg binary or unset it`)
    }
    if ((await whyNot('ffmpeg')) === null) return 'ffmpeg'
    const shipped = shippedFfmpeg()
    if (shipped !== undefined && (await whyNot(shipped)) === null) return shipped
    throw new UnavailableError(
      'ffmpeg not found: install it (e.g. `apt-get install ffmpeg`, `brew install ffmpeg`), or `npm install @ffmpeg-installer/ffmpeg`, or set MULTAV_FFMPEG to the path of an ffmpeg binary',
    )
  })().catch((e: unknown) => {
    ffmpegPath = undefined
    throw e
  }))

interface Run {
  readonly code: number | null
  /** stdout, as the chunks that arrived. */
  readonly chunks: ReadonlyArray<Buffer>
  readonly bytes: number
  /** The last few kB of stderr. */
  readonly stderr: string
}

/** Runs ffmpeg with `args`, feeding `input` on stdin; rejects only when it cannot start or stdout passes `maxBytes`. */
const ffmpeg = async (args: ReadonlyArray<string>, o: { readonly input?: Uint8Array; readonly maxBytes?: number; readonly what: string }): Promise<Run> => {
  const bin = await findFfmpeg()
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], {
      stdio: [o.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      windowsHide: true,
    })
    const chunks: Buffer[] = []
    let bytes = 0
    let stderr = ''
    let tooBig = false
    child.stdout!.on('data', (b: Buffer) => {
      if (tooBig) return
      bytes += b.length
      if (o.maxBytes !== undefined && bytes > o.maxBytes) {
        tooBig = true
        chunks.length = 0
        child.kill('SIGKILL')
        return
      }
      chunks.push(b)
    })
    child.stderr!.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-8000)
    })
    child.on('error', (e) => reject(new UnavailableError(`${o.what}: cannot run ffmpeg (${e.message})`)))
    child.on('close', (code) => {
      if (tooBig)
        return reject(new InputError(`${o.what}: more than ${o.maxBytes} bytes of decoded frames; use a smaller size/crop or a shorter video`))
      resolve({ code, chunks, bytes, stderr })
    })
    if (o.input) {
      child.stdin!.on('error', () => undefined) // ffmpeg may exit before reading everything; its stderr says why
      child.stdin!.end(o.input)
    }
  })
}

/** Lines ffmpeg ends with that say nothing about the cause. */
const GENERIC = /^(Conversion failed!|Error marking filters as finished|To ignore this, add a trailing '\?' to the map\.|Last message repeated .*)$/

/** The last informative line of ffmpeg's stderr. */
const lastLine = (run: Run): string =>
  run.stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !GENERIC.test(l))
    .pop() ?? `ffmpeg exited with code ${run.code}`

const checkOptions = (where: string, T: number, size: number, crop: number) => {
  if (!(Number.isInteger(T) && T >= 1)) throw new InputError(`${where}: T must be an integer ≥ 1, got ${T}`)
  if (!(Number.isInteger(size) && size >= 1)) throw new InputError(`${where}: size must be an integer ≥ 1, got ${size}`)
  if (!(Number.isInteger(crop) && crop >= 1 && crop <= size)) throw new InputError(`${where}: crop must be an integer in [1, size=${size}], got ${crop}`)
  if (T * crop * crop * 3 * 4 > MAX_DECODED_BYTES)
    throw new InputError(`${where}: a [1, ${T}, ${crop}, ${crop}, 3] float32 clip is more than ${MAX_DECODED_BYTES} bytes; use a smaller T or crop`)
}

/** Copies `length` bytes at `offset` of the concatenation of `chunks` into `out` as values / 255. */
const gather = (chunks: ReadonlyArray<Buffer>, offset: number, length: number, out: Float32Array, at: number) => {
  let base = 0
  for (const chunk of chunks) {
    const end = base + chunk.length
    if (end > offset) {
      const from = Math.max(0, offset - base)
      const to = Math.min(chunk.length, offset + length - base)
      for (let i = from; i < to; i++) out[at + base + i - offset] = chunk[i]! / 255
      if (base + to >= offset + length) return
    }
    base = end
  }
}

/**
 * Loads one clip `[1, T, crop, crop, 3]` in [0, 1] from a video file (its first video stream): all
 * frames decoded by ffmpeg with the shorter side resized to `size` (bilinear; the longer side keeps
 * the aspect ratio, rounded) and a centre crop, then T of them sampled uniformly with
 * `sampleIndices` (frames repeat when the video is shorter than T).
 */
export const loadVideo = async (file: string, o: FrameOptions = {}): Promise<ClipData> => {
  const [T, size, crop] = [o.T ?? 16, o.size ?? 112, o.crop ?? 112]
  checkOptions(`loadVideo(${file})`, T, size, crop)
  const info = await stat(file).catch((e: NodeJS.ErrnoException) => {
    throw new InputError(e.code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${e.code ?? e.message})`)
  })
  if (!info.isFile()) throw new InputError(`${file}: not a file`)
  // as loadFrameFolder: the longer side round(side·size/shorter), the crop's offsets floor((side − crop)/2)
  // (ffmpeg's default crop offset rounds half to even)
  const filter =
    `scale='if(lte(iw,ih),${size},-1)':'if(lte(iw,ih),-1,${size})':flags=bilinear,` +
    `crop=${crop}:${crop}:'floor((iw-${crop})/2)':'floor((ih-${crop})/2)'`
  // -max_pixels: the decoder refuses frames above the frame limit before allocating them (a small
  // file can claim, and encode cheaply, huge frames)
  const run = await ffmpeg(['-max_pixels', String(FRAME_LIMITS.pixels), '-i', `file:${file}`, '-map', '0:v:0', '-vf', filter, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    maxBytes: MAX_DECODED_BYTES,
    what: file,
  })
  const frameBytes = crop * crop * 3
  const n = Math.floor(run.bytes / frameBytes)
  if (run.code !== 0 || n === 0) {
    if (/matches no streams|does not contain any stream/.test(run.stderr)) throw new InputError(`${file}: no video stream`)
    const huge = /Picture size (\d+x\d+) (is invalid|exceeds)/.exec(run.stderr)
    if (huge)
      throw new InputError(`${file}: its frames are ${huge[1]} pixels, more than a frame may have (at most ${FRAME_LIMITS.pixels} pixels); refused before decoding`)
    if (run.code === 0 || (run.bytes === 0 && /after EOF|Output file is empty|nothing was encoded/.test(run.stderr)))
      throw new InputError(`${file}: no video frames could be decoded${run.code === 0 ? '' : ` (ffmpeg: ${lastLine(run)})`}`)
    throw new InputError(`${file}: cannot decode as a video (ffmpeg: ${lastLine(run)})`)
  }
  const data = new Float32Array(T * frameBytes)
  sampleIndices(n, T).forEach((f, t) => gather(run.chunks, f * frameBytes, frameBytes, data, t * frameBytes))
  return { shape: [1, T, crop, crop, 3], data }
}

/** The 8-bit RGB bytes of clip `index`'s frames, `[T, H, W, 3]` (values clamped to [0, 1], then round(255·x)). */
const bytesOf = (where: string, clip: ClipData, index: number): { bytes: Uint8Array; T: number; H: number; W: number } => {
  const [N, T, H, W, C] = clip.shape
  if (C !== 3) throw new InputError(`${where}: expected RGB clips (3 channels), got ${C}`)
  if (clip.data.length !== N * T * H * W * C)
    throw new InputError(`${where}: the clip's data has ${clip.data.length} values, its shape [${clip.shape.join(', ')}] needs ${N * T * H * W * C}`)
  if (!(Number.isInteger(index) && index >= 0 && index < N)) throw new InputError(`${where}: clip index ${index} out of range [0, ${N})`)
  if (T < 1 || H < 1 || W < 1) throw new InputError(`${where}: empty clip [${clip.shape.join(', ')}]`)
  const size = T * H * W * 3
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) {
    const v = clip.data[index * size + i]!
    if (Number.isNaN(v)) throw new InputError(`${where}: NaN in the clip`)
    bytes[i] = Math.round(255 * Math.min(1, Math.max(0, v)))
  }
  return { bytes, T, H, W }
}

/**
 * Writes clip `index`'s frames as `frame_0001.png`, … in `dir` (created if needed): lossless 8-bit RGB,
 * round(255·x) of the values clamped to [0, 1], each file written atomically. Returns the paths.
 */
export const writeFramesPng = async (clip: ClipData, dir: string, index = 0): Promise<string[]> => {
  const { bytes, T, H, W } = bytesOf(`writeFramesPng(${dir})`, clip, index)
  await mkdir(dir, { recursive: true })
  const paths: string[] = []
  for (let t = 0; t < T; t++) {
    const png = new PNG({ width: W, height: H })
    for (let p = 0; p < H * W; p++) {
      png.data.set(bytes.subarray((t * H * W + p) * 3, (t * H * W + p) * 3 + 3), p * 4)
      png.data[p * 4 + 3] = 255
    }
    const file = join(dir, `frame_${String(t + 1).padStart(4, '0')}.png`)
    await writeFileAtomic(file, PNG.sync.write(png, { colorType: 2 }))
    paths.push(file)
  }
  return paths
}

/**
 * Encodes clip `index`'s frames losslessly as FFV1 (RGB, `bgr0`) in Matroska, at `fps` frames per
 * second (default 25, at most 1000: Matroska's millisecond timestamps), written to a temporary file
 * beside `file` and renamed over it. Decoding it gives back round(255·x)/255 exactly.
 */
export const writeVideoLossless = async (
  clip: ClipData,
  file: string,
  o: { readonly fps?: number; readonly index?: number } = {},
): Promise<void> => {
  const where = `writeVideoLossless(${file})`
  if (extname(file).toLowerCase() !== '.mkv') throw new InputError(`${file}: lossless video is written as FFV1 in Matroska, so the file must end in .mkv`)
  const fps = o.fps ?? 25
  if (!(Number.isFinite(fps) && fps > 0 && fps <= 1000)) throw new InputError(`${where}: fps must be a number in (0, 1000], got ${fps}`)
  const { bytes, H, W } = bytesOf(where, clip, o.index ?? 0)
  await mkdir(dirname(file), { recursive: true })
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp.mkv`)
  try {
    const run = await ffmpeg(
      ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(fps), '-i', 'pipe:0',
        '-c:v', 'ffv1', '-level', '3', '-pix_fmt', 'bgr0', '-f', 'matroska', '-y', `file:${temp}`],
      { input: bytes, what: file },
    )
    if (run.code !== 0) throw new UnavailableError(`${file}: ffmpeg could not encode the clip (ffmpeg: ${lastLine(run)})`)
    await rename(temp, file)
  } finally {
    await rm(temp, { force: true })
  }
}
