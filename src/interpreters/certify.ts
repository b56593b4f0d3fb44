/**
 * The certifier: what an attack's structure guarantees about every output, derived by abstract
 * interpretation (init, then every step's update and constraints for all iterations), and a verifier
 * that checks a concrete output against it. Assumes the clean clip x ∈ [0, 1].
 *
 * @example
 * const c = certify(attacks.multLinf())   // ratioLinf 1.04, zeroFixed, range [0, 1]
 * verify(c, x, xAdv)                      // [] when xAdv keeps every promise
 *
 * @since 0.1.0
 */
import type { Attack, Constraint, Direction, Init, RatioReading, Region, Step, Units } from '../dsl/types.js'
import { batchMask, regionKey, searchedIn, type FrameGeometry, type Searched } from './regions.js'
import { regionText } from './pretty.js'

/** A bound that may scale with the clip: value = abs + rms·√N (N = T·H·W·C values per sample). */
export interface Bound {
  readonly abs: number
  readonly rms: number
}

/** Where x' may differ from x; outside, x' = x bit-identically. */
export type Support =
  | { readonly _tag: 'Nothing' }
  | { readonly _tag: 'Everywhere' }
  | { readonly _tag: 'Regions'; readonly regions: ReadonlyArray<Region> }

export interface Certificate {
  readonly attack: string
  /** The seed random regions are drawn from (the run's seed). */
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
   * Per sample, ratio 1 where x = 0: log ‖log(x'/x)‖₂, literal ‖x'/x‖₂ (over x > 0 only),
   * deviation ‖x'/x − 1‖₂ ≤ bound.
   */
  readonly ratioL2: { readonly reading: RatioReading; readonly bound: Bound } | null
  /** x = 0 ⇒ x' = 0. */
  readonly zeroFixed: boolean
  readonly support: Support
  /** Why each missing guarantee is missing. */
  readonly reasons: ReadonlyArray<string>
  readonly assumptions: ReadonlyArray<string>
}

// -------------------------------------------------------------------------------------------------
// bounds
// -------------------------------------------------------------------------------------------------

const ZERO: Bound = { abs: 0, rms: 0 }
const plus = (a: Bound, b: Bound): Bound => ({ abs: a.abs + b.abs, rms: a.rms + b.rms })
const times = (k: number, b: Bound): Bound => ({ abs: k * b.abs, rms: k * b.rms })
const finite = (b: Bound) => Number.isFinite(b.abs) && Number.isFinite(b.rms)
/** a ≤ b for every N (both coefficients), so min(a, b) is known. */
const below = (a: Bound, b: Bound) => a.abs <= b.abs && a.rms <= b.rms
const boundOf = (value: number, units: Units): Bound => (units === 'rms' ? { abs: 0, rms: value } : { abs: value, rms: 0 })

/** The smaller bound when comparable, else the newly established one. */
const tighter = (old: Bound | null, established: Bound): Bound =>
  old !== null && below(old, established) ? old : established

/**
 * Per-element (∞) and L2 bounds of a direction: Gradient unbounded; Sign 1 and √N; Normalize (sample)
 * 1 and 1; Normalize (frame) 1 and √T (unknown statically); masks keep the inner bounds.
 */
const directionBounds = (d: Direction): { readonly linf: number; readonly l2: Bound | null } => {
  switch (d._tag) {
    case 'Gradient':
      return { linf: Infinity, l2: null }
    case 'Sign':
      return { linf: 1, l2: { abs: 0, rms: 1 } }
    case 'Normalize':
      return { linf: 1, l2: d.scope === 'sample' ? { abs: 1, rms: 0 } : null }
    case 'MaskRegion':
      return directionBounds(d.of)
  }
}

/** The regions a direction is confined to (their intersection), or 'everywhere'. */
const directionSupport = (d: Direction): ReadonlyArray<Region> | 'everywhere' => {
  switch (d._tag) {
    case 'Gradient':
      return 'everywhere'
    case 'Sign':
    case 'Normalize':
      return directionSupport(d.of)
    case 'MaskRegion': {
      // Nested masks intersect; the outermost alone is a sound (larger) support.
      return [d.region]
    }
  }
}

/** Scales a Bound by a parameter given in `units`: |α|·b, where 'rms' adds a factor √N. */
const scaledBy = (alpha: number, units: Units, b: Bound | null): Bound | null => {
  if (b === null) return null
  if (units === 'absolute') return times(Math.abs(alpha), b)
  return b.rms === 0 ? { abs: 0, rms: Math.abs(alpha) * b.abs } : null // √N·√N is not a Bound
}

// -------------------------------------------------------------------------------------------------
// abstract state and transfer rules
// -------------------------------------------------------------------------------------------------

/** The guarantees after each step (bounds may be Infinity until the end), and why each was lost. */
interface State extends Omit<Certificate, 'attack' | 'seed' | 'reasons' | 'assumptions'> {
  /** The latest reason per guarantee (keyed), so the certificate says why the final state lacks it. */
  readonly why: Readonly<Record<string, string>>
}

const UNIT = { lo: 0, hi: 1 }

/** The union of a support and more regions (each region listed once). */
const unionSupport = (s: Support, added: ReadonlyArray<Region> | 'everywhere'): Support => {
  if (added === 'everywhere' || s._tag === 'Everywhere') return { _tag: 'Everywhere' }
  const regions = [...(s._tag === 'Regions' ? s.regions : []), ...added]
  return { _tag: 'Regions', regions: regions.filter((r, i) => regions.findIndex((q) => regionKey(q) === regionKey(r)) === i) }
}

const initState = (init: Init): State => {
  const clean: State = {
    range: UNIT,
    ballLinf: 0,
    ballL2: ZERO,
    ratioLinf: 1,
    ratioL2: { reading: 'log', bound: ZERO },
    zeroFixed: true,
    support: { _tag: 'Nothing' },
    why: {},
  }
  const where = (region: Region | undefined): Support => (region ? { _tag: 'Regions', regions: [region] } : { _tag: 'Everywhere' })
  switch (init._tag) {
    case 'Clean':
      return clean
    case 'Uniform': {
      const eps = boundOf(init.eps, init.units)
      return {
        ...clean,
        ballLinf: init.units === 'absolute' ? init.eps : null,
        ballL2: init.norm === 'l2' ? eps : null,
        ratioLinf: null,
        ratioL2: null,
        zeroFixed: false,
        support: where(init.region),
        why: {
          ratio: 'the additive random start moves pixels by an offset that ignores their value',
          zero: 'the additive random start moves zero pixels',
          ...(init.norm === 'linf' ? { ballL2: 'the L∞ random start has no L2 bound independent of the clip size' } : {}),
          ...(init.units === 'rms' ? { ballLinf: 'the random start radius is per value (rms) with no L∞ bound' } : {}),
        },
      }
    }
    case 'Fill':
      // x' = v inside the region: |x' − x| ≤ max(v, 1 − v) for x ∈ [0, 1]; zeros stay zero only if v = 0.
      return {
        ...clean,
        ballLinf: Math.max(init.value, 1 - init.value),
        ballL2: null,
        ratioLinf: null,
        ratioL2: null,
        zeroFixed: init.value === 0,
        support: where(init.region),
        why: {
          ballL2: 'the filled start has no L2 bound independent of the region size',
          ratio: `the start fills the region with ${init.value}, whatever the pixel's value`,
          ...(init.value === 0 ? {} : { zero: `the start fills the region with ${init.value}` }),
        },
      }
    case 'UniformRatio':
      return {
        ...clean,
        ballLinf: null,
        ballL2: null,
        ratioLinf: init.eps,
        ratioL2: null,
        support: where(init.region),
        why: {
          ball: 'the multiplicative random start changes pixels in proportion to their value, with no additive ball',
          ratioL2: 'the multiplicative random start has no L2 ratio bound independent of the clip size',
        },
      }
  }
}

const update = (s: State, step: Step, label: string): State => {
  const u = step.update
  if (u._tag === 'Add') {
    const { linf, l2 } = directionBounds(u.offset.of)
    const linfStep = u.offset.units === 'absolute' ? Math.abs(u.offset.alpha) * linf : Infinity
    const l2Step = scaledBy(u.offset.alpha, u.offset.units, l2)
    return {
      ...s,
      range: null,
      ballLinf: s.ballLinf === null || !Number.isFinite(linfStep) ? null : s.ballLinf + linfStep,
      ballL2: s.ballL2 === null || l2Step === null ? null : plus(s.ballL2, l2Step),
      ratioLinf: null,
      ratioL2: null,
      zeroFixed: false,
      support: unionSupport(s.support, directionSupport(u.offset.of)),
      why: {
        ...s.why,
        range: `${label} adds an offset after which no clip follows`,
        ratio: `${label} adds an additive offset after which no ratio projection follows`,
        zero: `${label} adds an additive offset that moves zero pixels`,
        ...(Number.isFinite(linfStep) ? {} : { ballLinf: `${label}'s offset has no per-value bound` }),
        ...(l2Step === null ? { ballL2: `${label}'s offset has no L2 bound independent of the clip size` } : {}),
      },
    }
  }
  const { linf, l2 } = directionBounds(u.factor.of)
  const logAlpha = Math.abs(Math.log(u.factor.alpha))
  const ratioStep = u.factor.units === 'absolute' ? Math.exp(logAlpha * linf) : Infinity
  const logL2Step = scaledBy(logAlpha, u.factor.units, l2)
  const ratioLinf = s.ratioLinf === null || !Number.isFinite(ratioStep) ? null : s.ratioLinf * ratioStep
  const ratioL2 = s.ratioL2?.reading === 'log' && logL2Step !== null ? { reading: 'log' as const, bound: plus(s.ratioL2.bound, logL2Step) } : null
  return {
    ...s,
    range: null,
    ballLinf: null,
    ballL2: null,
    ratioLinf,
    ratioL2,
    support: unionSupport(s.support, directionSupport(u.factor.of)),
    why: {
      ...s.why,
      range: `${label} multiplies by a factor after which no clip follows`,
      ball: `${label}'s multiplicative update has no additive ball unless a ball projection follows`,
      ...(ratioLinf === null ? { ratioLinf: `${label}'s factor has no per-value bound` } : {}),
      ...(ratioL2 === null ? { ratioL2: `${label}'s factor has no L2 log-ratio bound independent of the clip size` } : {}),
    },
  }
}

/**
 * A constraint that moves each value toward x, never past it (x ∈ [0, 1]), keeps every bound on
 * |x' − x| or |log(x'/x)| — but not a literal ‖x'/x‖₂ bound: moving x'/x toward 1 can raise it.
 */
const contract = (s: State, label: string): State => ({
  ...s,
  range: s.range === null ? null : { lo: Math.min(s.range.lo, 0), hi: Math.max(s.range.hi, 1) },
  ...(s.ratioL2?.reading === 'literal'
    ? { ratioL2: null, why: { ...s.why, ratioL2: `${label} moves x'/x toward 1, which can raise the literal ‖x'/x‖₂` } }
    : {}),
})

const constrain = (s: State, c: Constraint, label: string): State => {
  switch (c._tag) {
    case 'ProjectBall': {
      const t = contract(s, label)
      return c.norm === 'linf'
        ? c.units === 'absolute'
          ? { ...t, ballLinf: t.ballLinf === null ? c.eps : Math.min(t.ballLinf, c.eps) }
          : t
        : { ...t, ballL2: tighter(t.ballL2, boundOf(c.eps, c.units)) }
    }
    case 'ProjectRatio': {
      if (c.norm === 'linf') {
        const t = contract(s, label)
        return { ...t, ratioLinf: t.ratioLinf === null ? c.eps : Math.min(t.ratioLinf, c.eps), zeroFixed: true }
      }
      const bound = boundOf(c.reading === 'log' ? Math.log(c.eps) : c.eps, c.units)
      const established = { reading: c.reading, bound }
      if (c.reading !== 'literal') {
        const t = contract(s, label)
        const ratioL2 = t.ratioL2?.reading === c.reading ? { reading: c.reading, bound: tighter(t.ratioL2.bound, bound) } : established
        return { ...t, ratioL2, zeroFixed: true }
      }
      // Scaling x'/x toward 0 moves every positive value (unchanged ones too) toward 0, not toward x:
      // only the range (from below) survives.
      return {
        ...s,
        support: { _tag: 'Everywhere' },
        range: s.range !== null && s.range.lo >= 0 ? { lo: 0, hi: s.range.hi } : null,
        ballLinf: null,
        ballL2: null,
        ratioLinf: null,
        ratioL2: established,
        zeroFixed: true,
        why: {
          ...s.why,
          ball: `${label}'s literal L2 ratio projection scales x'/x toward 0, which can move values away from x`,
          ratioLinf: `${label}'s literal L2 ratio projection can push x'/x below 1/ε`,
          support: `${label}'s literal L2 ratio projection rescales unchanged pixels too`,
        },
      }
    }
    case 'Clip': {
      const range = s.range === null ? { lo: c.lo, hi: c.hi } : { lo: Math.max(s.range.lo, c.lo), hi: Math.min(s.range.hi, c.hi) }
      if (c.lo <= 0 && c.hi >= 1) return { ...contract(s, label), range }
      return {
        ...s,
        range: { lo: c.lo, hi: c.hi },
        ballLinf: null,
        ballL2: null,
        ratioLinf: null,
        ratioL2: null,
        zeroFixed: s.zeroFixed && c.lo <= 0,
        support: { _tag: 'Everywhere' },
        why: {
          ...s.why,
          ball: `${label} clips to [${c.lo}, ${c.hi}], narrower than [0, 1], which moves clean pixels`,
          ratio: `${label} clips to [${c.lo}, ${c.hi}], narrower than [0, 1], which moves clean pixels`,
          ...(c.lo > 0 ? { zero: `${label} clips to [${c.lo}, ${c.hi}], which raises zero pixels` } : {}),
        },
      }
    }
  }
}

const runStep = (s: State, step: Step, label: string): State =>
  step.constraints.reduce((acc, c, k) => constrain(acc, c, `${label}'s constraint ${k}`), update(s, step, label))

// -------------------------------------------------------------------------------------------------
// certify
// -------------------------------------------------------------------------------------------------

/** The guarantees every output of `attack` has, with the reasons for those it lacks. */
export const certify = (attack: Attack): Certificate => {
  let s = initState(attack.init)
  // Iterations cycle through the body; after one full cycle the abstract state only changes by the
  // same increments, so running all `steps` iterations is exact and cheap (a few numbers each).
  for (let i = 0; i < attack.steps; i++) {
    const k = i % attack.body.length
    s = runStep(s, attack.body[k]!, attack.body.length === 1 ? 'the step' : `step ${k}`)
  }
  const clean = (b: Bound | null) => (b !== null && finite(b) ? b : null)
  const ratioLinf = s.ratioLinf !== null && Number.isFinite(s.ratioLinf) ? s.ratioLinf : null
  // A ratio bound ε on x ∈ [0, 1] implies |x' − x| ≤ (ε − 1)·x ≤ ε − 1 (spec §5.3), and a range
  // [lo, hi] implies |x' − x| ≤ max(hi, 1 − lo); an L∞ ball no tighter than the range is left out.
  const fromRange = s.range === null ? Infinity : Math.max(s.range.hi, 1 - s.range.lo)
  const ballLinf = Math.min(s.ballLinf ?? Infinity, ratioLinf === null ? Infinity : ratioLinf - 1, fromRange)
  const ballLinfOrNull = Number.isFinite(ballLinf) && ballLinf < 1 ? ballLinf : null
  if (ballLinfOrNull === null && Number.isFinite(ballLinf)) s = { ...s, why: { ...s.why, ballLinf: 'no bound on |x′ − x| tighter than the range [0, 1]' } }
  const ballL2 = clean(s.ballL2)
  const ratioL2 = s.ratioL2 !== null && finite(s.ratioL2.bound) ? s.ratioL2 : null
  const reasons = [
    ...(s.range === null ? [`no range: ${s.why['range'] ?? 'no clip'}`] : []),
    ...(ballLinfOrNull === null ? [`no L∞ ball: ${s.why['ballLinf'] ?? s.why['ball'] ?? 'unbounded'}`] : []),
    ...(ballL2 === null ? [`no L2 ball: ${s.why['ballL2'] ?? s.why['ball'] ?? 'unbounded'}`] : []),
    ...(ratioLinf === null ? [`no L∞ ratio bound: ${s.why['ratioLinf'] ?? s.why['ratio'] ?? 'unbounded'}`] : []),
    ...(ratioL2 === null ? [`no L2 ratio bound: ${s.why['ratioL2'] ?? s.why['ratio'] ?? 'unbounded'}`] : []),
    ...(s.zeroFixed ? [] : [`zero pixels may change: ${s.why['zero'] ?? 'an additive update moves them'}`]),
  ]
  return {
    attack: attack.name,
    seed: attack.seed,
    range: s.range,
    ballLinf: ballLinfOrNull,
    ballL2,
    ratioLinf,
    ratioL2,
    zeroFixed: s.zeroFixed,
    support: s.support,
    reasons,
    assumptions: ['the clean clip x lies in [0, 1]'],
  }
}

// -------------------------------------------------------------------------------------------------
// describe
// -------------------------------------------------------------------------------------------------

const showBound = (b: Bound): string =>
  b.rms === 0 ? num(b.abs) : b.abs === 0 ? `${num(b.rms)}·√N` : `${num(b.abs)} + ${num(b.rms)}·√N`
const num = (v: number) => String(Number(v.toPrecision(6)))


/** The certificate in words: each guarantee held, then what is not guaranteed and why. */
export const describeCertificate = (c: Certificate): string => {
  const held = [
    c.range && `range: x' ∈ [${num(c.range.lo)}, ${num(c.range.hi)}]`,
    c.ballLinf !== null && `additive L∞ ball: ‖x' − x‖∞ ≤ ${num(c.ballLinf)}`,
    c.ballL2 && `additive L2 ball: ‖x' − x‖₂ ≤ ${showBound(c.ballL2)} per sample`,
    c.ratioLinf !== null && `ratio bound: max(x'/x, x/x') ≤ ${num(c.ratioLinf)} where x > 0`,
    c.ratioL2 &&
      `L2 ratio bound (${c.ratioL2.reading}): ${
        c.ratioL2.reading === 'log' ? "‖log(x'/x)‖₂" : c.ratioL2.reading === 'literal' ? "‖x'/x‖₂" : "‖x'/x − 1‖₂"
      } ≤ ${showBound(c.ratioL2.bound)} per sample`,
    c.zeroFixed && "zero fixed point: x = 0 ⇒ x' = 0",
    c.support._tag === 'Nothing'
      ? "support: nothing changes (x' = x)"
      : c.support._tag === 'Regions'
        ? `support: x' = x outside ${c.support.regions.map(regionText).join(' ∪ ')}`
        : undefined,
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
const valuesOf = (c: ClipLike): ArrayLike<number> => ('dataSync' in c && typeof c.dataSync === 'function' ? c.dataSync() : (c as { data: Float32Array }).data)

export interface VerifyOptions {
  /** Relative tolerance on every bound (default 1e-5). */
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

/** The violations of `certificate` by x' = `xAdv` for the clean clip `x` (empty when it holds). */
export const verify = (certificate: Certificate, x: ClipLike, xAdv: ClipLike, options: VerifyOptions = {}): ReadonlyArray<string> => {
  if (x.shape.length !== 5 || xAdv.shape.length !== 5 || x.shape.some((d, i) => d !== xAdv.shape[i]))
    return [`shapes must be equal [N, T, H, W, C], got x [${x.shape.join(', ')}] and x' [${xAdv.shape.join(', ')}]`]
  const [N, T, H, W, C] = x.shape as [number, number, number, number, number]
  const a = valuesOf(x)
  const b = valuesOf(xAdv)
  const perSample = T * H * W * C
  const rtol = options.rtol ?? 1e-5
  const atol = options.atol ?? 1e-6
  const exceeds = (value: number, bound: number) => !(value <= bound * (1 + rtol) + atol)
  const at = (i: number) => {
    const c = i % C
    const w = Math.floor(i / C) % W
    const h = Math.floor(i / (C * W)) % H
    const t = Math.floor(i / (C * W * H)) % T
    return `[${Math.floor(i / perSample)},${t},${h},${w},${c}]`
  }
  const violations: string[] = []
  /** Reports the first offender of a per-value check and how many values fail it. */
  const each = (fails: (i: number) => boolean, describe: (i: number) => string) => {
    let first = -1
    let count = 0
    for (let i = 0; i < b.length; i++)
      if (fails(i)) {
        if (first < 0) first = i
        count++
      }
    if (first >= 0) violations.push(`${describe(first)} (${count} value${count === 1 ? '' : 's'})`)
  }
  const show = (i: number) => `x=${a[i]}, x'=${b[i]}`

  each((i) => !Number.isFinite(b[i]!), (i) => `x' is not finite at ${at(i)}: ${b[i]}`)
  if (certificate.range) {
    const { lo, hi } = certificate.range
    each((i) => b[i]! < lo || b[i]! > hi, (i) => `range [${lo}, ${hi}] violated at ${at(i)}: x'=${b[i]}`)
  }
  if (certificate.ballLinf !== null) {
    const eps = certificate.ballLinf
    each((i) => exceeds(Math.abs(b[i]! - a[i]!), eps), (i) => `L∞ ball ε=${num(eps)} violated at ${at(i)}: ${show(i)}, |x'−x|=${Math.abs(b[i]! - a[i]!)}`)
  }
  if (certificate.ratioLinf !== null) {
    const eps = certificate.ratioLinf
    each(
      (i) => a[i]! > 0 && exceeds(Math.max(b[i]! / a[i]!, a[i]! / b[i]!), eps),
      (i) => `ratio bound ε=${num(eps)} violated at ${at(i)}: ${show(i)}, ratio ${Math.max(b[i]! / a[i]!, a[i]! / b[i]!)}`,
    )
  }
  if (certificate.zeroFixed) each((i) => a[i] === 0 && b[i] !== 0, (i) => `zero fixed point violated at ${at(i)}: ${show(i)}`)
  const support = supportTest(certificate.support, { T, H, W }, N, C, certificate.seed, options.searched)
  if (support) {
    const { outside, windows } = support
    each((i) => outside(i) && windows.length === 0 && a[i] !== b[i], (i) => `x' ≠ x outside the support at ${at(i)}: ${show(i)}`)
    if (windows.length > 0) violations.push(...windowViolations(a, b, outside, windows, [N, T, H, W, C]))
  }

  for (let n = 0; n < N; n++) {
    const range = [n * perSample, (n + 1) * perSample] as const
    const norm = (f: (i: number) => number) => {
      let s = 0
      for (let i = range[0]; i < range[1]; i++) s += f(i) ** 2
      return Math.sqrt(s)
    }
    const value = (bound: Bound) => bound.abs + bound.rms * Math.sqrt(perSample)
    if (certificate.ballL2) {
      const bound = value(certificate.ballL2)
      const got = norm((i) => b[i]! - a[i]!)
      if (exceeds(got, bound)) violations.push(`L2 ball ${num(bound)} violated by sample ${n}: ‖x'−x‖₂ = ${got}`)
    }
    if (certificate.ratioL2) {
      const { reading } = certificate.ratioL2
      const bound = value(certificate.ratioL2.bound)
      const ratio = (i: number) => (a[i]! > 0 ? b[i]! / a[i]! : 1)
      // 'literal' sums over x > 0 only (the zeros' ratio 1 is fixed and would make small ε unreachable)
      const got = norm((i) => (reading === 'log' ? Math.log(ratio(i)) : reading === 'literal' ? (a[i]! > 0 ? ratio(i) : 0) : ratio(i) - 1))
      if (exceeds(got, bound)) violations.push(`L2 ratio bound (${reading}) ${num(bound)} violated by sample ${n}: norm ${got}`)
    }
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
  if (support._tag === 'Everywhere') return undefined
  if (support._tag === 'Nothing') return { outside: () => true, windows: [] }
  const known = (r: Region) => searchedIn(r).every((s) => searched?.has(regionKey(s)))
  const windows = support.regions.flatMap((r) => (r._tag === 'SearchedRect' && !known(r) ? [r] : []))
  // A searched rectangle nested in a union, intersection or complement, with no mask: nothing to check.
  if (support.regions.some((r) => r._tag !== 'SearchedRect' && !known(r))) return undefined
  const inside = new Uint8Array(N * g.T * g.H * g.W)
  for (const r of support.regions) if (known(r)) batchMask(r, g, N, seed, searched).forEach((m, k) => (inside[k] ||= m))
  return { outside: (i) => inside[Math.floor(i / C)] === 0, windows }
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
        out.push(`changed pixels of sample ${n}, frame ${t} (rows ${top}..${bottom}, columns ${left}..${right}) do not fit the searched rectangle${windows.length === 1 ? ` of ${windows[0]!.height}x${windows[0]!.width}` : 's'}`)
    }
  return out
}
