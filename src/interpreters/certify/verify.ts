/**
 * verify: the violations of a certificate by a concrete output x' for the clean clip x, as data.
 *
 * @example
 * import { attacks, certify, verify } from 'multav/dsl'
 * const x = { shape: [1, 1, 1, 1, 2] as const, data: Float32Array.from([0.25, 0.5]) }
 * const xAdv = { shape: x.shape, data: Float32Array.from([0.25, 0.53]) }
 * verify(certify(attacks.multLinf()), x, xAdv)
 * // [] when xAdv keeps every promise; else e.g.
 * // [{ bound: 'ratioLinf', sample: 0, index: [0, 0, 0, 0, 1], count: 1, got: 1.06, allowed: 1.04,
 * //    message: "ratio bound ε=1.04 violated at [0,0,0,0,1]: x=0.5, x'=0.53, ratio 1.06 (1 value)" }]
 *
 * @since 0.1.0
 */
import type { Searched } from '../regions.js'
import { num, showBound } from './bounds.js'
import { READING_NORM, supportText } from './describe.js'
import type { Bound, Certificate } from './model.js'
import { runSeeds, supportTest, windowViolations, type Batch } from './support.js'

/** A clip batch `[N, T, H, W, C]`: plain data, or anything with `shape` and `dataSync()` (a tfjs tensor). */
export type ClipLike =
  | { readonly shape: ReadonlyArray<number>; readonly data: Float32Array }
  | { readonly shape: ReadonlyArray<number>; readonly dataSync: () => ArrayLike<number> }

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

/**
 * What a violation breaks: a certificate field, or what the check needs of its inputs — 'shape'
 * (x and x' both [N, T, H, W, C] and that many values), 'finite' (x' has no NaN/±∞), 'assumption'
 * (x ∈ [0, 1], the certificate's assumption).
 */
export type Checked =
  | 'shape'
  | 'assumption'
  | 'finite'
  | 'range'
  | 'ballLinf'
  | 'ballL2'
  | 'ratioLinf'
  | 'ratioL2'
  | 'zeroFixed'
  | 'support'

/** One broken promise, with its first offender. */
export interface Violation {
  readonly bound: Checked
  /** The first offending sample (0-based). */
  readonly sample?: number
  /** The first offending value's [n, t, h, w, c] (per-value checks). */
  readonly index?: readonly [number, number, number, number, number]
  /** The frame of a searched-rectangle window check. */
  readonly frame?: number
  /** How many offend: values (per-value checks) or samples (per-sample checks). */
  readonly count?: number
  /**
   * The first offender's measured quantity: x' (range, finite, zeroFixed, support), x (assumption),
   * |x'−x| (ballLinf), max(x'/x, x/x'), ∞ where x' ≤ 0 (ratioLinf), the sample's norm (ballL2, ratioL2).
   */
  readonly got?: number
  /** Its limit (the bound evaluated at this clip's N; for range, the end that is crossed; 0 for zeroFixed). */
  readonly allowed?: number
  /** The violation in words, naming the guarantee, the first offender and how many offend. */
  readonly message: string
}

/** The values of a clip: a tensor's `dataSync()` (a tensor's `data` is a method), else `data`. */
const valuesOf = (c: ClipLike): ArrayLike<number> =>
  'dataSync' in c && typeof c.dataSync === 'function' ? c.dataSync() : (c as { readonly data: Float32Array }).data

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

/** The measured quantity and its limit, where a check has them. */
type Measure = Pick<Violation, 'got' | 'allowed'>

/**
 * The violations of `certificate` by x' = `xAdv` for the clean clip `x`, empty when it holds. Bounds
 * pass within tolerance (≤ bound·(1 + rtol) + atol); the support is exact (x' = x bit-identically
 * outside it; with restarts, outside the random regions of some run); NaN/±Inf in x' and x outside
 * [0, 1] (the certificate's assumption) are always violations. Each names the guarantee, the first
 * offender ([n,t,h,w,c] or sample) and how many offend.
 */
