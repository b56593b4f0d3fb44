/**
 * The certifier: what an attack's structure guarantees about every output, derived by abstract
 * interpretation — the init's abstract state, then every step's update and constraints, for all
 * iterations (iteration i runs body[i mod body.length]) — and a verifier that checks a concrete
 * output against it. Assumes the clean clip x ∈ [0, 1]; N = T·H·W·C values per sample.
 *
 * The abstract state is the certificate's fields. Transfer rules, in brief:
 * - a direction d has a per-value bound b∞ and an L2 bound b₂: g (∞, ∞), sign (1, √N),
 *   g/‖g‖₂ per sample (1, 1), per frame (1, √T ≤ √N); a mask keeps them and confines the support;
 * - x' + α·d: ‖x'−x‖∞ grows by |α|·b∞, ‖x'−x‖₂ by |α|·b₂ (α·√N with rms units); ratios, zeros, range lost;
 * - x' ⊙ α^d: max(x'/x, x/x') grows by the factor α^b∞, ‖log(x'/x)‖₂ by |ln α|·b₂; balls, range lost;
 * - a contraction toward x (ball and ratio projections except the literal L2 reading, clip[lo ≤ 0, hi ≥ 1])
 *   keeps every bound and the support, then sets its own;
 * - after each update and constraint, bounds implied by others are tightened: ratio ε with zeros fixed
 *   ⇒ |x'−x| ≤ (ε−1)·x ≤ ε−1 and x' ∈ [0, ε]; ‖x'−x‖₂ ≤ b ⇒ |x'−x| ≤ b; |x'−x| ≤ b ⇒ ‖x'−x‖₂ ≤ b·√N
 *   and x' ∈ [−b, 1+b]; ratio ε ⇒ ‖log(x'/x)‖₂ ≤ ln ε·√N.
 *
 * @example
 * const c = certify(attacks.multLinf())   // ratioLinf 1.04, zeroFixed, range [0, 1], ballLinf 0.04, …
 * verify(c, x, xAdv)                      // [] when xAdv keeps every promise
 *
 * @since 0.1.0
 */
import { absurd } from 'fp-ts/lib/function.js'
import type { Attack, Constraint, Direction, Init, RatioReading, Region, Step, Units } from '../dsl/types.js'
import { regionText } from './pretty.js'
import { batchMask, regionKey, searchedIn, type FrameGeometry, type Searched } from './regions.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/** A bound that may scale with the clip: value = abs + rms·√N (N = T·H·W·C values per sample). */
export interface Bound {
  readonly abs: number
  readonly rms: number
}

/** Where x' may differ from x (a union of regions); outside, x' = x bit-identically. */
export type Support =
  | { readonly _tag: 'Nothing' }
  | { readonly _tag: 'Everywhere' }
  | { readonly _tag: 'Regions'; readonly regions: ReadonlyArray<Region> }

export interface Certificate {
  /** The attack's name. */
  readonly attack: string
  /** The seed the run's random regions are drawn from (needed to check a support of random regions). */
  readonly seed: number
  /** x' ∈ [lo, hi]. */
  readonly range: { readonly lo: number; readonly hi: number } | null
  /** ‖x' − x‖∞ ≤ value. */
  readonly ballLinf: number | null
  /** ‖x' − x‖₂ ≤ value, per sample. */
  readonly ballL2: Bound | null
  /** For x > 0: 1/ε ≤ x'/x ≤ ε. */
  readonly ratioLinf: number | null
  /**
   * Per sample, with the ratio taken as 1 where x = 0: 'log' ‖log(x'/x)‖₂, 'literal' ‖x'/x‖₂ (summed
   * over x > 0 only, as the interpreters project it), 'deviation' ‖x'/x − 1‖₂ ≤ bound.
   */
  readonly ratioL2: { readonly reading: RatioReading; readonly bound: Bound } | null
  /** x = 0 ⇒ x' = 0. */
  readonly zeroFixed: boolean
  readonly support: Support
  /** One sentence per missing guarantee: why it is missing, naming the step. */
  readonly reasons: ReadonlyArray<string>
  readonly assumptions: ReadonlyArray<string>
}

