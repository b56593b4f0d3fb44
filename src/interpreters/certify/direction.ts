/**
 * What a direction and a schedule contribute to a step's bounds.
 *
 * A direction d has a per-value bound b∞ = max|d| and an L2 bound b₂ ≥ ‖d‖₂ per sample (abs + rms·√N,
 * or none), and is 0 outside a region:
 * - g: (∞, none), everywhere;
 * - sign(d): (1, √N); d/‖d‖₂ per sample (1, 1), per frame (1, √T ≤ √N); both 0 where d is 0;
 * - mask(R, d): d's bounds, 0 outside R ∩ (d's region);
 * - momentum(μ, d): m = Σ_k μ^(i−k)·d_k/mean|d_k|. Each term has mean |·| = 1 over the sample's N
 *   values, so one value can reach N and ‖·‖₂ ∈ [√N, N]: (∞, none), whatever d is — only a sign or
 *   a normalisation on top bounds it. Every term is d_k times a positive number (0 where d_k is all
 *   zero) and m starts at 0, so m is 0 wherever every d_k is: d's region (the masks are fixed per run).
 *
 * A schedule scales the step size at iteration i by s_i; per-step bounds use sup_i |s_i|, which is 1
 * for every schedule the constructors and codec accept (s_0 = 1, s_i ∈ (0, 1]): α itself bounds
 * every step, so the abstract transfer is the same at every iteration.
 *
 * @since 0.2.0
 */
import { fold, match } from '../../dsl/match.js'
import type { Direction, Region, Schedule } from '../../dsl/types.js'
import { regionKey } from '../regions.js'
import type { Bound } from './model.js'

/** A direction's per-value bound b∞, L2 bound b₂ (null: unbounded) and the region it is confined to. */
export interface DirectionFacts {
  readonly linf: number
  readonly l2: Bound | null
  readonly region: Region | 'everywhere'
  /** The unnormalised direction that leaves b∞ unbounded ('gradient', 'momentum'), for reasons; null when bounded. */
  readonly raw: string | null
}

export const directionFacts: (d: Direction) => DirectionFacts = fold<'Direction', DirectionFacts>('Direction', {
  Gradient: () => ({ linf: Infinity, l2: null, region: 'everywhere', raw: 'gradient' }),
  Sign: ({ of }) => ({ ...of, linf: 1, l2: { abs: 0, rms: 1 }, raw: null }),
  // per frame: each frame has norm ≤ 1, so ‖d‖₂ ≤ √T ≤ √N
  Normalize: ({ scope, of }) => ({ ...of, linf: 1, l2: scope === 'sample' ? { abs: 1, rms: 0 } : { abs: 0, rms: 1 }, raw: null }),
  MaskRegion: ({ region, of }) => ({
    ...of,
    region: of.region === 'everywhere' || regionKey(of.region) === regionKey(region) ? region : { _tag: 'Intersection', regions: [region, of.region] },
  }),
  Momentum: ({ of }) => ({ ...of, linf: Infinity, l2: null, raw: 'momentum' }),
})

/**
 * sup |s_i| over the iterations 0 ≤ i ≤ `last`: 1 for a schedule in (0, 1] (s_0 = 1), more only for a
 * hand-built one outside it (rate^i and factor^⌊i/every⌋ are monotone in i: the sup is at an end).
 */
const PEAK = match<Schedule, number, [number]>({
  Constant: () => 1,
  Exponential: ({ rate }, last) => Math.max(1, Math.abs(rate) ** last),
  StepDecay: ({ every, factor }, last) => Math.max(1, Math.abs(factor) ** Math.floor(last / every)),
})

/** The largest multiplier `schedule` gives any of `steps` iterations; ∞ when it has none (NaN). */
export const schedulePeak = (schedule: Schedule, steps: number): number => {
  const p = PEAK(schedule, Math.max(steps - 1, 0))
  return Number.isNaN(p) ? Infinity : p
}
