/**
 * Clips from folders of frames (PNG or JPEG) and the UCF-101 layout, with the paper's preprocessing:
 * T frames sampled uniformly over the video, the shorter side resized to `size` (bilinear), a centre
 * crop of `crop`x`crop`, values in [0, 1].
 *
 * UCF-101 layout: `root/ucfTrainTestlist/{classInd.txt, trainlist0k.txt, testlist0k.txt}` as shipped,
 * and the frames of each video in `root/frames/<Class>/<video name without .avi>/` (what the usual
 * frame-extraction scripts write).
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import { constants } from 'node:fs'
import { open, readdir, readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { inflateSync } from 'node:zlib'
import type { ClipData } from '../core/clip.js'
import { InputError } from '../core/errors.js'

export interface FrameOptions {
  /** Frames to sample uniformly over the video (default 16). */
  readonly T?: number
  /** Shorter side after resizing (default 112). */
  readonly size?: number
  /** Centre crop (default 112; at most `size`). */
  readonly crop?: number
}

const IMAGE = new Set(['.png', '.jpg', '.jpeg'])

/**
 * Frames are refused above these, before decoding: a side of more pixels, more pixels in all (a
 * decompression bomb is a small file whose header claims a huge image), or a file of more bytes.
 */
export const FRAME_LIMITS = { side: 16_384, pixels: 64 * 1024 * 1024, fileBytes: 512 * 1024 * 1024 } as const

/** Uniform sampling of `T` indices over `n` frames (repeating frames when n < T). */
export const sampleIndices = (n: number, T: number): number[] =>
  Array.from({ length: T }, (_, i) => Math.min(n - 1, Math.floor(((i + 0.5) * n) / T)))

/** Loads one clip `[1, T, crop, crop, 3]` from a folder of frames, sorted by name (numbers in order). */
export const loadFrameFolder = async (dir: string, o: FrameOptions = {}): Promise<ClipData> => {
  const [T, size, crop] = [o.T ?? 16, o.size ?? 112, o.crop ?? 112]
  if (!(Number.isInteger(T) && T >= 1)) throw new InputError(`loadFrameFolder: T must be an integer ≥ 1, got ${T}`)
  if (!(Number.isInteger(crop) && crop >= 1 && crop <= size)) throw new InputError(`loadFrameFolder: crop must be an integer in [1, size=${size}], got ${crop}`)
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    throw new InputError(`${dir}: cannot read the frame folder (${e.code ?? e.message})`)
  })
  const frames = names
    .filter((n) => IMAGE.has(extname(n).toLowerCase()))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
  if (frames.length === 0) throw new InputError(`${dir}: no PNG or JPEG frames`)
  const data = new Float32Array(T * crop * crop * 3)
  let first: { readonly file: string; readonly width: number; readonly height: number } | undefined
  for (const [t, index] of sampleIndices(frames.length, T).entries()) {
    const file = join(dir, frames[index]!)
    const image = await decode(file)
    first ??= { file, width: image.width, height: image.height }
    // resized and cropped alike, frames of another size would silently show another part of the scene
    if (image.width !== first.width || image.height !== first.height)
      throw new InputError(`${file}: ${image.width}x${image.height} pixels, but ${first.file} is ${first.width}x${first.height}; the frames of one clip must have one size`)
    data.set(preprocess(image, size, crop, file), t * crop * crop * 3)
  }
  return { shape: [1, T, crop, crop, 3], data }
}

interface Rgba {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
}

/** A regular file's bytes, at most `FRAME_LIMITS.fileBytes` of them (a FIFO or a device would block or never end). */
const readFrame = async (file: string): Promise<Uint8Array> => {
  const cannot = (e: NodeJS.ErrnoException) => new InputError(`${file}: cannot read (${e.code ?? e.message})`)
  // O_NONBLOCK: opening a FIFO does not wait for a writer; the checks then hold for the file opened,
  // not for whatever the path named a moment before
  const handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)).catch((e: NodeJS.ErrnoException) => {
    throw cannot(e)
  })
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw new InputError(`${file}: not a regular file`)
    if (info.size === 0) throw new InputError(`${file}: empty file (0 bytes), expected a PNG or JPEG image`)
    if (info.size > FRAME_LIMITS.fileBytes) throw new InputError(`${file}: ${info.size} bytes is more than the ${FRAME_LIMITS.fileBytes} a frame may have`)
    return await handle.readFile().catch((e: NodeJS.ErrnoException) => {
      throw cannot(e)
    })
  } finally {
    await handle.close()
  }
}

