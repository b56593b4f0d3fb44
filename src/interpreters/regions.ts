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
export const isRandom = (region: Region): boolean => {
  switch (region._tag) {
    case 'Rect':
    case 'Pixels':
    case 'SearchedRect': // found per sample: never the same mask for every sample
      return true
    case 'Frames':
    case 'Box':
    case 'Ring':
      return false
    case 'Union':
    case 'Intersection':
      return region.regions.some(isRandom)
    case 'Complement':
      return isRandom(region.of)
  }
}

/** 32-bit FNV-1a of a string: mixes the region's value into its generator's seed. */
const fnv1a = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h | 0
}

const generator = (region: Region, draw: Draw) => xoroshiro128plus(fnv1a(`${draw.seed}/${draw.sample}/${regionKey(region)}`))

/** The region's mask for sample `draw.sample` of a run seeded `draw.seed`. */
export const regionMask = (region: Region, g: FrameGeometry, draw: Draw = { seed: 0, sample: 0 }): Uint8Array => {
  const frame = g.H * g.W
  const mask = new Uint8Array(g.T * frame)
  const fillRect = (t: number, top: number, left: number, height: number, width: number) => {
    for (let h = top; h < Math.min(top + height, g.H); h++)
      mask.fill(1, t * frame + h * g.W + left, t * frame + h * g.W + Math.min(left + width, g.W))
  }
  switch (region._tag) {
    case 'Frames':
      for (const t of region.indices) if (t < g.T) mask.fill(1, t * frame, (t + 1) * frame)
      return mask
    case 'Box':
      for (let t = 0; t < g.T; t++) fillRect(t, region.top, region.left, region.height, region.width)
      return mask
    case 'SearchedRect': {
      const found = draw.searched?.get(regionKey(region))
      if (found === undefined)
        throw new Error(`${regionKey(region)}: a searched rectangle has no mask until the tensor interpreter's search places it`)
      return found.slice(draw.sample * mask.length, (draw.sample + 1) * mask.length)
    }
    case 'Ring': {
      const w = region.width
      for (let t = 0; t < g.T; t++) {
        fillRect(t, 0, 0, w, g.W)
        fillRect(t, g.H - w, 0, w, g.W)
        fillRect(t, 0, 0, g.H, w)
        fillRect(t, 0, g.W - w, g.H, w)
      }
      return mask
    }
    case 'Rect': {
      const rng = generator(region, draw)
      const place = () => [uniformInt(rng, 0, g.H - region.height), uniformInt(rng, 0, g.W - region.width)] as const
      const shared = place()
      for (let t = 0; t < g.T; t++) {
        const [top, left] = region.placement === 'shared' ? shared : place()
        fillRect(t, top, left, region.height, region.width)
      }
      return mask
    }
    case 'Pixels': {
      const rng = generator(region, draw)
      for (let t = 0; t < g.T; t++)
        for (let k = 0; k < region.perFrame; k++) mask[t * frame + uniformInt(rng, 0, frame - 1)] = 1
      return mask
    }
    case 'Union':
      return combine(region.regions.map((r) => regionMask(r, g, draw)), mask.length, (a, b) => a | b, 0)
    case 'Intersection':
      return combine(region.regions.map((r) => regionMask(r, g, draw)), mask.length, (a, b) => a & b, 1)
    case 'Complement':
      return regionMask(region.of, g, draw).map((m) => 1 - m)
  }
}

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

/** Every searched rectangle inside `region`. */
export const searchedIn = (region: Region): ReadonlyArray<Extract<Region, { _tag: 'SearchedRect' }>> => {
  switch (region._tag) {
    case 'SearchedRect':
      return [region]
    case 'Union':
    case 'Intersection':
      return region.regions.flatMap(searchedIn)
    case 'Complement':
      return searchedIn(region.of)
    case 'Frames':
    case 'Box':
    case 'Rect':
    case 'Ring':
    case 'Pixels':
      return []
  }
}

/** The most pixels a region can hold on one frame of an H×W clip (for the per-frame count invariant). */
export const maxPixelsPerFrame = (region: Region, g: FrameGeometry): number => {
  const frame = g.H * g.W
  switch (region._tag) {
    case 'Frames':
      return frame
    case 'Box':
    case 'Rect':
    case 'SearchedRect':
      return Math.min(region.height, g.H) * Math.min(region.width, g.W)
    case 'Ring':
      return frame - Math.max(0, g.H - 2 * region.width) * Math.max(0, g.W - 2 * region.width)
    case 'Pixels':
      return Math.min(region.perFrame, frame)
    case 'Union':
      return Math.min(frame, region.regions.reduce((s, r) => s + maxPixelsPerFrame(r, g), 0))
    case 'Intersection':
      return Math.min(frame, ...region.regions.map((r) => maxPixelsPerFrame(r, g)))
    case 'Complement':
      return frame
  }
}
