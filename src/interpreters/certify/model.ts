/**
 * The certificate: what every output x' of an attack is guaranteed to satisfy, for the clean clip x it
 * was computed from (x ∈ [0, 1]; N = T·H·W·C values per sample).
 *
 * @since 0.1.0
 */
import type { RatioReading, Region } from '../../dsl/types.js'

/** A bound that may scale with the clip: value = abs + rms·√N (N = T·H·W·C values per sample). */
export interface Bound {
  readonly abs: number
  readonly rms: number
}

/** Where x' may differ from x (a union of regions); outside, x' = x bit-identically. */
export type Support =
  | { readonly _tag: 'Nothing' }
  | { readonly _tag: 'Everywhere' }
  | { readonly _tag: 'Regions'; readonly regions: ReadonlyArray<Region> }

export interface Certificate {
  /** The attack's name. */
  readonly attack: string
  /** The seed the run's random regions are drawn from (needed to check a support of random regions). */
  readonly seed: number
  /**
   * How many runs the attack makes (`Attack.restarts`, ≥ 1). Each sample of the output is the output
   * of one run r, whose random regions are drawn from `restartSeed(seed, r)`: every per-value and
   * per-sample bound holds unchanged, and a support of random regions holds for that run's draw.
   */
  readonly restarts: number
  /** x' ∈ [lo, hi]. */
  readonly range: { readonly lo: number; readonly hi: number } | null
  /** ‖x' − x‖∞ ≤ value. */
  readonly ballLinf: number | null
  /** ‖x' − x‖₂ ≤ value, per sample. */
  readonly ballL2: Bound | null
  /** For x > 0: 1/ε ≤ x'/x ≤ ε. */
  readonly ratioLinf: number | null
  /**
   * Per sample, with the ratio taken as 1 where x = 0: 'log' ‖log(x'/x)‖₂, 'literal' ‖x'/x‖₂ (summed
   * over x > 0 only, as the interpreters project it), 'deviation' ‖x'/x − 1‖₂ ≤ bound.
   */
  readonly ratioL2: { readonly reading: RatioReading; readonly bound: Bound } | null
  /** x = 0 ⇒ x' = 0. */
  readonly zeroFixed: boolean
  readonly support: Support
  /** One sentence per missing guarantee: why it is missing, naming the step. */
  readonly reasons: ReadonlyArray<string>
  readonly assumptions: ReadonlyArray<string>
}
