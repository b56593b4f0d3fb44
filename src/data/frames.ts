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
import { readdir, readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import type { ClipData } from '../interpreters/reference.js'

export interface FrameOptions {
  /** Frames to sample uniformly over the video (default 16). */
  readonly T?: number
  /** Shorter side after resizing (default 112). */
  readonly size?: number
  /** Centre crop (default 112; at most `size`). */
  readonly crop?: number
}

const IMAGE = new Set(['.png', '.jpg', '.jpeg'])

/** Uniform sampling of `T` indices over `n` frames (repeating frames when n < T). */
export const sampleIndices = (n: number, T: number): number[] =>
  Array.from({ length: T }, (_, i) => Math.min(n - 1, Math.floor(((i + 0.5) * n) / T)))

/** Loads one clip `[1, T, crop, crop, 3]` from a folder of frames, sorted by name (numbers in order). */
export const loadFrameFolder = async (dir: string, o: FrameOptions = {}): Promise<ClipData> => {
  const [T, size, crop] = [o.T ?? 16, o.size ?? 112, o.crop ?? 112]
  if (!(Number.isInteger(T) && T >= 1)) throw new Error(`loadFrameFolder: T must be an integer ≥ 1, got ${T}`)
  if (!(Number.isInteger(crop) && crop >= 1 && crop <= size)) throw new Error(`loadFrameFolder: crop must be an integer in [1, size=${size}], got ${crop}`)
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${dir}: cannot read the frame folder (${e.code ?? e.message})`)
  })
  const frames = names
    .filter((n) => IMAGE.has(extname(n).toLowerCase()))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
  if (frames.length === 0) throw new Error(`${dir}: no PNG or JPEG frames`)
  const data = new Float32Array(T * crop * crop * 3)
  for (const [t, index] of sampleIndices(frames.length, T).entries()) {
    const file = join(dir, frames[index]!)
    data.set(preprocess(await decode(file), size, crop, file), t * crop * crop * 3)
  }
  return { shape: [1, T, crop, crop, 3], data }
}

interface Rgba {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
}

const decode = async (file: string): Promise<Rgba> => {
  const bytes = await readFile(file)
  try {
    if (extname(file).toLowerCase() === '.png') {
      const png = PNG.sync.read(bytes)
      return { width: png.width, height: png.height, data: png.data }
    }
    const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true })
    return { width: image.width, height: image.height, data: image.data }
  } catch (e) {
    throw new Error(`${file}: cannot decode (${(e as Error).message})`)
  }
}

/** RGB in [0, 1], shorter side resized to `size` (bilinear, half-pixel centres), centre crop. */
const preprocess = (image: Rgba, size: number, crop: number, file: string): Float32Array => {
  if (image.width < 1 || image.height < 1) throw new Error(`${file}: empty image`)
  const scale = size / Math.min(image.width, image.height)
  const [h, w] = [Math.max(crop, Math.round(image.height * scale)), Math.max(crop, Math.round(image.width * scale))]
  return tf.tidy(() => {
    const rgba = tf.tensor3d(image.data, [image.height, image.width, 4], 'int32')
    const rgb = tf.div(tf.cast(tf.slice(rgba, [0, 0, 0], [-1, -1, 3]), 'float32'), 255) as tf.Tensor3D
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
      throw new Error(`${join(lists, name)}: cannot read (${e.code ?? e.message})`)
    })
  const lines = (text: string) => text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '')
  const classes: string[] = []
  for (const [k, line] of lines(await read('classInd.txt')).entries()) {
    const m = /^(\d+)\s+(\S+)$/.exec(line)
    if (!m || Number(m[1]) !== k + 1) throw new Error(`${join(lists, 'classInd.txt')}:${k + 1}: expected "${k + 1} <ClassName>", got "${line}"`)
    classes.push(m[2]!)
  }
  const listName = `${o.subset}list0${o.split ?? 1}.txt`
  const videos = lines(await read(listName)).map((line, k): VideoEntry => {
    const [video, given] = line.split(/\s+/) as [string, string | undefined]
    const className = video.split('/')[0]!
    const label = classes.indexOf(className)
    if (label < 0) throw new Error(`${join(lists, listName)}:${k + 1}: unknown class "${className}"`)
    if (given !== undefined && Number(given) !== label + 1)
      throw new Error(`${join(lists, listName)}:${k + 1}: label ${given} does not match class ${className} (${label + 1})`)
    return { video, label, frames: join(root, 'frames', video.replace(/\.avi$/i, '')) }
  })
  return { classes, videos }
}