// -------------------------------------------------------------------------------------------------
// bounds
// -------------------------------------------------------------------------------------------------

const ZERO: Bound = { abs: 0, rms: 0 }
const plus = (a: Bound, b: Bound): Bound => ({ abs: a.abs + b.abs, rms: a.rms + b.rms })
const finite = (b: Bound) => Number.isFinite(b.abs) && Number.isFinite(b.rms)
/** a ≤ b for every N (both coefficients). */
const below = (a: Bound, b: Bound) => a.abs <= b.abs && a.rms <= b.rms
/** A parameter read in `units`: ε, or ε·√N. */
const boundOf = (value: number, units: Units): Bound => (units === 'rms' ? { abs: 0, rms: value } : { abs: value, rms: 0 })
/** k·b with 0·∞ = 0 (a zero step adds nothing, even to an unbounded direction). */
const times = (k: number, b: number) => (k === 0 ? 0 : k * b)

/**
 * The L2 bound of α·d for a parameter α in `units` ('rms' adds a factor √N); null when unbounded —
 * including √N·√N = N, which a Bound cannot express.
 */
const scaledL2 = (alpha: number, units: Units, b: Bound | null): Bound | null => {
  const a = Math.abs(alpha)
  if (a === 0) return ZERO
  if (b === null) return null
  if (units === 'absolute') return { abs: a * b.abs, rms: a * b.rms }
  return b.rms === 0 ? { abs: 0, rms: a * b.abs } : null
}

/** Both `old` and `other` hold: the smaller when comparable, else `prefer` ('old' or 'other'). */
const meet = (old: Bound | null, other: Bound, prefer: 'old' | 'other'): Bound => {
  if (old === null) return other
  if (below(old, other)) return old
  if (below(other, old)) return other
  return prefer === 'old' ? old : other
}

const minOf = (a: number | null, b: number) => (a === null ? b : Math.min(a, b))

// -------------------------------------------------------------------------------------------------
// abstract state
// -------------------------------------------------------------------------------------------------

type Guarantee = 'range' | 'ballLinf' | 'ballL2' | 'ratioLinf' | 'ratioL2' | 'zeroFixed' | 'support'

