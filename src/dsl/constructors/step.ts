/**
 * Steps: an update, then constraints applied in order (data-last, for `pipe`).
 *
 * @since 0.1.0
 */
import type { BallNorm, Constraint, Factor, Offset, RatioReading, Step } from '../types.js'
import type { UnitsOption } from './options.js'

/** x' ← x' + offset (no constraint yet). */
export const add = (offset: Offset): Step => ({ _tag: 'Step', update: { _tag: 'Add', offset }, constraints: [] })

/** x' ← x' ⊙ factor (no constraint yet). */
export const multiply = (factor: Factor): Step => ({
  _tag: 'Step',
  update: { _tag: 'Multiply', factor },
  constraints: [],
})

/** Appends a constraint to a step. */
export const constrain =
  (constraint: Constraint) =>
  (step: Step): Step => ({ ...step, constraints: [...step.constraints, constraint] })

/** Then project onto the additive ball ‖x' − x‖ ≤ ε (per sample). */
export const projectBall = (options: { readonly norm: BallNorm; readonly eps: number } & UnitsOption) =>
  constrain({ _tag: 'ProjectBall', norm: options.norm, eps: options.eps, units: options.units ?? 'absolute' })

/** Then project onto the ratio ball around x; `reading` defaults to 'log'. */
export const projectRatio = (
  options: { readonly norm: BallNorm; readonly eps: number; readonly reading?: RatioReading } & UnitsOption,
) =>
  constrain({
    _tag: 'ProjectRatio',
    norm: options.norm,
    eps: options.eps,
    reading: options.reading ?? 'log',
    units: options.units ?? 'absolute',
  })

/** Then clip every value to [lo, hi] (default [0, 1]). */
export const clip = (lo = 0, hi = 1) => constrain({ _tag: 'Clip', lo, hi })
