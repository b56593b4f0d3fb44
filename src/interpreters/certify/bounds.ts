/**
 * Arithmetic on bounds of the form abs + rms·√N, and how derived quantities are printed.
 *
 * @since 0.2.0
 */
import type { Units } from '../../dsl/types.js'
import type { Bound } from './model.js'

export const ZERO: Bound = { abs: 0, rms: 0 }
export const plus = (a: Bound, b: Bound): Bound => ({ abs: a.abs + b.abs, rms: a.rms + b.rms })
export const finite = (b: Bound) => Number.isFinite(b.abs) && Number.isFinite(b.rms)
/** a ≤ b for every N (both coefficients). */
export const below = (a: Bound, b: Bound) => a.abs <= b.abs && a.rms <= b.rms
/** A parameter read in `units`: ε, or ε·√N. */
export const boundOf = (value: number, units: Units): Bound => (units === 'rms' ? { abs: 0, rms: value } : { abs: value, rms: 0 })
/** k·b with 0·∞ = 0 (a zero step adds nothing, even to an unbounded direction). */
export const times = (k: number, b: number) => (k === 0 ? 0 : k * b)

/**
 * The L2 bound of a·d for a step size a ≥ 0 in `units` ('rms' adds a factor √N); null when unbounded —
 * including √N·√N = N, which a Bound cannot express.
 */
export const scaledL2 = (a: number, units: Units, b: Bound | null): Bound | null => {
  if (a === 0) return ZERO
  if (b === null) return null
  if (units === 'absolute') return { abs: a * b.abs, rms: a * b.rms }
  return b.rms === 0 ? { abs: 0, rms: a * b.abs } : null
}

/** Both `old` and `other` hold: the smaller when comparable, else `prefer` ('old' or 'other'). */
export const meet = (old: Bound | null, other: Bound, prefer: 'old' | 'other'): Bound => {
  if (old === null) return other
  if (below(old, other)) return old
  if (below(other, old)) return other
  return prefer === 'old' ? old : other
}

export const minOf = (a: number | null, b: number) => (a === null ? b : Math.min(a, b))

/** A derived quantity, to 6 significant digits. */
export const num = (v: number) => String(Number(v.toPrecision(6)))

export const showBound = (b: Bound): string =>
  b.rms === 0 ? num(b.abs) : b.abs === 0 ? `${num(b.rms)}·√N` : `${num(b.abs)} + ${num(b.rms)}·√N`
