/**
 * Transfer rules of the updates, with a = |α|·sup|s_i| (= |α| for every valid schedule: see direction.ts):
 * - x' + α·s_i·d: ‖x'−x‖∞ grows by a·b∞, ‖x'−x‖₂ by a·b₂ (a·√N with rms units); ratios, zeros, range lost;
 * - x' ⊙ α^(s_i·d): max(x'/x, x/x') grows by the factor e^(|ln α|·sup|s_i|·b∞), ‖log(x'/x)‖₂ by
 *   |ln α|·sup|s_i|·b₂; balls, range lost.
 * The support widens by the direction's region.
 *
 * @since 0.2.0
 */
import { match } from '../../dsl/match.js'
import type { Direction, Region, Units, Update } from '../../dsl/types.js'
import { plus, scaledL2, times } from './bounds.js'
import { directionFacts, schedulePeak, type DirectionFacts } from './direction.js'
import { lose, widen, type State } from './state.js'

/** Where a transfer runs: its step's name in reasons, and the attack's iteration count (for schedules). */
export interface StepContext {
  readonly label: string
  readonly steps: number
}

const confine = (s: State, region: Region | 'everywhere', label: string): State =>
  region === 'everywhere' ? lose(s, ['support'], `${label}'s update is not masked`) : { ...s, support: widen(s.support, region) }

/** |k|·peak with 0·∞ = 0. */
const stepSize = (k: number, peak: number) => (k === 0 ? 0 : Math.abs(k) * peak)

/** The per-value size of a step of size a in `units` along d: a·b∞, or ∞ for a non-zero rms step. */
const perValue = (a: number, units: Units, f: DirectionFacts) => (units === 'absolute' ? times(a, f.linf) : a === 0 ? 0 : Infinity)

/** x' ← x' + α·s_i·d. */
const addOffset = (s: State, alpha: number, units: Units, peak: number, d: Direction, label: string): State => {
  const f = directionFacts(d)
  const a = stepSize(alpha, peak)
  const linfStep = perValue(a, units, f)
  const l2Step = scaledL2(a, units, f.l2)
  const unbounded = f.raw !== null ? `the raw ${f.raw}` : units === 'rms' ? 'a per-value (rms) step α·√N' : 'a schedule with no bound on its multiplier'
  let t = lose(s, ['range'], `${label} adds an offset and no clip follows`)
  t = lose(t, ['ratioLinf', 'ratioL2'], `${label} adds an additive offset after which no ratio projection follows`)
  t = lose(t, ['zeroFixed'], `${label} adds an additive offset, which moves zero pixels, and no ratio projection follows`)
  t = Number.isFinite(linfStep)
    ? { ...t, ballLinf: s.ballLinf === null ? null : s.ballLinf + linfStep }
    : lose(t, ['ballLinf'], `${label}'s offset follows ${unbounded}, with no per-value bound, and no L∞ ball projection follows`)
  t =
    l2Step !== null
      ? { ...t, ballL2: s.ballL2 === null ? null : plus(s.ballL2, l2Step) }
      : lose(t, ['ballL2'], `${label}'s offset has no L2 bound independent of the clip size, and no L2 ball projection follows`)
  return confine(t, f.region, label)
}

/** x' ← x' ⊙ α^(s_i·d) = x' ⊙ exp(s_i·d·ln α). */
const multiplyFactor = (s: State, alpha: number, units: Units, peak: number, d: Direction, label: string): State => {
  const f = directionFacts(d)
  const a = stepSize(Math.log(alpha), peak)
  const logStep = perValue(a, units, f)
  const logL2Step = scaledL2(a, units, f.l2)
  const unbounded = f.raw !== null ? `raw ${f.raw}` : units === 'rms' ? 'per-value (rms) exponent' : 'a schedule with no bound on its multiplier'
  let t = lose(s, ['range'], `${label} multiplies by a factor and no clip follows`)
  t = lose(t, ['ballLinf', 'ballL2'], `${label} multiplies by a factor after which no ball projection follows`)
  t = Number.isFinite(logStep)
    ? { ...t, ratioLinf: s.ratioLinf === null ? null : s.ratioLinf * Math.exp(logStep) }
    : lose(t, ['ratioLinf'], `${label}'s factor has no per-value bound (${unbounded}) and no L∞ ratio projection follows`)
  if (s.ratioL2 === null) return confine(t, f.region, label)
  t =
    s.ratioL2.reading !== 'log'
      ? lose(t, ['ratioL2'], `${label} multiplies by a factor, which the ${s.ratioL2.reading} L2 ratio bound does not track`)
      : logL2Step === null
        ? lose(t, ['ratioL2'], `${label}'s factor has no L2 bound on log(x'/x) independent of the clip size`)
        : { ...t, ratioL2: { reading: 'log', bound: plus(s.ratioL2.bound, logL2Step) } }
  return confine(t, f.region, label)
}

/** The state after an update. */
export const update: (u: Update, s: State, at: StepContext) => State = match<Update, State, [State, StepContext]>({
  Add: ({ offset: o }, s, { label, steps }) => addOffset(s, o.alpha, o.units, schedulePeak(o.schedule, steps), o.of, label),
  Multiply: ({ factor: f }, s, { label, steps }) => multiplyFactor(s, f.alpha, f.units, schedulePeak(f.schedule, steps), f.of, label),
})
