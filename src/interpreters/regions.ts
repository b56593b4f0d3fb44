/**
 * Regions materialised as masks over one sample's frames and pixels: T·H·W values in row-major
 * [T, H, W] order, 1 inside and 0 outside (channels broadcast).
 *
 * Random regions (Rect, Pixels) are drawn from a generator seeded by (run seed, sample index, the
 * region's value), so a region means the same pixels wherever it appears in one run (init and steps),
 * differs between the samples of a batch, and does not depend on the batch it was run in.
 *
 * @since 0.1.0
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import { InputError } from '../core/errors.js'
import { fold, type FoldRules } from '../dsl/match.js'
import type { Region } from '../dsl/types.js'

export interface FrameGeometry {
  readonly T: number
  readonly H: number
  readonly W: number
}

/** What a random region is drawn from: the run's seed and the sample's index in the batch. */
export interface Draw {
  readonly seed: number
  readonly sample: number
  /** Masks found by the search for `SearchedRect` regions, by region key, as [N, T, H, W] batches. */
  readonly searched?: Searched
}

/** Batch masks ([N, T, H, W]) of searched rectangles, by `regionKey`. */
export type Searched = ReadonlyMap<string, Uint8Array>

/** A stable key for a region value (for caching and for seeding its draws). */
export const regionKey = (region: Region): string => JSON.stringify(region)

/** True when the region's pixels depend on the seed and the sample. */
export const isRandom: (region: Region) => boolean = fold<'Region', boolean>('Region', {
  Frames: () => false,
  Box: () => false,
  Rect: () => true,
  SearchedRect: () => true, // found per sample: never the same mask for every sample
  Ring: () => false,
  Pixels: () => true,
  Union: ({ regions }) => regions.some(Boolean),
  Intersection: ({ regions }) => regions.some(Boolean),
  Complement: ({ of }) => of,
})

/** 32-bit FNV-1a of a string: mixes the region's value into its generator's seed. */
const fnv1a = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h | 0
}

const generator = (region: Region, draw: Draw) => xoroshiro128plus(fnv1a(`${draw.seed}/${draw.sample}/${regionKey(region)}`))

/** What a mask rule reads: the frames and the draw. */
interface MaskContext {
  readonly g: FrameGeometry
  readonly draw: Draw
}

const emptyMask = (g: FrameGeometry) => new Uint8Array(g.T * g.H * g.W)

/** Sets the `height`x`width` rectangle at (`top`, `left`) of frame `t` (cut at the frame's edges). */
const fillRect = (mask: Uint8Array, g: FrameGeometry, t: number, top: number, left: number, height: number, width: number) => {
  const frame = g.H * g.W
  for (let h = top; h < Math.min(top + height, g.H); h++)
    mask.fill(1, t * frame + h * g.W + left, t * frame + h * g.W + Math.min(left + width, g.W))
  return mask
}

/** A new mask, with `each(mask, t)` run on it for every frame t. */
const eachFrame = (g: FrameGeometry, each: (mask: Uint8Array, t: number) => void): Uint8Array => {
  const mask = emptyMask(g)
  for (let t = 0; t < g.T; t++) each(mask, t)
  return mask
}