/** The certificate's guarantees, and why each absent one is absent (the latest step that lost it). */
interface State extends Pick<Certificate, Guarantee> {
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
const lose = (s: State, gs: ReadonlyArray<Guarantee>, reason: string): State =>
  gs.reduce<State>((acc, g) => ({ ...acc, [g]: ABSENT[g], why: { ...acc.why, [g]: reason } }), s)

const UNIT = { lo: 0, hi: 1 } as const
const hull = (r: { readonly lo: number; readonly hi: number }, lo: number, hi: number) => ({ lo: Math.min(r.lo, lo), hi: Math.max(r.hi, hi) })

const regionsOf = (s: Support): ReadonlyArray<Region> => (s._tag === 'Regions' ? s.regions : [])

/** s ∪ `added` (each region listed once). */
const widen = (s: Support, added: Region | 'everywhere'): Support => {
  if (added === 'everywhere' || s._tag === 'Everywhere') return { _tag: 'Everywhere' }
  const regions = [...regionsOf(s), added]
  return { _tag: 'Regions', regions: regions.filter((r, i) => regions.findIndex((q) => regionKey(q) === regionKey(r)) === i) }
}

const CLEAN: State = {
  range: UNIT,
  ballLinf: 0,
  ballL2: ZERO,
  ratioLinf: 1,
  ratioL2: { reading: 'log', bound: ZERO },
  zeroFixed: true,
  support: { _tag: 'Nothing' },
  why: {},
}

const initState = (init: Init): State => {
  const where = (region: Region | undefined): Support => (region ? { _tag: 'Regions', regions: [region] } : { _tag: 'Everywhere' })
  const unmasked = (region: Region | undefined, s: State) => (region ? s : { ...s, why: { ...s.why, support: 'the random start changes every pixel' } })
  switch (init._tag) {
    case 'Clean':
      return CLEAN
    case 'Uniform': {
      // x' = clip[0,1](x + δ): the clip moves toward x ∈ [0, 1], so |x' − x| ≤ |δ|.
      const s = lose(CLEAN, ['ratioLinf', 'ratioL2'], 'the additive random start moves each pixel by an offset that ignores its value')
      const t = lose(s, ['zeroFixed'], 'the additive random start moves zero pixels')
      const perValue =
        init.units === 'absolute'
          ? { ...t, ballLinf: init.eps }
          : lose(t, ['ballLinf'], `the random start's radius is per value (rms), ${init.eps}·√N, with no per-value bound independent of the clip size`)
      const ball: State = init.norm === 'l2' ? { ...perValue, ballL2: boundOf(init.eps, init.units) } : lose(perValue, ['ballL2'], 'the L∞ random start has no L2 bound')
      return unmasked(init.region, { ...ball, support: where(init.region) })
    }
    case 'UniformRatio': {
      // x' = clip[0,1](x ⊙ exp(u)), |u| ≤ ln ε: zeros stay zero, the clip moves toward x.
      const s = { ...CLEAN, ratioLinf: init.eps, ratioL2: null, support: where(init.region) }
      return unmasked(init.region, lose(s, ['ballLinf', 'ballL2'], 'the multiplicative random start has no additive ball'))
    }
    case 'Fill': {
      // x' = v inside the region, x outside: |x' − x| ≤ max(|v|, |1 − v|) for x ∈ [0, 1].
      const s = lose(CLEAN, ['ratioLinf', 'ratioL2'], `the start fills ${regionText(init.region)} with ${init.value}, whatever the pixel's value`)
      const t = init.value === 0 ? s : lose(s, ['zeroFixed'], `the start fills ${regionText(init.region)} with ${init.value}, zero pixels too`)
      return {
        ...lose(t, ['ballL2'], 'the filled start has no L2 bound'),
        range: hull(UNIT, init.value, init.value),
        ballLinf: Math.max(Math.abs(init.value), Math.abs(1 - init.value)),
        support: where(init.region),
      }
    }
    default:
      return absurd(init)
  }
}

// -------------------------------------------------------------------------------------------------
// transfer: updates
// -------------------------------------------------------------------------------------------------

/** A direction's per-value bound b∞, L2 bound b₂ (null: unbounded) and the region it is confined to. */
interface DirectionFacts {
  readonly linf: number
  readonly l2: Bound | null
  readonly region: Region | 'everywhere'
  /** What makes it unbounded, for reasons. */
  readonly raw: boolean
}

const directionFacts = (d: Direction): DirectionFacts => {
  switch (d._tag) {
    case 'Gradient':
      return { linf: Infinity, l2: null, region: 'everywhere', raw: true }
    case 'Sign':
      return { ...directionFacts(d.of), linf: 1, l2: { abs: 0, rms: 1 }, raw: false }
    case 'Normalize':
      // per frame: each frame has norm ≤ 1, so ‖d‖₂ ≤ √T ≤ √N
      return { ...directionFacts(d.of), linf: 1, l2: d.scope === 'sample' ? { abs: 1, rms: 0 } : { abs: 0, rms: 1 }, raw: false }
    case 'MaskRegion': {
      const inner = directionFacts(d.of)
      const region: Region =
        inner.region === 'everywhere' || regionKey(inner.region) === regionKey(d.region)
          ? d.region
          : { _tag: 'Intersection', regions: [d.region, inner.region] }
      return { ...inner, region }
    }
    default:
      return absurd(d)
  }
}

const confine = (s: State, region: Region | 'everywhere', label: string): State =>
  region === 'everywhere' ? lose(s, ['support'], `${label}'s update is not masked`) : { ...s, support: widen(s.support, region) }

/** x' ← x' + α·d. */
const addOffset = (s: State, alpha: number, units: Units, d: Direction, label: string): State => {
  const f = directionFacts(d)
  const linfStep = units === 'absolute' ? times(Math.abs(alpha), f.linf) : alpha === 0 ? 0 : Infinity
  const l2Step = scaledL2(alpha, units, f.l2)
  const unbounded = f.raw ? 'the raw gradient' : 'a per-value (rms) step α·√N'
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

/** x' ← x' ⊙ α^d = x' ⊙ exp(d·ln α). */
const multiplyFactor = (s: State, alpha: number, units: Units, d: Direction, label: string): State => {
  const f = directionFacts(d)
  const lnAlpha = Math.abs(Math.log(alpha))
  const logStep = units === 'absolute' ? times(lnAlpha, f.linf) : lnAlpha === 0 ? 0 : Infinity
  const logL2Step = scaledL2(lnAlpha, units, f.l2)
  let t = lose(s, ['range'], `${label} multiplies by a factor and no clip follows`)
  t = lose(t, ['ballLinf', 'ballL2'], `${label} multiplies by a factor after which no ball projection follows`)
  t = Number.isFinite(logStep)
    ? { ...t, ratioLinf: s.ratioLinf === null ? null : s.ratioLinf * Math.exp(logStep) }
    : lose(t, ['ratioLinf'], `${label}'s factor has no per-value bound (${f.raw ? 'raw gradient' : 'per-value (rms) exponent'}) and no L∞ ratio projection follows`)
  if (s.ratioL2 === null) return confine(t, f.region, label)
  t =
    s.ratioL2.reading !== 'log'
      ? lose(t, ['ratioL2'], `${label} multiplies by a factor, which the ${s.ratioL2.reading} L2 ratio bound does not track`)
      : logL2Step === null
        ? lose(t, ['ratioL2'], `${label}'s factor has no L2 bound on log(x'/x) independent of the clip size`)
        : { ...t, ratioL2: { reading: 'log', bound: plus(s.ratioL2.bound, logL2Step) } }
  return confine(t, f.region, label)
}

// -------------------------------------------------------------------------------------------------
// transfer: constraints
// -------------------------------------------------------------------------------------------------

/**
 * A constraint that moves each value toward x, never past it, and keeps x' = x where it holds: every
 * bound on |x' − x| or |log(x'/x)|, zeros and the support survive; the range widens to include [0, 1]
 * (where x lies). A literal ‖x'/x‖₂ bound does not survive: moving x'/x toward 1 can raise it.
 */
const contract = (s: State, label: string): State => {
  const t = { ...s, range: s.range === null ? null : hull(s.range, 0, 1) }
  return s.ratioL2?.reading === 'literal' ? lose(t, ['ratioL2'], `${label} moves x'/x toward 1, which can raise the literal ‖x'/x‖₂`) : t
}

const constrain = (s: State, c: Constraint, label: string): State => {
  switch (c._tag) {
    case 'ProjectBall': {
      const t = contract(s, label)
      if (c.norm === 'l2') return { ...t, ballL2: meet(t.ballL2, boundOf(c.eps, c.units), 'other') }
      return c.units === 'absolute' ? { ...t, ballLinf: minOf(t.ballLinf, c.eps) } : t
    }
    case 'ProjectRatio': {
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
    }
    case 'Clip': {
      const clamp = (v: number) => Math.min(Math.max(v, c.lo), c.hi)
      const range = s.range === null ? { lo: c.lo, hi: c.hi } : { lo: clamp(s.range.lo), hi: clamp(s.range.hi) }
      if (c.lo <= 0 && c.hi >= 1) return { ...contract(s, label), range }
      const why = `${label} is narrower than [0, 1], so it moves clean pixels`
      const t = lose(s, ['ballLinf', 'ballL2', 'ratioLinf', 'ratioL2', 'support'], why)
      const zeros = c.lo <= 0 && c.hi >= 0 ? t : lose(t, ['zeroFixed'], `${label} moves zero pixels`)
      return { ...zeros, range }
    }
    default:
      return absurd(c)
  }
}

/** Bounds implied by the others (x ∈ [0, 1]; see the module comment), kept only where tighter. */
const saturate = (s: State): State => {
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

const runStep = (s: State, step: Step, label: string): State => {
  const u = step.update
  const updated =
    u._tag === 'Add'
      ? addOffset(s, u.offset.alpha, u.offset.units, u.offset.of, label)
      : multiplyFactor(s, u.factor.alpha, u.factor.units, u.factor.of, label)
  return step.constraints.reduce((acc, c, k) => saturate(constrain(acc, c, `${label}'s ${constraintName(c)} (constraint ${k})`)), saturate(updated))
}

const constraintName = (c: Constraint): string => {
  switch (c._tag) {
    case 'ProjectBall':
      return `${c.norm === 'linf' ? 'L∞' : 'L2'} ball`
    case 'ProjectRatio':
      return c.norm === 'linf' ? 'L∞ ratio projection' : `${c.reading} L2 ratio projection`
    case 'Clip':
      return `clip to [${c.lo}, ${c.hi}]`
    default:
      return absurd(c)
  }
}

// -------------------------------------------------------------------------------------------------
// certify
// -------------------------------------------------------------------------------------------------

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

const REASON_PREFIX: Readonly<Record<Guarantee, string>> = {
  range: 'no range',
  ballLinf: 'no L∞ ball',
  ballL2: 'no L2 ball',
  ratioLinf: 'no L∞ ratio bound',
  ratioL2: 'no L2 ratio bound',
  zeroFixed: 'zero pixels may change',
  support: 'every pixel may change',
}

const held = (s: State, g: Guarantee): boolean => (g === 'support' ? s.support._tag !== 'Everywhere' : g === 'zeroFixed' ? s.zeroFixed : s[g] !== null)

/** The guarantees every output of `attack` has, with the reasons for those it lacks. */
export const certify = (attack: Attack): Certificate => {
  let s = saturate(initState(attack.init))
  const count = attack.body.length
  let cycleStart = JSON.stringify(s)
  for (let i = 0; i < attack.steps && count > 0; ) {
    s = runStep(s, attack.body[i % count]!, count === 1 ? 'the step' : `step ${i % count}`)
    i++
    if (i % count !== 0) continue
    // A full cycle that changed nothing changes nothing ever after: skip to the last partial cycle.
    const now = JSON.stringify(s)
    if (now === cycleStart) i = attack.steps - ((attack.steps - i) % count)
    cycleStart = now
  }
  s = finish(s, attack.steps)
  const reasons = (Object.keys(REASON_PREFIX) as Guarantee[]).flatMap((g) =>
    held(s, g) ? [] : [`${REASON_PREFIX[g]}: ${s.why[g] ?? 'never established'}`],
  )
  return {
    attack: attack.name,
    seed: attack.seed,
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

// -------------------------------------------------------------------------------------------------
// describe
// -------------------------------------------------------------------------------------------------

/** A derived quantity, to 6 significant digits. */
const num = (v: number) => String(Number(v.toPrecision(6)))

const showBound = (b: Bound): string =>
  b.rms === 0 ? num(b.abs) : b.abs === 0 ? `${num(b.rms)}·√N` : `${num(b.abs)} + ${num(b.rms)}·√N`

const READING_NORM: Readonly<Record<RatioReading, string>> = {
  log: "‖log(x'/x)‖₂",
  literal: "‖x'/x‖₂",
  deviation: "‖x'/x − 1‖₂",
}

const supportText = (s: Support): string => {
  switch (s._tag) {
    case 'Nothing':
      return 'nothing'
    case 'Everywhere':
      return 'everything'
    case 'Regions':
      return s.regions.map(regionText).join(' ∪ ')
    default:
      return absurd(s)
  }
}

/** The certificate in words: each guarantee held (✓), then what is not guaranteed and why (✗). */
export const describeCertificate = (c: Certificate): string => {
  const held = [
    c.range && `range: x' ∈ [${num(c.range.lo)}, ${num(c.range.hi)}]`,
    c.ballLinf !== null && `additive L∞ ball: ‖x' − x‖∞ ≤ ${num(c.ballLinf)}`,
    c.ballL2 && `additive L2 ball: ‖x' − x‖₂ ≤ ${showBound(c.ballL2)} per sample`,
    c.ratioLinf !== null && `ratio bound: max(x'/x, x/x') ≤ ${num(c.ratioLinf)} where x > 0`,
    c.ratioL2 && `L2 ratio bound (${c.ratioL2.reading}): ${READING_NORM[c.ratioL2.reading]} ≤ ${showBound(c.ratioL2.bound)} per sample`,
    c.zeroFixed && "zero fixed point: x = 0 ⇒ x' = 0",
    c.support._tag !== 'Everywhere' && `support: x' = x (bit-identical) outside ${supportText(c.support)}`,
  ].filter((line): line is string => typeof line === 'string')
  return [
    `certificate of ${c.attack} (N = values per sample; assuming ${c.assumptions.join('; ')}):`,
    ...held.map((l) => `  ✓ ${l}`),
    ...c.reasons.map((r) => `  ✗ ${r}`),
  ].join('\n')
}

// -------------------------------------------------------------------------------------------------
// verify
// -------------------------------------------------------------------------------------------------

/** A clip batch `[N, T, H, W, C]`: plain data, or anything with `shape` and `dataSync()` (a tfjs tensor). */
export type ClipLike =
  | { readonly shape: ReadonlyArray<number>; readonly data: Float32Array }
  | { readonly shape: ReadonlyArray<number>; readonly dataSync: () => ArrayLike<number> }

/** The values of a clip: a tensor's `dataSync()` (a tensor's `data` is a method), else `data`. */
const valuesOf = (c: ClipLike): ArrayLike<number> =>
  'dataSync' in c && typeof c.dataSync === 'function' ? c.dataSync() : (c as { readonly data: Float32Array }).data

export interface VerifyOptions {
  /** Relative tolerance on every bound (default 1e-5): a value passes when ≤ bound·(1 + rtol) + atol. */
  readonly rtol?: number
  /** Absolute tolerance on every bound (default 1e-6). */
  readonly atol?: number
  /**
   * The masks the run's search found for its searched rectangles (`AttackResult.searched`). Without
   * them, a searched rectangle is checked by its size: per frame, the changed pixels outside the other
   * regions must fit in one height×width window.
   */
  readonly searched?: Searched
}

/** A float32 value in its shortest decimal (0.53, not 0.5299999713897705). */
const f32 = (v: number): string => {
  if (Number.isFinite(v))
    for (let p = 1; p <= 9; p++) {
      const s = Number(v.toPrecision(p))
      if (Math.fround(s) === v) return String(s)
    }
  return String(v)
}

const plural = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`

/**
 * The violations of `certificate` by x' = `xAdv` for the clean clip `x`, empty when it holds. Bounds
 * pass within tolerance (≤ bound·(1 + rtol) + atol); the support is exact (x' = x bit-identically
 * outside it); NaN/±Inf in x' and x outside [0, 1] (the certificate's assumption) are always violations.
 * Each message names the guarantee, the first offender ([n,t,h,w,c] or sample) and how many offend.
 */
export const verify = (certificate: Certificate, x: ClipLike, xAdv: ClipLike, options: VerifyOptions = {}): ReadonlyArray<string> => {
  if (x.shape.length !== 5 || xAdv.shape.length !== 5 || x.shape.some((d, i) => d !== xAdv.shape[i]))
    return [`shapes must be equal [N, T, H, W, C], got x [${x.shape.join(', ')}] and x' [${xAdv.shape.join(', ')}]`]
  const [N, T, H, W, C] = x.shape as readonly [number, number, number, number, number]
  const a = valuesOf(x)
  const b = valuesOf(xAdv)
  const size = N * T * H * W * C
  if (a.length !== size || b.length !== size)
    return [`shape [${x.shape.join(', ')}] holds ${size} values, but x has ${a.length} and x' ${b.length}`]
  const perSample = T * H * W * C
  const rtol = options.rtol ?? 1e-5
  const atol = options.atol ?? 1e-6
  const slack = (bound: number) => Math.abs(bound) * rtol + atol
  const exceeds = (value: number, bound: number) => !(value <= bound + slack(bound))
  const at = (i: number) =>
    `[${Math.floor(i / perSample)},${Math.floor(i / (C * W * H)) % T},${Math.floor(i / (C * W)) % H},${Math.floor(i / C) % W},${i % C}]`
  const show = (i: number) => `x=${f32(a[i]!)}, x'=${f32(b[i]!)}`
  const violations: string[] = []

  /** Reports the first value failing a check, and how many fail it. */
  const each = (fails: (i: number) => boolean, describe: (i: number) => string) => {
    let first = -1
    let count = 0
    for (let i = 0; i < size; i++)
      if (fails(i)) {
        if (first < 0) first = i
        count++
      }
    if (first >= 0) violations.push(`${describe(first)} (${plural(count, 'value')})`)
  }
  /** Reports the first sample failing a check, and how many fail it. */
  const perSampleCheck = (value: (n: number) => number, bound: number, describe: (n: number, v: number) => string) => {
    const failing = Array.from({ length: N }, (_, n) => n).filter((n) => exceeds(value(n), bound))
    if (failing.length > 0) violations.push(`${describe(failing[0]!, value(failing[0]!))} (${plural(failing.length, 'sample')})`)
  }
  const norm = (n: number, f: (i: number) => number) => {
    let s = 0
    for (let i = n * perSample; i < (n + 1) * perSample; i++) s += f(i) ** 2
    return Math.sqrt(s)
  }
  const boundText = (bound: Bound) =>
    bound.rms === 0 ? num(bound.abs) : `${showBound(bound)} = ${num(bound.abs + bound.rms * Math.sqrt(perSample))} (N=${perSample})`
  const valueOf = (bound: Bound) => bound.abs + bound.rms * Math.sqrt(perSample)

  each((i) => !(a[i]! >= 0 && a[i]! <= 1), (i) => `assumption x ∈ [0, 1] violated at ${at(i)}: x=${f32(a[i]!)}`)
  each((i) => !Number.isFinite(b[i]!), (i) => `x' is not finite at ${at(i)}: ${b[i]}`)
  const { range, ballLinf, ballL2, ratioLinf, ratioL2, zeroFixed } = certificate
  if (range !== null)
    each(
      (i) => b[i]! < range.lo - slack(range.lo) || b[i]! > range.hi + slack(range.hi),
      (i) => `range [${range.lo}, ${range.hi}] violated at ${at(i)}: x'=${f32(b[i]!)}`,
    )
  if (ballLinf !== null)
    each(
      (i) => exceeds(Math.abs(b[i]! - a[i]!), ballLinf),
      (i) => `L∞ ball ε=${num(ballLinf)} violated at ${at(i)}: ${show(i)}, |x'−x|=${num(Math.abs(b[i]! - a[i]!))}`,
    )
  if (ratioLinf !== null)
    each(
      (i) => a[i]! > 0 && (!(b[i]! > 0) || exceeds(Math.max(b[i]! / a[i]!, a[i]! / b[i]!), ratioLinf)),
      (i) => `ratio bound ε=${num(ratioLinf)} violated at ${at(i)}: ${show(i)}, ratio ${num(b[i]! / a[i]!)}`,
    )
  if (zeroFixed) each((i) => a[i] === 0 && b[i] !== 0, (i) => `zero fixed point violated at ${at(i)}: ${show(i)}`)
  if (ballL2 !== null)
    perSampleCheck(
      (n) => norm(n, (i) => b[i]! - a[i]!),
      valueOf(ballL2),
      (n, v) => `L2 ball ‖x'−x‖₂ ≤ ${boundText(ballL2)} violated by sample ${n}: ‖x'−x‖₂=${num(v)}`,
    )
  if (ratioL2 !== null) {
    const { reading } = ratioL2
    const ratio = (i: number) => (a[i]! > 0 ? b[i]! / a[i]! : 1)
    // 'literal' sums over x > 0 only, as the interpreters project it (the zeros' ratio 1 cannot move)
    const term = (i: number) => (reading === 'log' ? Math.log(ratio(i)) : reading === 'literal' ? (a[i]! > 0 ? ratio(i) : 0) : ratio(i) - 1)
    perSampleCheck(
      (n) => norm(n, term),
      valueOf(ratioL2.bound),
      (n, v) => `L2 ratio bound (${reading}) ${READING_NORM[reading]} ≤ ${boundText(ratioL2.bound)} violated by sample ${n}: ${num(v)}`,
    )
  }
  const support = supportTest(certificate.support, { T, H, W }, N, C, certificate.seed, options.searched)
  if (support) {
    const { outside, windows } = support
    if (windows.length === 0)
      each((i) => outside(i) && a[i] !== b[i], (i) => `x' ≠ x outside the support (${supportText(certificate.support)}) at ${at(i)}: ${show(i)}`)
    else violations.push(...windowViolations(a, b, outside, windows, [N, T, H, W, C]))
  }
  return violations
}

/**
 * Where x' must equal x: `outside(i)` for value i, except that changes there may also fill the
 * `windows` (searched rectangles whose masks are unknown: only their size is).
 */
interface SupportTest {
  readonly outside: (i: number) => boolean
  readonly windows: ReadonlyArray<{ readonly height: number; readonly width: number }>
}

const supportTest = (
  support: Support,
  g: FrameGeometry,
  N: number,
  C: number,
  seed: number,
  searched: Searched | undefined,
): SupportTest | undefined => {
  switch (support._tag) {
    case 'Everywhere':
      return undefined
    case 'Nothing':
      return { outside: () => true, windows: [] }
    case 'Regions': {
      const known = (r: Region) => searchedIn(r).every((s) => searched?.has(regionKey(s)))
      const windows = support.regions.flatMap((r) => (r._tag === 'SearchedRect' && !known(r) ? [r] : []))
      // A searched rectangle nested in a union, intersection or complement, with no mask: nothing to check.
      if (support.regions.some((r) => r._tag !== 'SearchedRect' && !known(r))) return undefined
      const inside = new Uint8Array(N * g.T * g.H * g.W)
      for (const r of support.regions) if (known(r)) batchMask(r, g, N, seed, searched).forEach((m, k) => (inside[k] ||= m))
      return { outside: (i) => inside[Math.floor(i / C)] === 0, windows }
    }
    default:
      return absurd(support)
  }
}

/** Per frame, the pixels changed outside the known regions must fit in the searched windows. */
const windowViolations = (
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  outside: (i: number) => boolean,
  windows: SupportTest['windows'],
  [N, T, H, W, C]: readonly [number, number, number, number, number],
): ReadonlyArray<string> => {
  const out: string[] = []
  for (let n = 0; n < N; n++)
    for (let t = 0; t < T; t++) {
      let [top, bottom, left, right, count] = [H, -1, W, -1, 0]
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) {
          const base = (((n * T + t) * H + h) * W + w) * C
          let changed = false
          for (let c = 0; c < C; c++) changed ||= outside(base + c) && a[base + c] !== b[base + c]
          if (!changed) continue
          count++
          ;[top, bottom, left, right] = [Math.min(top, h), Math.max(bottom, h), Math.min(left, w), Math.max(right, w)]
        }
      if (count === 0) continue
      const fits =
        windows.length === 1
          ? bottom - top < windows[0]!.height && right - left < windows[0]!.width
          : count <= windows.reduce((s, r) => s + r.height * r.width, 0)
      if (!fits)
        out.push(
          `changed pixels of sample ${n}, frame ${t} (rows ${top}..${bottom}, columns ${left}..${right}) do not fit the searched rectangle${windows.length === 1 ? ` of ${windows[0]!.height}x${windows[0]!.width}` : 's'}`,
        )
    }
  return out
}
