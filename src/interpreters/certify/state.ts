/**
 * The certifier's abstract state: the certificate's guarantees, why each absent one is absent, and the
 * bounds implied by the others (for x ∈ [0, 1]).
 *
 * @since 0.2.0
 */
import { match } from '../../dsl/match.js'
import type { Region } from '../../dsl/types.js'
import { regionKey } from '../regions.js'
import { ZERO, meet, minOf } from './bounds.js'
import type { Certificate, Support } from './model.js'

export type Guarantee = 'range' | 'ballLinf' | 'ballL2' | 'ratioLinf' | 'ratioL2' | 'zeroFixed' | 'support'

/** The certificate's guarantees, and why each absent one is absent (the latest step that lost it). */
export interface State extends Pick<Certificate, Guarantee> {
  readonly why: Readonly<Partial<Record<Guarantee, string>>>
}

/** What each guarantee is when it is not held. */
const ABSENT: Pick<State, Guarantee> = {
  range: null,
  ballLinf: null,
  ballL2: null,
  ratioLinf: null,
  ratioL2: null,
  zeroFixed: false,
  support: { _tag: 'Everywhere' },
}

/** Drops the guarantees `gs`, recording `reason` for each. */
export const lose = (s: State, gs: ReadonlyArray<Guarantee>, reason: string): State =>
  gs.reduce<State>((acc, g) => ({ ...acc, [g]: ABSENT[g], why: { ...acc.why, [g]: reason } }), s)

/** Whether the state holds guarantee g. */
export const HELD: { readonly [G in Guarantee]: (s: State) => boolean } = {
  range: (s) => s.range !== null,
  ballLinf: (s) => s.ballLinf !== null,
  ballL2: (s) => s.ballL2 !== null,
  ratioLinf: (s) => s.ratioLinf !== null,
  ratioL2: (s) => s.ratioL2 !== null,
  zeroFixed: (s) => s.zeroFixed,
  support: (s) => confines(s.support),
}

/** False for the support that says nothing (every pixel may change). */
export const confines = match<Support, boolean>({ Nothing: () => true, Everywhere: () => false, Regions: () => true })

export const UNIT = { lo: 0, hi: 1 } as const
export const hull = (r: { readonly lo: number; readonly hi: number }, lo: number, hi: number) => ({
  lo: Math.min(r.lo, lo),
  hi: Math.max(r.hi, hi),
})

/** s ∪ `added` (each region listed once). */
export const widen = (s: Support, added: Region | 'everywhere'): Support => {
  const regions = (listed: ReadonlyArray<Region>, region: Region): Support => {
    const all = [...listed, region]
    return { _tag: 'Regions', regions: all.filter((r, i) => all.findIndex((q) => regionKey(q) === regionKey(r)) === i) }
  }
  if (added === 'everywhere') return { _tag: 'Everywhere' }
  return match<Support, Support>({
    Nothing: () => regions([], added),
    Everywhere: (everywhere) => everywhere,
    Regions: (r) => regions(r.regions, added),
  })(s)
}

/** x' = x. */
export const CLEAN: State = {
  range: UNIT,
  ballLinf: 0,
  ballL2: ZERO,
  ratioLinf: 1,
  ratioL2: { reading: 'log', bound: ZERO },
  zeroFixed: true,
  support: { _tag: 'Nothing' },
  why: {},
}

/**
 * Bounds implied by the others, kept only where tighter (x ∈ [0, 1]): ratio ε with zeros fixed
 * ⇒ |x'−x| ≤ (ε−1)·x ≤ ε−1 and x' ∈ [0, ε]; ‖x'−x‖₂ ≤ b ⇒ |x'−x| ≤ b; |x'−x| ≤ b ⇒ ‖x'−x‖₂ ≤ b·√N
 * and x' ∈ [−b, 1+b]; ratio ε ⇒ ‖log(x'/x)‖₂ ≤ ln ε·√N.
 */
export const saturate = (s: State): State => {
  const ratioBall = s.ratioLinf !== null && s.zeroFixed
  const fromRatio = ratioBall ? minOf(s.ballLinf, s.ratioLinf! - 1) : s.ballLinf
  const ballLinf = s.ballL2 !== null && s.ballL2.rms === 0 ? minOf(fromRatio, s.ballL2.abs) : fromRatio
  const implied = [
    ...(s.range === null ? [] : [s.range]),
    ...(ratioBall ? [{ lo: 0, hi: s.ratioLinf! }] : []),
    ...(ballLinf === null ? [] : [{ lo: -ballLinf, hi: 1 + ballLinf }]),
  ]
  const range = implied.length === 0 ? null : implied.reduce((p, q) => ({ lo: Math.max(p.lo, q.lo), hi: Math.min(p.hi, q.hi) }))
  const ballL2 = ballLinf === null ? s.ballL2 : meet(s.ballL2, { abs: 0, rms: ballLinf }, 'old')
  const ratioL2 =
    s.ratioLinf !== null && (s.ratioL2 === null || s.ratioL2.reading === 'log')
      ? { reading: 'log' as const, bound: meet(s.ratioL2?.bound ?? null, { abs: 0, rms: Math.log(s.ratioLinf) }, 'old') }
      : s.ratioL2
  return { ...s, range, ballLinf, ballL2, ratioL2 }
}