interface Header {
  readonly format: 'PNG' | 'JPEG'
  readonly width: number
  readonly height: number
  /** PNG only: interlaced (Adam7), and the bytes of its decompressed image data at most. */
  readonly interlacedBound?: number
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
/** PNG colour type → samples per pixel. */
const PNG_SAMPLES: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }

/** The format and size from the file's first bytes (PNG's IHDR chunk, JPEG's SOF marker), without decoding it. */
const headerOf = (bytes: Uint8Array, file: string): Header => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    if (bytes.length < 33 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR')
      throw new InputError(`${file}: truncated or corrupt PNG: no IHDR chunk in its first 33 bytes`)
    const [width, height, depth, colour, interlace] = [view.getUint32(16), view.getUint32(20), bytes[24]!, bytes[25]!, bytes[28]!]
    const rowBytes = Math.ceil((width * (PNG_SAMPLES[colour] ?? 4) * depth) / 8) + 1
    // Adam7's seven passes add at most one filter byte per row of each pass
    return { format: 'PNG', width, height, ...(interlace === 1 ? { interlacedBound: rowBytes * height + 7 * (height + 7) } : {}) }
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return { format: 'JPEG', ...jpegSize(bytes, view, file) }
  const start = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')
  throw new InputError(`${file}: not a PNG or JPEG image (it starts with the bytes ${start})`)
}

/** A JPEG's size from its first SOF marker, walking the segments before it (linear in the file). */
const jpegSize = (bytes: Uint8Array, view: DataView, file: string): { width: number; height: number } => {
  let i = 2
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) {
      // stray bytes before a marker (e.g. a segment length off by one, which decoders skip over, as
      // libjpeg does): resynchronise on the next 0xFF
      const next = bytes.indexOf(0xff, i)
      if (next < 0) break
      i = next
      continue
    }
    const marker = bytes[i + 1]!
    if (marker === 0xff) {
      i++ // fill byte
      continue
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2 // markers without a length
      continue
    }
    if (marker === 0xda || marker === 0xd9) break // image data (or its end) before any frame header
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
    if (isFrame) {
      if (i + 9 > bytes.length) break
      return { height: view.getUint16(i + 5), width: view.getUint16(i + 7) }
    }
    i += 2 + view.getUint16(i + 2)
  }
  throw new InputError(`${file}: truncated or corrupt JPEG: no frame header (SOF marker) before the image data`)
}

/** Refuses a size that is empty or above `FRAME_LIMITS`, naming the file. */
const checkSize = (h: Header, file: string): void => {
  if (h.width < 1 || h.height < 1) throw new InputError(`${file}: the ${h.format} header says ${h.width}x${h.height} pixels; expected an image of at least 1x1`)
  if (h.width > FRAME_LIMITS.side || h.height > FRAME_LIMITS.side || h.width * h.height > FRAME_LIMITS.pixels)
    throw new InputError(
      `${file}: the ${h.format} header says ${h.width}x${h.height} pixels, more than a frame may have ` +
        `(at most ${FRAME_LIMITS.side} a side and ${FRAME_LIMITS.pixels} pixels); refused before decoding`,
    )
}

/**
 * An interlaced PNG's image data inflated with a bound: pngjs inflates it without one (its other
 * path stops at the size the header gives), so a small file could expand without limit.
 */
const checkInterlaced = (bytes: Uint8Array, bound: number): void => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const parts: Uint8Array[] = []
  for (let i = 8; i + 8 <= bytes.length; ) {
    const length = view.getUint32(i)
    if (String.fromCharCode(...bytes.subarray(i + 4, i + 8)) === 'IDAT') parts.push(bytes.subarray(i + 8, i + 8 + length))
    i += 12 + length
  }
  inflateSync(Buffer.concat(parts), { maxOutputLength: bound })
}

