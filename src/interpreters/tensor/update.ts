/**
 * One iteration's update x' ← x' + α·s_i·d or x' ← x' ⊙ exp(s_i·d·ln α), then the step's constraints.
 * s_i is the step size's schedule at iteration i (0-based over the attack's steps).
 *
 * @since 0.2.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { match } from '../../dsl/match.js'
import { scheduleAt } from '../../dsl/schedule.js'
import type { Direction, Schedule, Step, Update } from '../../dsl/types.js'
import type { Run } from './context.js'
import { applyConstraints } from './constraint.js'
import { scaleFree, ternary } from '../../dsl/constructors.js'
import { powerStep } from '../../ops/power-step.js'
import { direction, type Here } from './direction.js'
import { effective } from './norms.js'

/** Where an update runs: the iterate, the gradient, the run, iteration i and the body step's index. */
export interface StepAt extends Here {
  readonly xAdv: tf.Tensor5D
  readonly iteration: number
  readonly bodyIndex: number
}

/** The largest exponent of a multiplicative step: exp(88) ≈ 1.65e38 is below float32's largest value, 3.4e38. */
const MAX_EXPONENT = 88

/**
 * x' ⊙ exp(d·λ), λ = s_i·ln α. Where |d·λ| could pass 88 (a raw gradient, a momentum sum), the
 * exponent is capped there, so that exp stays finite and 0 stays a fixed point (0·∞ would be NaN; an
 * exponent of 88 takes any pixel ≥ 3e−37 past 1 anyway). A signed or normalised direction never gets
 * there and pays nothing for it.
 */
const multiplyStep = (of: Direction, logAlpha: number, at: StepAt): tf.Tensor => {
  const d = direction(of, at, `${at.bodyIndex}/`)
  // a signed or normalised direction has |d| ≤ 1, so |d·λ| ≤ |λ|
  const capped = !scaleFree(of) || Math.abs(logAlpha) > MAX_EXPONENT
  if (capped) return tf.mul(at.xAdv, tf.exp(tf.minimum(tf.mul(d, logAlpha), MAX_EXPONENT)))
  // d ∈ {−1, 0, 1}: each value times e^λ, e^−λ or 1 (one pass on wasm)
  return ternary(of) ? powerStep(at.xAdv, d, logAlpha) : tf.mul(at.xAdv, tf.exp(tf.mul(d, logAlpha)))
}

/**
 * s_i; the codec accepts a value without a schedule as Constant, and so does the interpreter (a plain
 * object passed from JavaScript).
 */
const stepSize = (schedule: Schedule | undefined, i: number): number => (schedule === undefined ? 1 : scheduleAt(schedule, i))

const update = match<Update, tf.Tensor, [StepAt]>({
  // x' + α·s_i·d
  Add: ({ offset }, at) =>
    tf.add(
      at.xAdv,
      tf.mul(direction(offset.of, at, `${at.bodyIndex}/`), effective(offset.alpha, offset.units, at.run.perSample) * stepSize(offset.schedule, at.iteration)),
    ),
  // x' ⊙ exp(s_i·d·ln α)
  Multiply: ({ factor }, at) =>
    multiplyStep(factor.of, effective(Math.log(factor.alpha), factor.units, at.run.perSample) * stepSize(factor.schedule, at.iteration), at),
})

/** The step's update then its constraints. Call inside the iteration's tidy. */
export const applyStep = (step: Step, at: StepAt): tf.Tensor5D =>
  applyConstraints(step.constraints, at.run.clean, update(step.update, at) as tf.Tensor5D, at.run.perSample)
