/**
 * The reference interpreter's loop: x' ← init(x), then `steps` iterations of the body, the last
 * step's constraints re-applied at the end; with restarts, one run per seed and the best run per
 * sample.
 *
 * @since 0.2.0
 */
import type { ClipData } from '../../core/clip.js'
import { InputError } from '../../core/errors.js'
import { restartSeed } from '../../dsl/constructors.js'
import { match } from '../../dsl/match.js'
import { scheduleAt } from '../../dsl/schedule.js'
import type { Attack, Step, Update } from '../../dsl/types.js'
import type { Searched } from '../regions.js'
import { applyConstraints } from './constraints.js'
import { direction, type MomentumState } from './direction.js'
import { effective, geometry, type Geometry } from './geometry.js'
import { initialise } from './init.js'

/** ∇ of the attacker's objective (the one it ascends) at x', same layout as x'. */
export type GradientOracle = (xAdv: Float32Array) => Float32Array

/** How one sample of a run did: whether the attack succeeded on it, and its objective (higher is better). */
export interface Verdict {
  readonly success: boolean
  readonly objective: number
}

/** Judges a run's x' ([N, T, H, W, C]), one verdict per sample; called once per run, in run order. */
export type Judge = (xAdv: Float32Array) => ReadonlyArray<Verdict>

export interface ReferenceOptions {
  /** The seed of run 0 (default the attack's). */
  readonly seed?: number
  /** Masks of the searched rectangles, as a tensor run found them (`AttackResult.searched`). */
  readonly searched?: Searched
  /** Picks each sample's best run; needed when the attack has restarts > 1. */
  readonly judge?: Judge
}

/** What one iteration reads besides the update itself. */
interface Iteration {
  readonly xAdv: Float32Array
  readonly grad: Float32Array
  readonly g: Geometry
  readonly state: MomentumState
  /** The body step's index. */
  readonly step: number
  /** The iteration's index i over the attack's steps (for the schedule). */
  readonly i: number
}

/** Cap on a multiplicative step's exponent, as the tensor interpreter's (exp(88) < float32's max; 0 stays 0). */
const MAX_EXPONENT = 88

const update = match<Update, Float32Array, [Iteration]>({
  // x' + α·s_i·d
  Add: ({ offset }, it) => {
    const d = direction(offset.of, { ...it, path: '' })
    const a = effective(offset.alpha, offset.units, it.g) * scheduleAt(offset.schedule, it.i)
    return it.xAdv.map((e, k) => e + a * d[k]!)
  },
  // x' ⊙ exp(min(s_i·d·ln α, 88))
  Multiply: ({ factor }, it) => {
    const d = direction(factor.of, { ...it, path: '' })
    const logAlpha = effective(Math.log(factor.alpha), factor.units, it.g) * scheduleAt(factor.schedule, it.i)
    return it.xAdv.map((e, k) => e * Math.exp(Math.min(d[k]! * logAlpha, MAX_EXPONENT)))
  },
})

/** One run of `attack` (restarts aside) with the seed `seed`. */
const runOnce = (attack: Attack, gradientOf: GradientOracle, x: ClipData, seed: number, searched: Searched | undefined) => {
  const g = geometry(x.shape, seed, searched)
  const state: MomentumState = new Map()
  let xAdv = initialise(attack.init, x.data, g)
  for (let i = 0; i < attack.steps; i++) {
    const step = i % attack.body.length
    const { update: u, constraints } = attack.body[step] as Step
    xAdv = applyConstraints(constraints, x.data, update(u, { xAdv, grad: gradientOf(xAdv), g, state, step, i }), g)
  }
  const last = attack.body[(attack.steps - 1) % attack.body.length] as Step
  return applyConstraints(last.constraints, x.data, xAdv, g)
}

/** Successful before unsuccessful, then the higher objective; a tie keeps the earlier run. */
const better = (a: Verdict, b: Verdict): boolean => (a.success !== b.success ? a.success : a.objective > b.objective)

const verdicts = (judge: Judge, xAdv: Float32Array, N: number): ReadonlyArray<Verdict> => {
  const v = judge(xAdv)
  if (v.length !== N) throw new InputError(`runReference: options.judge gave ${v.length} verdicts for a batch of ${N} samples`)
  return v
}

/**
 * Runs `attack` on `x` and returns x' (before any model evaluation). With restarts R > 1, run r uses
 * the seed `restartSeed(seed, r)` and each sample keeps its best run by `options.judge`.
 */
export const runReference = (attack: Attack, gradientOf: GradientOracle, x: ClipData, options: ReferenceOptions = {}): Float32Array => {
  const seed = options.seed ?? attack.seed
  const R = attack.restarts
  if (!Number.isInteger(R) || R < 1) throw new InputError(`runReference: attack.restarts: expected an integer ≥ 1 (a restart count), got ${R}`)
  const judge = options.judge
  if (R > 1 && judge === undefined)
    throw new InputError(`runReference: attack.restarts is ${R}: picking each sample's best run needs options.judge`)
  const first = runOnce(attack, gradientOf, x, seed, options.searched)
  if (R === 1 || judge === undefined) return first
  const [N, size] = [x.shape[0], first.length / x.shape[0]]
  const bestOf = [...verdicts(judge, first, N)]
  const best = Float32Array.from(first)
  for (let r = 1; r < R; r++) {
    const xAdv = runOnce(attack, gradientOf, x, restartSeed(seed, r), options.searched)
    verdicts(judge, xAdv, N).forEach((v, n) => {
      if (!better(v, bestOf[n]!)) return
      bestOf[n] = v
      best.set(xAdv.subarray(n * size, (n + 1) * size), n * size)
    })
  }
  return best
}