const decode = async (file: string): Promise<Rgba> => {
  const bytes = await readFrame(file)
  const header = headerOf(bytes, file)
  checkSize(header, file)
  try {
    if (header.format === 'PNG') {
      if (header.interlacedBound !== undefined) checkInterlaced(bytes, header.interlacedBound)
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      return { width: png.width, height: png.height, data: png.data }
    }
    const image = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: FRAME_LIMITS.pixels / 1e6,
      maxMemoryUsageInMB: 2048,
    })
    return { width: image.width, height: image.height, data: image.data }
  } catch (e) {
    throw new InputError(`${file}: cannot decode as ${header.format}; the file is truncated or corrupt (${(e as Error).message})`)
  }
}

/** RGB in [0, 1], shorter side resized to `size` (bilinear, half-pixel centres), centre crop. */
const preprocess = (image: Rgba, size: number, crop: number, file: string): Float32Array => {
  if (image.width < 1 || image.height < 1) throw new InputError(`${file}: empty image`)
  const scale = size / Math.min(image.width, image.height)
  const [h, w] = [Math.max(crop, Math.round(image.height * scale)), Math.max(crop, Math.round(image.width * scale))]
  const pixels = image.width * image.height
  if (image.data.length < pixels * 4) throw new InputError(`${file}: decoded to ${image.data.length} bytes, expected ${pixels * 4} (RGBA)`)
  // RGB values / 255 straight from the RGBA bytes (no int32 copy of the whole image)
  const values = new Float32Array(pixels * 3)
  for (let p = 0; p < pixels; p++)
    for (let c = 0; c < 3; c++) values[p * 3 + c] = image.data[p * 4 + c]! / 255
  return tf.tidy(() => {
    const rgb = tf.tensor3d(values, [image.height, image.width, 3])
    const resized = tf.image.resizeBilinear(rgb, [h, w], false, true)
    const [top, left] = [Math.floor((h - crop) / 2), Math.floor((w - crop) / 2)]
    return tf.clipByValue(tf.slice(resized, [top, left, 0], [crop, crop, 3]), 0, 1).dataSync() as Float32Array
  })
}

// -------------------------------------------------------------------------------------------------
// UCF-101
// -------------------------------------------------------------------------------------------------

export interface VideoEntry {
  /** `<Class>/<video>.avi` as in the split lists. */
  readonly video: string
  /** 0-based class index (classInd.txt numbers from 1). */
  readonly label: number
  /** The folder of its frames. */
  readonly frames: string
}

export interface Ucf101Split {
  readonly classes: ReadonlyArray<string>
  readonly videos: ReadonlyArray<VideoEntry>
}

/** The videos of UCF-101 split `split` (1–3), `subset` train or test, with their labels and frame folders. */
export const ucf101 = async (root: string, o: { readonly split?: 1 | 2 | 3; readonly subset: 'train' | 'test' }): Promise<Ucf101Split> => {
  const lists = join(root, 'ucfTrainTestlist')
  const read = (name: string) =>
    readFile(join(lists, name), 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new InputError(`${join(lists, name)}: cannot read (${e.code ?? e.message})`)
    })
  const lines = (text: string) => text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '')
  const classes: string[] = []
  for (const [k, line] of lines(await read('classInd.txt')).entries()) {
    const m = /^(\d+)\s+(\S+)$/.exec(line)
    if (!m || Number(m[1]) !== k + 1) throw new InputError(`${join(lists, 'classInd.txt')}:${k + 1}: expected "${k + 1} <ClassName>", got "${line}"`)
    classes.push(m[2]!)
  }
  const listName = `${o.subset}list0${o.split ?? 1}.txt`
  const labelOf = new Map(classes.map((c, k) => [c, k]))
  const videos = lines(await read(listName)).map((line, k): VideoEntry => {
    const [video, given] = line.split(/\s+/) as [string, string | undefined]
    const className = video.split('/')[0]!
    const label = labelOf.get(className) ?? -1
    if (label < 0) throw new InputError(`${join(lists, listName)}:${k + 1}: unknown class "${className}"`)
    if (given !== undefined && Number(given) !== label + 1)
      throw new InputError(`${join(lists, listName)}:${k + 1}: label ${given} does not match class ${className} (${label + 1})`)
    return { video, label, frames: join(root, 'frames', video.replace(/\.avi$/i, '')) }
  })
  return { classes, videos }
}
