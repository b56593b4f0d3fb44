/**
 * Confidence intervals for the accuracies of an evaluation.
 *
 * @since 0.1.0
 */

/** A closed interval [lo, hi] of proportions. */
export type Interval = readonly [lo: number, hi: number]

/**
 * The Wilson score interval of a binomial proportion: `successes` of `n` trials, at `z` standard
 * normal quantiles (1.96: 95%). Unlike the normal ("Wald") interval it stays inside [0, 1] and is not
 * empty at 0 or n successes, so it suits accuracies near 0% or 100%. With n = 0 there is no estimate:
 * [NaN, NaN] (null in JSON, as the accuracy itself is). Bad arguments are programming errors (RangeError).
 *
 *   centre = (p + z²/2n) / (1 + z²/n),  half width = z / (1 + z²/n) · √(p(1−p)/n + z²/4n²),  p = successes/n
 *
 * @example
 * import { evaluation } from 'multav'
 * evaluation.wilson(81, 263) // ≈ [0.2553, 0.3662] (Newcombe 1998, method 3)
 */
export const wilson = (successes: number, n: number, z = 1.96): Interval => {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`wilson: n must be an integer ≥ 0, got ${n}`)
  if (!(Number.isInteger(successes) && successes >= 0 && successes <= n))
    throw new RangeError(`wilson: successes must be an integer from 0 to n = ${n}, got ${successes}`)
  if (!(Number.isFinite(z) && z > 0)) throw new RangeError(`wilson: z must be a finite number > 0, got ${z}`)
  if (n === 0) return [Number.NaN, Number.NaN]
  const p = successes / n
  const z2 = z * z
  const shrink = 1 + z2 / n
  const centre = (p + z2 / (2 * n)) / shrink
  const half = (z / shrink) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))
  // the bounds at 0 and n successes are exactly 0 and 1; elsewhere rounding must not leave [0, 1]
  return [successes === 0 ? 0 : Math.max(0, centre - half), successes === n ? 1 : Math.min(1, centre + half)]
}
