/**
 * The abstract state after the init, per kind of start (x ∈ [0, 1]).
 *
 * @since 0.2.0
 */
import { match } from '../../dsl/match.js'
import type { Init, Region } from '../../dsl/types.js'
import { regionText } from '../pretty.js'
import { boundOf } from './bounds.js'
import type { Support } from './model.js'
import { CLEAN, UNIT, hull, lose, type State } from './state.js'

const where = (region: Region | undefined): Support => (region ? { _tag: 'Regions', regions: [region] } : { _tag: 'Everywhere' })

const unmasked = (region: Region | undefined, s: State): State =>
  region ? s : { ...s, why: { ...s.why, support: 'the random start changes every pixel' } }

export const initState: (init: Init) => State = match<Init, State>({
  Clean: () => CLEAN,
  // x' = clip[0,1](x + δ): the clip moves toward x ∈ [0, 1], so |x' − x| ≤ |δ|.
  Uniform: (init) => {
    const s = lose(CLEAN, ['ratioLinf', 'ratioL2'], 'the additive random start moves each pixel by an offset that ignores its value')
    const t = lose(s, ['zeroFixed'], 'the additive random start moves zero pixels')
    const perValue =
      init.units === 'absolute'
        ? { ...t, ballLinf: init.eps }
        : lose(t, ['ballLinf'], `the random start's radius is per value (rms), ${init.eps}·√N, with no per-value bound independent of the clip size`)
    const ball: State =
      init.norm === 'l2' ? { ...perValue, ballL2: boundOf(init.eps, init.units) } : lose(perValue, ['ballL2'], 'the L∞ random start has no L2 bound')
    return unmasked(init.region, { ...ball, support: where(init.region) })
  },
  // x' = clip[0,1](x ⊙ exp(u)), |u| ≤ ln ε: zeros stay zero, the clip moves toward x.
  UniformRatio: (init) => {
    const s = { ...CLEAN, ratioLinf: init.eps, ratioL2: null, support: where(init.region) }
    return unmasked(init.region, lose(s, ['ballLinf', 'ballL2'], 'the multiplicative random start has no additive ball'))
  },
  // x' = v inside the region, x outside: |x' − x| ≤ max(|v|, |1 − v|) for x ∈ [0, 1].
  Fill: (init) => {
    const s = lose(CLEAN, ['ratioLinf', 'ratioL2'], `the start fills ${regionText(init.region)} with ${init.value}, whatever the pixel's value`)
    const t = init.value === 0 ? s : lose(s, ['zeroFixed'], `the start fills ${regionText(init.region)} with ${init.value}, zero pixels too`)
    return {
      ...lose(t, ['ballL2'], 'the filled start has no L2 bound'),
      range: hull(UNIT, init.value, init.value),
      ballLinf: Math.max(Math.abs(init.value), Math.abs(1 - init.value)),
      support: where(init.region),
    }
  },
})
