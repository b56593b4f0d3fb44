/**
 * What an evaluation runs on, as a serialisable reference (so every worker can open the same data):
 * the shipped benchmark, a UCF-101 style folder, or a folder of class folders holding video files or
 * frame folders. Clips are loaded per chunk, never the whole dataset at once.
 *
 * @since 0.1.0
 */
import { existsSync, statSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { benchmark, type Benchmark } from '../data/benchmark.js'
import { loadFrameFolder, ucf101 } from '../data/frames.js'
import { findFfmpeg, loadVideo } from '../data/video.js'
import type { ClipData } from '../core/clip.js'

/** Frames, height and width of the clips a model takes. */
export interface ClipSize {
  readonly T: number
  readonly H: number
  readonly W: number
}

export interface DataItem {
  /** A video file or a frame folder. */
  readonly path: string
  readonly label: number
}

export type DataRef =
  | { readonly kind: 'benchmark'; readonly split: 'train' | 'test'; readonly clip: ClipSize }
  | { readonly kind: 'items'; readonly root: string; readonly items: ReadonlyArray<DataItem>; readonly clip: ClipSize }

export interface Dataset {
  readonly size: number
  readonly labels: ReadonlyArray<number>
  /** Clips `ids` as one batch `[ids.length, T, H, W, 3]`; rejects naming the first item that cannot be read. */
  readonly load: (ids: ReadonlyArray<number>) => Promise<ClipData>
  /**
   * Clips `ids` as one batch, whatever can be read: an unreadable item is left black (so every other
   * clip keeps its place in the batch, and its result) and named in `failed` (id → "<file>: <reason>").
   */
  readonly loadReadable: (ids: ReadonlyArray<number>) => Promise<Loaded>
}

export interface Loaded {
  readonly clips: ClipData
  readonly failed: ReadonlyMap<number, string>
}

/** Why an item could not be read, as one line that names its file. */
export const unreadable = (path: string, e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code
  const first = (e instanceof Error ? e.message : String(e)).split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unreadable'
  const reason = code === 'ENOENT' ? 'no such file or folder (removed since the run was planned?)' : first
  return reason.includes(path) ? reason : `${path}: ${reason}`
}

/** A `load` that rejects on the first unreadable item, from a `loadReadable`. */
const strict = (loadReadable: Dataset['loadReadable']): Dataset['load'] => async (ids) => {
  const { clips, failed } = await loadReadable(ids)
  const [first] = failed.values()
  if (first !== undefined) throw new Error(first)
  return clips
}

const VIDEO = new Set(['.avi', '.mp4', '.mkv', '.mov', '.webm', '.mpg', '.mpeg', '.m4v'])

/**
 * Resolves `--data`: `benchmark` (the shipped benchmark's `split`), a UCF-101 root (one with
 * `ucfTrainTestlist/`), or a folder `<class>/<video file | frame folder>` whose class folder names are
 * the model's class names.
 */
export const resolveData = async (
  ref: string,
  o: { readonly clip: ClipSize; readonly classes: ReadonlyArray<string>; readonly split: 'train' | 'test' },
): Promise<DataRef> => {
  if (ref === 'benchmark') return { kind: 'benchmark', split: o.split, clip: o.clip }
  if (!existsSync(ref)) throw new Error(`--data ${ref}: no such folder (expected "benchmark" or a folder of videos)`)
  if (!statSync(ref).isDirectory()) throw new Error(`--data ${ref}: not a folder (expected "benchmark" or a folder of videos)`)
  if (existsSync(join(ref, 'ucfTrainTestlist'))) {
    const split = await ucf101(ref, { subset: o.split })
    const items = split.videos.map((v) => {
      // frames extracted beside the lists, or the .avi files as shipped (UCF-101/<Class>/<video>.avi)
      const video = [join(ref, 'UCF-101', v.video), join(ref, v.video)].find((p) => existsSync(p))
      return { path: existsSync(v.frames) || video === undefined ? v.frames : video, label: classIndex(split.classes[v.label]!, o.classes, ref) }
    })
    return { kind: 'items', root: ref, items, clip: o.clip }
  }
  const classDirs = (await readdir(ref, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()
  if (classDirs.length === 0) throw new Error(`--data ${ref}: no class folders in it (expected ${ref}/<class>/<video file or frame folder>)`)
  const items: DataItem[] = []
  for (const name of classDirs) {
    const label = classIndex(name, o.classes, ref)
    for (const entry of (await readdir(join(ref, name), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name)))
      if (entry.isDirectory() || (entry.isFile() && VIDEO.has(extname(entry.name).toLowerCase())))
        items.push({ path: join(ref, name, entry.name), label })
  }
  if (items.length === 0) throw new Error(`--data ${ref}: no videos or frame folders in its class folders`)
  return { kind: 'items', root: ref, items, clip: o.clip }
}

const classIndex = (name: string, classes: ReadonlyArray<string>, root: string): number => {
  const k = classes.indexOf(name)
  if (k < 0) throw new Error(`--data ${root}: class "${name}" is not one of the model's classes (${classes.join(', ')})`)
  return k
}

/** Benchmark splits already generated in this thread. */
const generated = new Map<string, Benchmark>()

/** Opens a data reference; loading a chunk reads (or generates) only its clips. */
export const openDataset = (ref: DataRef): Dataset => {
  const { T, H, W } = ref.clip
  const frame = T * H * W * 3
  if (ref.kind === 'benchmark') {
    const key = JSON.stringify(ref)
    const set = generated.get(key) ?? benchmark({ split: ref.split, T, H, W })
    generated.set(key, set)
    const loadReadable = async (ids: ReadonlyArray<number>): Promise<Loaded> => {
      const data = new Float32Array(ids.length * frame)
      ids.forEach((id, k) => data.set(set.clips.data.subarray(id * frame, (id + 1) * frame), k * frame))
      return { clips: { shape: [ids.length, T, H, W, 3], data }, failed: new Map() }
    }
    return { size: set.labels.length, labels: set.labels, load: strict(loadReadable), loadReadable }
  }
  if (H !== W) throw new Error(`--data ${ref.root}: videos are centre-cropped to squares, but the model takes ${H}x${W} frames`)
  const loadReadable = async (ids: ReadonlyArray<number>): Promise<Loaded> => {
    const data = new Float32Array(ids.length * frame)
    const failed = new Map<number, string>()
    for (const [k, id] of ids.entries()) {
      const item = ref.items[id]
      if (item === undefined) throw new Error(`--data ${ref.root}: no item ${id} (it has ${ref.items.length})`)
      try {
        const clip = await loadItem(item.path, { T, size: H, crop: H })
        if (clip.data.length !== frame) throw new Error(`decoded ${clip.data.length} values, expected ${T}x${H}x${W}x3 = ${frame}`)
        data.set(clip.data, k * frame)
      } catch (e) {
        if (isMachineFailure(e)) throw e
        failed.set(id, unreadable(item.path, e))
      }
    }
    return { clips: { shape: [ids.length, T, H, W, 3], data }, failed }
  }
  return { size: ref.items.length, labels: ref.items.map((i) => i.label), load: strict(loadReadable), loadReadable }
}

/**
 * Failures of this machine rather than of the item (no ffmpeg, too many open files, out of memory, a
 * bug): they would hit every item alike, so they stop the run instead of being recorded as unreadable
 * items — a recorded row is never retried, and the fix (installing ffmpeg, more memory) is the user's.
 */
/** A tool every item of its kind needs is missing (ffmpeg for videos). */
class ToolMissing extends Error {
  override readonly name = 'ToolMissing'
}

const MACHINE_ERRNO = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'ENOSPC', 'EAGAIN'])
const isMachineFailure = (e: unknown): boolean =>
  !(e instanceof Error) ||
  e instanceof TypeError ||
  e instanceof RangeError ||
  e instanceof ReferenceError ||
  e instanceof ToolMissing ||
  e.name === 'WasmHeapError' ||
  MACHINE_ERRNO.has((e as NodeJS.ErrnoException).code ?? '')

/** One video file or frame folder (a video needs ffmpeg: its absence stops the run, it is no item's fault). */
const loadItem = async (path: string, o: { readonly T: number; readonly size: number; readonly crop: number }): Promise<ClipData> => {
  if ((await stat(path)).isDirectory()) return loadFrameFolder(path, o)
  await findFfmpeg().catch((e: Error) => {
    throw new ToolMissing(`${path}: cannot decode videos on this machine: ${e.message}`)
  })
  return loadVideo(path, o)
}
