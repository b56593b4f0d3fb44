/**
 * Transfer rules of the constraints. A contraction toward x (ball and ratio projections except the
 * literal L2 reading, clip[lo ≤ 0, hi ≥ 1]) keeps every bound and the support, then sets its own.
 *
 * @since 0.2.0
 */
import { match } from '../../dsl/match.js'
import type { Constraint } from '../../dsl/types.js'
import { boundOf, meet, minOf } from './bounds.js'
import { hull, lose, type State } from './state.js'

/**
 * A constraint that moves each value toward x, never past it, and keeps x' = x where it holds: every
 * bound on |x' − x| or |log(x'/x)|, zeros and the support survive; the range widens to include [0, 1]
 * (where x lies). A literal ‖x'/x‖₂ bound does not survive: moving x'/x toward 1 can raise it.
 */
const contract = (s: State, label: string): State => {
  const t = { ...s, range: s.range === null ? null : hull(s.range, 0, 1) }
  return s.ratioL2?.reading === 'literal' ? lose(t, ['ratioL2'], `${label} moves x'/x toward 1, which can raise the literal ‖x'/x‖₂`) : t
}

/** The state after a constraint; `label` names it in reasons. */
export const constrain: (c: Constraint, s: State, label: string) => State = match<Constraint, State, [State, string]>({
  ProjectBall: (c, s, label) => {
    const t = contract(s, label)
    if (c.norm === 'l2') return { ...t, ballL2: meet(t.ballL2, boundOf(c.eps, c.units), 'other') }
    return c.units === 'absolute' ? { ...t, ballLinf: minOf(t.ballLinf, c.eps) } : t
  },
  ProjectRatio: (c, s, label) => {
    // L∞ reads ε as is, whatever the units (as the interpreters do).
    if (c.norm === 'linf') return { ...contract(s, label), ratioLinf: minOf(s.ratioLinf, c.eps), zeroFixed: true }
    const bound = boundOf(c.reading === 'log' ? Math.log(c.eps) : c.eps, c.units)
    if (c.reading !== 'literal') {
      const t = contract(s, label)
      const old = t.ratioL2?.reading === c.reading ? t.ratioL2.bound : null
      return { ...t, ratioL2: { reading: c.reading, bound: meet(old, bound, 'other') }, zeroFixed: true }
    }
    // Scales x'/x (over x > 0) toward 0: unchanged pixels move too, and away from x.
    const why = `${label} scales x'/x toward 0, which moves pixels away from x`
    const t = lose(s, ['ballLinf', 'ballL2', 'ratioLinf', 'support'], why)
    return { ...t, range: s.range === null ? null : hull(s.range, 0, 0), ratioL2: { reading: 'literal', bound }, zeroFixed: true }
  },
  Clip: (c, s, label) => {
    const clamp = (v: number) => Math.min(Math.max(v, c.lo), c.hi)
    const range = s.range === null ? { lo: c.lo, hi: c.hi } : { lo: clamp(s.range.lo), hi: clamp(s.range.hi) }
    if (c.lo <= 0 && c.hi >= 1) return { ...contract(s, label), range }
    const why = `${label} is narrower than [0, 1], so it moves clean pixels`
    const t = lose(s, ['ballLinf', 'ballL2', 'ratioLinf', 'ratioL2', 'support'], why)
    const zeros = c.lo <= 0 && c.hi >= 0 ? t : lose(t, ['zeroFixed'], `${label} moves zero pixels`)
    return { ...zeros, range }
  },
})

/** A constraint's name in reasons. */
export const constraintName: (c: Constraint) => string = match<Constraint, string>({
  ProjectBall: (c) => `${c.norm === 'linf' ? 'L∞' : 'L2'} ball`,
  ProjectRatio: (c) => (c.norm === 'linf' ? 'L∞ ratio projection' : `${c.reading} L2 ratio projection`),
  Clip: (c) => `clip to [${c.lo}, ${c.hi}]`,
})
