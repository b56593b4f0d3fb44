/**
 * certify: the init's abstract state, then every step's update and constraints for all iterations
 * (iteration i runs body[i mod body.length]), each followed by the implied bounds (`saturate`).
 *
 * The loss (cross-entropy or margin, any target) only chooses the gradient, which the transfer rules
 * already take as arbitrary: the certificate does not depend on it. With restarts, each output sample
 * is one run's output, so every per-value and per-sample bound holds unchanged; only the draws of
 * random regions differ between runs (`Certificate.restarts` says how many, `verify` checks each
 * sample against the run that fits it).
 *
 * @since 0.1.0
 */
import type { Attack, Step } from '../../dsl/types.js'
import { below, finite, num, showBound } from './bounds.js'
import { constrain, constraintName } from './constraint.js'
import { initState } from './init.js'
import type { Certificate } from './model.js'
import { HELD, lose, saturate, type Guarantee, type State } from './state.js'
import { update, type StepContext } from './update.js'

const runStep = (s: State, step: Step, at: StepContext): State =>
  step.constraints.reduce(
    (acc, c, k) => saturate(constrain(c, acc, `${at.label}'s ${constraintName(c)} (constraint ${k})`)),
    saturate(update(step.update, s, at)),
  )

/** A bound on |x' − x| this large says nothing the range does not: |x' − x| ≤ max(hi, 1 − lo). */
const rangeBall = (range: State['range']) => (range === null ? Infinity : Math.max(range.hi, 1 - range.lo))

/** Drops infinite bounds and ball bounds no tighter than the range implies, with reasons. */
const finish = (s: State, steps: number): State => {
  const overflow = `the bound overflows after ${steps} steps`
  let t = s
  if (t.ballLinf !== null && !Number.isFinite(t.ballLinf)) t = lose(t, ['ballLinf'], overflow)
  if (t.ballL2 !== null && !finite(t.ballL2)) t = lose(t, ['ballL2'], overflow)
  if (t.ratioLinf !== null && !Number.isFinite(t.ratioLinf)) t = lose(t, ['ratioLinf'], overflow)
  if (t.ratioL2 !== null && !finite(t.ratioL2.bound)) t = lose(t, ['ratioL2'], overflow)
  const r = rangeBall(t.range)
  const vacuous = (b: string) => `the accumulated bound ${b} is no tighter than the range [${t.range?.lo}, ${t.range?.hi}] implies (${num(r)})`
  if (t.ballLinf !== null && t.ballLinf >= r) t = lose(t, ['ballLinf'], vacuous(num(t.ballLinf)))
  if (t.ballL2 !== null && below({ abs: 0, rms: r }, t.ballL2)) t = lose(t, ['ballL2'], vacuous(showBound(t.ballL2)))
  return t
}

/** How a missing guarantee's reason begins, in the order reasons are listed. */
const REASON_PREFIX: Readonly<Record<Guarantee, string>> = {
  range: 'no range',
  ballLinf: 'no L∞ ball',
  ballL2: 'no L2 ball',
  ratioLinf: 'no L∞ ratio bound',
  ratioL2: 'no L2 ratio bound',
  zeroFixed: 'zero pixels may change',
  support: 'every pixel may change',
}

/** The guarantees every output of `attack` has, with the reasons for those it lacks. */
export const certify = (attack: Attack): Certificate => {
  let s = saturate(initState(attack.init))
  const count = attack.body.length
  let cycleStart = JSON.stringify(s)
  for (let i = 0; i < attack.steps && count > 0; ) {
    // The transfer does not depend on i (schedules enter through sup|s_i|), so cycles can be skipped.
    s = runStep(s, attack.body[i % count]!, { label: count === 1 ? 'the step' : `step ${i % count}`, steps: attack.steps })
    i++
    if (i % count !== 0) continue
    // A full cycle that changed nothing changes nothing ever after: skip to the last partial cycle.
    const now = JSON.stringify(s)
    if (now === cycleStart) i = attack.steps - ((attack.steps - i) % count)
    cycleStart = now
  }
  s = finish(s, attack.steps)
  const reasons = (Object.keys(REASON_PREFIX) as Guarantee[]).flatMap((g) =>
    HELD[g](s) ? [] : [`${REASON_PREFIX[g]}: ${s.why[g] ?? 'never established'}`],
  )
  return {
    attack: attack.name,
    seed: attack.seed,
    restarts: attack.restarts,
    range: s.range,
    ballLinf: s.ballLinf,
    ballL2: s.ballL2,
    ratioLinf: s.ratioLinf,
    ratioL2: s.ratioL2,
    zeroFixed: s.zeroFixed,
    support: s.support,
    reasons,
    assumptions: ['the clean clip x lies in [0, 1]'],
  }
}