const maskRules: FoldRules<Region, Uint8Array, [MaskContext]> = {
  Frames: ({ indices }, { g }) => {
    const mask = emptyMask(g)
    for (const t of indices) if (t < g.T) mask.fill(1, t * g.H * g.W, (t + 1) * g.H * g.W)
    return mask
  },
  Box: (r, { g }) => eachFrame(g, (mask, t) => fillRect(mask, g, t, r.top, r.left, r.height, r.width)),
  SearchedRect: (r, { g, draw }) => {
    const found = draw.searched?.get(regionKey(r))
    if (found === undefined)
      throw new InputError(`${regionKey(r)}: a searched rectangle has no mask until the tensor interpreter's search places it`)
    const size = g.T * g.H * g.W
    return found.slice(draw.sample * size, (draw.sample + 1) * size)
  },
  Ring: ({ width: w }, { g }) =>
    eachFrame(g, (mask, t) => {
      fillRect(mask, g, t, 0, 0, w, g.W)
      fillRect(mask, g, t, g.H - w, 0, w, g.W)
      fillRect(mask, g, t, 0, 0, g.H, w)
      fillRect(mask, g, t, 0, g.W - w, g.H, w)
    }),
  Rect: (r, { g, draw }) => {
    const rng = generator(r, draw)
    const place = () => [uniformInt(rng, 0, g.H - r.height), uniformInt(rng, 0, g.W - r.width)] as const
    const shared = place()
    return eachFrame(g, (mask, t) => {
      const [top, left] = r.placement === 'shared' ? shared : place()
      fillRect(mask, g, t, top, left, r.height, r.width)
    })
  },
  Pixels: (r, { g, draw }) => {
    const rng = generator(r, draw)
    const frame = g.H * g.W
    return eachFrame(g, (mask, t) => {
      for (let k = 0; k < r.perFrame; k++) mask[t * frame + uniformInt(rng, 0, frame - 1)] = 1
    })
  },
  Union: ({ regions }, { g }) => combine(regions, emptyMask(g).length, (a, b) => a | b, 0),
  Intersection: ({ regions }, { g }) => combine(regions, emptyMask(g).length, (a, b) => a & b, 1),
  Complement: ({ of }) => of.map((m) => 1 - m),
}

const maskOf = fold('Region', maskRules)

/** The region's mask for sample `draw.sample` of a run seeded `draw.seed`. */
export const regionMask = (region: Region, g: FrameGeometry, draw: Draw = { seed: 0, sample: 0 }): Uint8Array =>
  maskOf(region, { g, draw })

const combine = (masks: ReadonlyArray<Uint8Array>, size: number, op: (a: number, b: number) => number, unit: number) =>
  masks.reduce((acc, m) => acc.map((a, i) => op(a, m[i]!)), new Uint8Array(size).fill(unit))

/** The masks of all `N` samples, concatenated ([N, T, H, W]); one mask repeated when the region is not random. */
export const batchMask = (region: Region, g: FrameGeometry, N: number, seed: number, searched?: Searched): Uint8Array => {
  const size = g.T * g.H * g.W
  const out = new Uint8Array(N * size)
  const fixed = isRandom(region) ? undefined : regionMask(region, g)
  for (let n = 0; n < N; n++)
    out.set(fixed ?? regionMask(region, g, { seed, sample: n, ...(searched ? { searched } : {}) }), n * size)
  return out
}

type SearchedRect = Extract<Region, { _tag: 'SearchedRect' }>

/** Every searched rectangle inside `region`. */
export const searchedIn: (region: Region) => ReadonlyArray<SearchedRect> = fold<'Region', ReadonlyArray<SearchedRect>>('Region', {
  Frames: () => [],
  Box: () => [],
  Rect: () => [],
  SearchedRect: (r) => [r],
  Ring: () => [],
  Pixels: () => [],
  Union: ({ regions }) => regions.flat(),
  Intersection: ({ regions }) => regions.flat(),
  Complement: ({ of }) => of,
})

/** The most pixels a region can hold on one frame of an H×W clip (for the per-frame count invariant). */
export const maxPixelsPerFrame: (region: Region, g: FrameGeometry) => number = fold<'Region', number, [FrameGeometry]>('Region', {
  Frames: (_, g) => g.H * g.W,
  Box: (r, g) => Math.min(r.height, g.H) * Math.min(r.width, g.W),
  Rect: (r, g) => Math.min(r.height, g.H) * Math.min(r.width, g.W),
  SearchedRect: (r, g) => Math.min(r.height, g.H) * Math.min(r.width, g.W),
  Ring: ({ width }, g) => g.H * g.W - Math.max(0, g.H - 2 * width) * Math.max(0, g.W - 2 * width),
  Pixels: ({ perFrame }, g) => Math.min(perFrame, g.H * g.W),
  Union: ({ regions }, g) => Math.min(g.H * g.W, regions.reduce((s, n) => s + n, 0)),
  Intersection: ({ regions }, g) => Math.min(g.H * g.W, ...regions),
  Complement: (_, g) => g.H * g.W,
})
