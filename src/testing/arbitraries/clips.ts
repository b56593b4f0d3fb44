/**
 * Clip batches `[N, T, H, W, C]` for property tests: float32 values in a range, sometimes exactly at
 * its ends (0 and 1), with no denormals.
 *
 * @since 0.1.0
 */
import fc from 'fast-check'
import type { ClipData } from '../../core/clip.js'

export interface ClipConstraints {
  readonly maxN?: number
  readonly maxT?: number
  readonly maxH?: number
  readonly maxW?: number
  /** A fixed batch size N (e.g. the number of per-sample targets of a `TargetedEach` attack). */
  readonly N?: number
  /** Channels (default 3). */
  readonly C?: number
  /** Pixel values in [min, max] (default [0, 1]); positive values are ≥ 1e−30 (no denormals). */
  readonly min?: number
  readonly max?: number
  /** Include exact 0 (and, when max = 1, exact 1) values (default true when the range allows). */
  readonly extremes?: boolean
  /** A fixed shape `[N, T, H, W, C]` instead of generated sizes. */
  readonly shape?: readonly [number, number, number, number, number]
}

/** The smallest positive pixel value the clip arbitraries generate. */
export const SMALLEST_PIXEL = 1e-30

/** Clip batches `[N, T, H, W, C]` with float32 values in [min, max], sometimes exactly at the ends. */
export const clipArb = (k: ClipConstraints = {}): fc.Arbitrary<ClipData> => {
  const lo = k.min ?? 0
  const hi = k.max ?? 1
  const extremes = k.extremes ?? true
  // Positive values are at least 1e−30: float32 denormals (< 1.2e−38) lose relative precision under
  // x·ε and x/ε, which no real (8-bit-derived) clip contains.
  const interior = fc.float({ min: Math.fround(Math.max(lo, SMALLEST_PIXEL)), max: Math.fround(hi), noNaN: true })
  const ends = endpoints(lo, hi)
  const value = extremes && ends.length > 0 ? fc.oneof({ weight: 8, arbitrary: interior }, { weight: 1, arbitrary: fc.constantFrom(...ends) }) : interior
  return shapeArb(k).chain(([N, T, H, W, C]) => {
    const size = N * T * H * W * C
    return fc
      .array(value, { minLength: size, maxLength: size })
      .map((values): ClipData => ({ shape: [N, T, H, W, C], data: Float32Array.from(values, (v) => Math.abs(v)) }))
  })
}

/** Shapes `[N, T, H, W, C]` as `k` asks: its fixed shape (batch size `N` when given), or generated sizes. */
export const shapeArb = (k: ClipConstraints = {}): fc.Arbitrary<readonly [number, number, number, number, number]> => {
  if (k.shape) {
    const [N, T, H, W, C] = k.shape
    return fc.constant([k.N ?? N, T, H, W, C] as const)
  }
  return fc.tuple(
    k.N === undefined ? fc.integer({ min: 1, max: k.maxN ?? 2 }) : fc.constant(k.N),
    fc.integer({ min: 1, max: k.maxT ?? 3 }),
    fc.integer({ min: 1, max: k.maxH ?? 4 }),
    fc.integer({ min: 1, max: k.maxW ?? 4 }),
    fc.constant(k.C ?? 3),
  )
}

const endpoints = (lo: number, hi: number): number[] => [lo, hi].filter((v) => v === 0 || v === 1)
