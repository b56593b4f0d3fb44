/**
 * What every rule of the reference interpreter reads: the batch's shape, the run's seed, and the
 * masks of its regions; and the per-sample reductions (float64) the rules share.
 *
 * @since 0.2.0
 */
import type { ClipData } from '../../core/clip.js'
import type { Region, Units } from '../../dsl/types.js'
import { batchMask, type Searched } from '../regions.js'

export interface Geometry {
  readonly shape: ClipData['shape']
  /** N = T·H·W·C values in one sample. */
  readonly perSample: number
  /** H·W·C values in one frame. */
  readonly perFrame: number
  /** The seed of this run (random starts and random regions). */
  readonly seed: number
  readonly searched: Searched | undefined
  /** Mask value of flat index i for a batch mask ([N, T, H, W]), broadcast over channels. */
  readonly inside: (mask: Uint8Array, i: number) => boolean
}

export const geometry = (shape: ClipData['shape'], seed: number, searched: Searched | undefined): Geometry => {
  const C = shape[4]
  return {
    shape,
    perSample: shape[1] * shape[2] * shape[3] * C,
    perFrame: shape[2] * shape[3] * C,
    seed,
    searched,
    inside: (mask, i) => mask[Math.floor(i / C)] === 1,
  }
}

/** A parameter in absolute units: × √N when it is given per value ('rms'). */
export const effective = (value: number, units: Units, g: Geometry): number => (units === 'rms' ? value * Math.sqrt(g.perSample) : value)

export const clip01 = (v: number): number => Math.min(1, Math.max(0, v))

/** The region's batch mask ([N, T, H, W]) in this run. */
export const maskOf = (region: Region, g: Geometry): Uint8Array =>
  batchMask(region, { T: g.shape[1], H: g.shape[2], W: g.shape[3] }, g.shape[0], g.seed, g.searched)

/**
 * A per-index function of a reduction over each group of `size` consecutive values: `f` of the sum of
 * `term(v)` over the group that index i belongs to.
 */
export const perGroup = (v: ArrayLike<number>, size: number, term: (e: number) => number, f: (sum: number) => number) => {
  const values: number[] = []
  for (let start = 0; start < v.length; start += size) {
    let s = 0
    for (let i = start; i < start + size; i++) s += term(v[i]!)
    values.push(f(s))
  }
  return (i: number): number => values[Math.floor(i / size)]!
}

/** A per-index function of the L2 norm of each group of `size` consecutive values. */
export const perGroupNorm = (v: ArrayLike<number>, size: number, f: (norm: number) => number) =>
  perGroup(v, size, (e) => e * e, (s) => f(Math.sqrt(s)))
