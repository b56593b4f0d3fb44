/**
 * Whether an attack is signal-dependent on the check's clips: attack(c·x) = c·attack(x) for c ∈ (0, 1].
 *
 * It holds when every step multiplies by α^(s_i·d) with d scale-free (a sign, a normalised direction,
 * or a momentum of directions each divided by its mean |·|: none grows with the gradient's size), the
 * start is clean or a ratio start, the constraints are ratio projections and clips that cannot act on
 * clips in [0, maxPixel], the loss's gradient sign does not depend on the clip's scale (no margin cap
 * κ), and the property can draw its own clip sizes (regions that fit every size, no per-sample
 * targets). maxPixel = hi / the largest ratio x'/x any iterate can reach.
 *
 * @since 0.2.0
 */
import { validateAttack } from '../../dsl/codec.js'
import { fold, match } from '../../dsl/match.js'
import { scheduleAt } from '../../dsl/schedule.js'
import type { Attack, Constraint, Init, Loss, Target, Update } from '../../dsl/types.js'

/**
 * The most values per sample the clips of `signalDependent` have: it draws with the kit's default
 * sizes (`clipArb`: T ≤ 3, H ≤ 4, W ≤ 4, C = 3). rms parameters are read at this N, their largest.
 */
const SIGNAL_MAX_VALUES = 3 * 4 * 4 * 3

/** Clips are drawn in [0, maxPixel]: the kit's default, unless a large ratio asks for less. */
const SIGNAL_DEFAULT_MAX_PIXEL = 0.5

type Reason = { readonly reason: string }
type Verdict<A> = A | Reason
const isReason = <A extends object>(v: Verdict<A>): v is Reason => 'reason' in v

/** Where the iterate is: the largest x'/x so far, and the clip's upper end hi (Infinity until a clip). */
interface Bound {
  readonly ratio: number
  readonly hi: number
}

const startBound = match<Init, Verdict<Bound>>({
  Clean: () => ({ ratio: 1, hi: Infinity }),
  // x ⊙ exp(U(−ln ε, ln ε)), clipped to [0, 1]
  UniformRatio: ({ eps }) => ({ ratio: eps, hi: 1 }),
  Uniform: () => ({ reason: 'its Uniform start does not scale with the clip' }),
  Fill: () => ({ reason: 'its Fill start does not scale with the clip' }),
})

/**
 * The largest |d| per value of a direction at the j-th run of its step (0-based), or null when it
 * follows the raw gradient, whose size depends on the clip. A sign and an L2-normalised direction are
 * at most 1; d / mean|d| is at most V (the values per sample), so a momentum is at most V·Σ_{k≤j} μ^k.
 */
const directionBound = fold<'Direction', number | null, [number]>('Direction', {
  Gradient: () => null,
  Sign: () => 1,
  Normalize: () => 1,
  MaskRegion: ({ of }) => of,
  Momentum: ({ decay }, j) => SIGNAL_MAX_VALUES * Array.from({ length: j + 1 }, (_, k) => decay ** k).reduce((a, b) => a + b, 0),
})

/** x'/x after a step's constraint, or why the constraint breaks signal dependence. */
const constrain = match<Constraint, Verdict<Bound>, [Bound, string]>({
  ProjectBall: (_c, _b, label) => ({ reason: `${label} projects onto an additive ball, which does not scale with the clip` }),
  // L∞ caps every value's ratio; 'literal' L2 may scale x'/x up (no per-value bound); log and deviation L2 keep it
  ProjectRatio: ({ norm, eps, reading }, b) => (norm === 'linf' ? { ...b, ratio: Math.min(b.ratio, eps) } : reading === 'literal' ? { ...b, ratio: Infinity } : b),
  Clip: ({ lo, hi }, b, label) => (lo > 0 || hi <= 0 ? { reason: `${label}'s clip to [${lo}, ${hi}] moves the clip's small values` } : { ...b, hi: Math.min(b.hi, hi) }),
})

/** x'/x after iteration i's update (the j-th run of its step), or why the update breaks signal dependence. */
const grow = match<Update, Verdict<Bound>, [Bound, number, number, string]>({
  Add: (_u, _b, _i, _j, label) => ({ reason: `${label} adds an offset, which does not scale with the clip` }),
  Multiply: ({ factor: { alpha, units, schedule, of } }, b, i, j, label) => {
    const d = directionBound(of, j)
    if (d === null) return { reason: `${label}'s factor follows the raw gradient, whose size depends on the clip` }
    // |ln(x'/x)| grows by at most |ln α|·s_i·|d| (times √N in rms units)
    const exponent = Math.abs(Math.log(alpha)) * scheduleAt(schedule, i) * d * (units === 'rms' ? Math.sqrt(SIGNAL_MAX_VALUES) : 1)
    return { ...b, ratio: b.ratio * Math.exp(exponent) }
  },
})

/** Whether the loss's gradient sign is the same at c·x as at x on the kit's bias-free 2-class linear models. */
const lossScales = match<Loss, Reason | undefined>({
  CrossEntropy: () => undefined,
  Margin: ({ confidence }) =>
    confidence === null ? undefined : { reason: `its margin is capped at κ = ${confidence}, and where the cap acts depends on the clip's scale` },
})

/** Whether the property can draw clips of its own batch sizes. */
const targetScales = match<Target, Reason | undefined>({
  Untargeted: () => undefined,
  Targeted: () => undefined,
  TargetedEach: ({ labels }) => ({ reason: `its ${labels.length} per-sample targets fix the batch size, and signalDependent draws clips of its own sizes` }),
})

/**
 * Whether attack(c·x) = c·attack(x) must hold on the linear models' clips in [0, maxPixel]: the
 * maxPixel below which no clip can act, or why it does not apply. Restarts keep it: every run scales,
 * and the best run per sample is the same at c·x (success and objective order are scale-invariant).
 */
export const signalDependence = (attack: Attack): { readonly maxPixel: number } | Reason => {
  if (validateAttack(attack, { clip: { T: 1, H: 1, W: 1 } }).length > 0)
    return { reason: 'its regions do not fit every clip size, and signalDependent draws clips of its own sizes' }
  const early = targetScales(attack.loss.target) ?? lossScales(attack.loss)
  if (early !== undefined) return early
  let b = startBound(attack.init)
  if (isReason(b)) return b
  let peak = b.ratio
  const count = attack.body.length
  for (let i = 0; i < attack.steps; i++) {
    const k = i % count
    const step = attack.body[k]!
    const label = count === 1 ? 'the step' : `step ${k}`
    let next = grow(step.update, b, i, Math.floor(i / count), label)
    // the iterate before its step's constraints act counts too
    if (!isReason(next)) peak = Math.max(peak, next.ratio)
    for (const c of step.constraints) if (!isReason(next)) next = constrain(c, next, label)
    if (isReason(next)) return next
    b = next
    peak = Math.max(peak, b.ratio)
  }
  if (!Number.isFinite(peak)) return { reason: "x'/x has no per-value bound, so its clip may act on any clip" }
  const maxPixel = Math.min(SIGNAL_DEFAULT_MAX_PIXEL, b.hi / peak)
  if (!(maxPixel >= 1e-6)) return { reason: `x'/x may reach ${peak.toPrecision(3)}, so its clip acts on all but clips below ${maxPixel.toPrecision(2)}` }
  return { maxPixel }
}