export const verify = (certificate: Certificate, x: ClipLike, xAdv: ClipLike, options: VerifyOptions = {}): ReadonlyArray<Violation> => {
  if (x.shape.length !== 5 || xAdv.shape.length !== 5 || x.shape.some((d, i) => d !== xAdv.shape[i]))
    return [{ bound: 'shape', message: `shapes must be equal [N, T, H, W, C], got x [${x.shape.join(', ')}] and x' [${xAdv.shape.join(', ')}]` }]
  const [N, T, H, W, C] = x.shape as readonly [number, number, number, number, number]
  const batch: Batch = { N, T, H, W, C }
  const a = valuesOf(x)
  const b = valuesOf(xAdv)
  const size = N * T * H * W * C
  if (a.length !== size || b.length !== size)
    return [{ bound: 'shape', message: `shape [${x.shape.join(', ')}] holds ${size} values, but x has ${a.length} and x' ${b.length}` }]
  const perSample = T * H * W * C
  const rtol = options.rtol ?? 1e-5
  const atol = options.atol ?? 1e-6
  const slack = (bound: number) => Math.abs(bound) * rtol + atol
  const exceeds = (value: number, bound: number) => !(value <= bound + slack(bound))
  const index = (i: number) =>
    [Math.floor(i / perSample), Math.floor(i / (C * W * H)) % T, Math.floor(i / (C * W)) % H, Math.floor(i / C) % W, i % C] as const
  const at = (i: number) => `[${index(i).join(',')}]`
  const show = (i: number) => `x=${f32(a[i]!)}, x'=${f32(b[i]!)}`
  const violations: Violation[] = []

  /** Reports the first value failing a check, and how many fail it. */
  const each = (bound: Checked, fails: (i: number) => boolean, describe: (i: number) => string, measure: (i: number) => Measure) => {
    let first = -1
    let count = 0
    for (let i = 0; i < size; i++)
      if (fails(i)) {
        if (first < 0) first = i
        count++
      }
    if (first >= 0)
      violations.push({
        bound,
        sample: Math.floor(first / perSample),
        index: index(first),
        count,
        ...measure(first),
        message: `${describe(first)} (${plural(count, 'value')})`,
      })
  }
  /** Reports the first sample failing a check, and how many fail it. */
  const perSampleCheck = (bound: Checked, value: (n: number) => number, allowed: number, describe: (n: number, v: number) => string) => {
    const failing = Array.from({ length: N }, (_, n) => n).filter((n) => exceeds(value(n), allowed))
    if (failing.length === 0) return
    const n = failing[0]!
    const got = value(n)
    violations.push({ bound, sample: n, count: failing.length, got, allowed, message: `${describe(n, got)} (${plural(failing.length, 'sample')})` })
  }
  const norm = (n: number, f: (i: number) => number) => {
    let s = 0
    for (let i = n * perSample; i < (n + 1) * perSample; i++) s += f(i) ** 2
    return Math.sqrt(s)
  }
  const boundText = (bound: Bound) =>
    bound.rms === 0 ? num(bound.abs) : `${showBound(bound)} = ${num(bound.abs + bound.rms * Math.sqrt(perSample))} (N=${perSample})`
  const valueOf = (bound: Bound) => bound.abs + bound.rms * Math.sqrt(perSample)

  each(
    'assumption',
    (i) => !(a[i]! >= 0 && a[i]! <= 1),
    (i) => `assumption x ∈ [0, 1] violated at ${at(i)}: x=${f32(a[i]!)}`,
    (i) => ({ got: a[i]! }),
  )
  each('finite', (i) => !Number.isFinite(b[i]!), (i) => `x' is not finite at ${at(i)}: ${b[i]}`, (i) => ({ got: b[i]! }))
  const { range, ballLinf, ballL2, ratioLinf, ratioL2, zeroFixed } = certificate
  if (range !== null)
    each(
      'range',
      (i) => b[i]! < range.lo - slack(range.lo) || b[i]! > range.hi + slack(range.hi),
      (i) => `range [${range.lo}, ${range.hi}] violated at ${at(i)}: x'=${f32(b[i]!)}`,
      (i) => ({ got: b[i]!, allowed: b[i]! < range.lo ? range.lo : range.hi }),
    )
  if (ballLinf !== null)
    each(
      'ballLinf',
      (i) => exceeds(Math.abs(b[i]! - a[i]!), ballLinf),
      (i) => `L∞ ball ε=${num(ballLinf)} violated at ${at(i)}: ${show(i)}, |x'−x|=${num(Math.abs(b[i]! - a[i]!))}`,
      (i) => ({ got: Math.abs(b[i]! - a[i]!), allowed: ballLinf }),
    )
  if (ratioLinf !== null)
    each(
      'ratioLinf',
      (i) => a[i]! > 0 && (!(b[i]! > 0) || exceeds(Math.max(b[i]! / a[i]!, a[i]! / b[i]!), ratioLinf)),
      (i) => `ratio bound ε=${num(ratioLinf)} violated at ${at(i)}: ${show(i)}, ratio ${num(b[i]! / a[i]!)}`,
      (i) => ({ got: b[i]! > 0 ? Math.max(b[i]! / a[i]!, a[i]! / b[i]!) : Infinity, allowed: ratioLinf }),
    )
  if (zeroFixed)
    each(
      'zeroFixed',
      (i) => a[i] === 0 && b[i] !== 0,
      (i) => `zero fixed point violated at ${at(i)}: ${show(i)}`,
      (i) => ({ got: b[i]!, allowed: 0 }),
    )
  if (ballL2 !== null)
    perSampleCheck(
      'ballL2',
      (n) => norm(n, (i) => b[i]! - a[i]!),
      valueOf(ballL2),
      (n, v) => `L2 ball ‖x'−x‖₂ ≤ ${boundText(ballL2)} violated by sample ${n}: ‖x'−x‖₂=${num(v)}`,
    )
  if (ratioL2 !== null) {
    const { reading } = ratioL2
    const ratio = (i: number) => (a[i]! > 0 ? b[i]! / a[i]! : 1)
    // 'literal' sums over x > 0 only, as the interpreters project it (the zeros' ratio 1 cannot move)
    const TERM: Readonly<Record<typeof reading, (i: number) => number>> = {
      log: (i) => Math.log(ratio(i)),
      literal: (i) => (a[i]! > 0 ? ratio(i) : 0),
      deviation: (i) => ratio(i) - 1,
    }
    perSampleCheck(
      'ratioL2',
      (n) => norm(n, TERM[reading]),
      valueOf(ratioL2.bound),
      (n, v) => `L2 ratio bound (${reading}) ${READING_NORM[reading]} ≤ ${boundText(ratioL2.bound)} violated by sample ${n}: ${num(v)}`,
    )
  }
  const seeds = runSeeds(certificate.seed, certificate.restarts)
  const support = supportTest(certificate.support, batch, seeds, options.searched, { a, b })
  if (support) {
    const { outside, windows, perRun } = support
    const draws = perRun ? ` in each of the ${seeds.length} runs' draws` : ''
    if (windows.length === 0)
      each(
        'support',
        (i) => outside(i) && a[i] !== b[i],
        (i) => `x' ≠ x outside the support (${supportText(certificate.support)}${draws}) at ${at(i)}: ${show(i)}`,
        (i) => ({ got: b[i]! }),
      )
    else
      for (let n = 0; n < N; n++)
        for (const miss of windowViolations({ a, b }, outside, windows, batch, n)) violations.push({ bound: 'support', ...miss })
  }
  return violations
}
