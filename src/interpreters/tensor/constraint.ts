/**
 * Constraints as projections of x' around the clean clip x, per sample. Each is idempotent and an
 * exact no-op where its constraint already holds.
 *
 * @since 0.2.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { match } from '../../dsl/match.js'
import type { BallNorm, Constraint, RatioReading } from '../../dsl/types.js'
import { clampAround } from '../../ops/clamp-around.js'
import { ratioOf, wherePositive } from '../../ops/ratio-of.js'
import { effective, l2Norm, SAMPLE_AXES } from './norms.js'

/**
 * Ratios are capped at 1e30 inside the L2 ratio projections, and floored at 1e−30 for the log reading, so that x' ≤ 0 < x (after an
 * additive step) or a tiny x (a float32 denormal) give a finite, far-out ratio instead of 0 or Infinity.
 */
const RATIO_FLOOR = 1e-30
const RATIO_CEILING = 1e30

/** Projection onto {‖x' − x‖ ≤ ε}. */
const BALL: { readonly [N in BallNorm]: (eps: number, x: tf.Tensor5D, xAdv: tf.Tensor5D) => tf.Tensor } = {
  // x − ε ≤ x' ≤ x + ε: min/max return x' itself where it holds (an exact no-op)
  linf: (eps, x, xAdv) => clampAround('ball', eps, x, xAdv),
  // x + δ·ε/‖δ‖₂ where ‖δ‖₂ > ε
  l2: (eps, x, xAdv) => {
    const delta = tf.sub(xAdv, x)
    const n = l2Norm(delta, SAMPLE_AXES)
    return tf.where(tf.greater(n, eps), tf.add(x, tf.mul(delta, tf.div(eps, n))), xAdv)
  },
}

/** How each L2 ratio reading maps the ratio r = x'/x to the vector it bounds, and back. */
const READING: {
  readonly [R in RatioReading]: {
    /** The lowest ratio kept (the log reading needs r > 0; the others scale the raw ratio exactly). */
    readonly floor: number
    /** The reading of the ratio r, given the clean clip x. */
    readonly forward: (ratio: tf.Tensor, x: tf.Tensor) => tf.Tensor
    readonly back: (scaled: tf.Tensor) => tf.Tensor
    /** ε as the bound on the reading's norm. */
    readonly bound: (eps: number) => number
  }
} = {
  log: { floor: RATIO_FLOOR, forward: (r) => tf.log(r), back: (s) => tf.exp(s), bound: Math.log },
  // sums over x > 0 only: the fixed zeros' ratio 1 cannot be scaled (see types.ts)
  literal: { floor: -RATIO_CEILING, forward: (r, x) => wherePositive(x, r), back: (s) => s, bound: (e) => e },
  deviation: { floor: -RATIO_CEILING, forward: (r) => tf.sub(r, 1), back: (s) => tf.add(s, 1), bound: (e) => e },
}

/** L2 ratio projection on `reading`, with `bound` on the reading's norm. x' = 0 where x = 0. */
const projectRatioL2 = (reading: RatioReading, bound: number, x: tf.Tensor5D, xAdv: tf.Tensor5D): tf.Tensor => {
  const r = READING[reading]
  const v = r.forward(tf.clipByValue(ratioOf(x, xAdv), r.floor, RATIO_CEILING), x)
  const n = l2Norm(v, SAMPLE_AXES)
  const back = r.back(tf.mul(v, tf.div(bound, n)))
  return wherePositive(x, tf.where(tf.greater(n, bound), tf.mul(x, back), xAdv))
}

/** Projection onto the ratio ball around x: L∞ or L2 (on `reading`). */
const RATIO: {
  readonly [N in BallNorm]: (c: Extract<Constraint, { _tag: 'ProjectRatio' }>, x: tf.Tensor5D, xAdv: tf.Tensor5D, perSample: number) => tf.Tensor
} = {
  // x/ε ≤ x' ≤ x·ε; where x = 0 both bounds are 0, so x' = 0 (ratio taken as 1).
  linf: (c, x, xAdv) => clampAround('ratio', c.eps, x, xAdv),
  l2: (c, x, xAdv, perSample) => projectRatioL2(c.reading, effective(READING[c.reading].bound(c.eps), c.units, perSample), x, xAdv),
}

/** One constraint applied to x' (x the clean clip, `perSample` values per sample for 'rms' units). */
const constrain = match<Constraint, tf.Tensor, [tf.Tensor5D, tf.Tensor5D, number]>({
  Clip: ({ lo, hi }, _, xAdv) => tf.clipByValue(xAdv, lo, hi),
  ProjectBall: ({ norm, eps, units }, x, xAdv, perSample) => BALL[norm](effective(eps, units, perSample), x, xAdv),
  ProjectRatio: (c, x, xAdv, perSample) => RATIO[c.norm](c, x, xAdv, perSample),
})

/** Applies `constraints` in order to x' (x the clean clip). Call inside a tidy. */
export const applyConstraints = (
  constraints: ReadonlyArray<Constraint>,
  x: tf.Tensor5D,
  xAdv: tf.Tensor5D,
  perSample: number,
): tf.Tensor5D => constraints.reduce((v, c) => constrain(c, x, v, perSample) as tf.Tensor5D, xAdv)

/**
 * Projects x' onto `constraints` around the clean clip x (in order), as the interpreter does after each
 * update. Each projection is idempotent and an exact no-op where its constraint already holds. The
 * caller owns the result.
 */
export const project = (constraints: ReadonlyArray<Constraint>, x: tf.Tensor5D, xAdv: tf.Tensor5D): tf.Tensor5D =>
  tf.tidy(() => {
    const out = applyConstraints(constraints, x, xAdv, x.size / x.shape[0])
    return out === xAdv ? tf.clone(xAdv) : out
  })

/**
 * Whether projecting x' onto `constraints` again, right after the step that projected it, can change
 * it. Clip and the L∞ projections (ball and ratio) clamp each value to an interval; a composition of
 * clamps is again a clamp (to the intervals' intersection, or a constant), which is idempotent, and
 * min/max are exact in floating point, so a second pass returns x' bit for bit. The L2 projections
 * rescale δ, and rounding can leave its norm a hair above ε, which a second pass tightens.
 */
export const reprojectionCanChange = (constraints: ReadonlyArray<Constraint>): boolean => constraints.some((c) => rescales(c))

const rescales = match<Constraint, boolean>({
  Clip: () => false,
  ProjectBall: ({ norm }) => norm !== 'linf',
  ProjectRatio: ({ norm }) => norm !== 'linf',
})
