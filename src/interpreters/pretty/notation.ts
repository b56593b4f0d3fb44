/**
 * What differs between the pretty-printer's output languages (Unicode, LaTeX): the renderers of the
 * symbols and operators. The rule tables (`rules.ts`) build every formula from these, so the two
 * notations cannot disagree on a formula's structure, only on how it is written.
 *
 * @since 0.2.0
 */
import type { BallNorm, NormScope, RatioReading, Region, Units } from '../../dsl/types.js'

/** One output language: every symbol and operator of the algebra's formulas. */
export interface Notation {
  readonly number: (v: number) => string
  /** `v` times √N for a per-value ('rms') parameter; `v` as is for an absolute one. */
  readonly times: (v: string, units: Units) => string
  /** √N·d: a per-value ('rms') exponent. */
  readonly rootN: (d: string) => string
  /** `v` raised to √N for a per-value ('rms') ratio radius. */
  readonly power: (v: string, units: Units) => string
  /** a·b (a step size times its schedule multiplier); an empty operand is left out. */
  readonly product: (a: string, b: string) => string
  /** s_i = base^i. */
  readonly exponential: (base: string) => string
  /** s_i = base^⌊i/every⌋. */
  readonly stepDecay: (base: string, every: number) => string
  /** ∇ₓL: the gradient of the loss the attacker ascends. */
  readonly grad: string
  /** ∇ₓ(−L(x', t)): the gradient towards target `t` (a class symbol). */
  readonly gradTowards: (t: string) => string
  readonly sign: (d: string) => string
  readonly normalize: (d: string, scope: NormScope) => string
  readonly mask: (region: Region, e: string) => string
  /** The complement of a mask, applied to `e`. */
  readonly unmask: (region: Region, e: string) => string
  /** The name of momentum buffer k (1-based) of `count` in the attack (just m when there is one). */
  readonly buffer: (k: number, count: number) => string
  /** m ← μ·m + d/mean|d|, m = 0 at the start. */
  readonly momentum: (m: string, decay: string, d: string) => string
  readonly add: (x: string, alpha: string, d: string) => string
  readonly multiply: (x: string, base: string, exponent: string) => string
  readonly clip: (lo: string, hi: string, inner: string) => string
  readonly ball: (norm: BallNorm, eps: string, inner: string) => string
  readonly ratio: (norm: BallNorm, reading: RatioReading | '', eps: string, inner: string) => string
  readonly uniform: (lo: string, hi: string) => string
  readonly gaussianStep: (eps: string) => string
  readonly gaussianNoise: (region: Region | undefined) => string
  readonly exp: (e: string) => string
  readonly ln: (e: string) => string
  readonly neg: (e: string) => string
  readonly assign: (rhs: string) => string
  readonly equals: (rhs: string) => string
  /** The class symbols: the true label y, one target t, sample n's target tₙ. */
  readonly classes: { readonly y: string; readonly t: string; readonly tn: string }
  /** z_c: the logit of class c. */
  readonly logit: (c: string) => string
  /** max_{j≠c} z_j: the largest other logit. */
  readonly maxOther: (c: string) => string
  readonly minus: (a: string, b: string) => string
  /** min(e, κ): an objective capped at the confidence κ. */
  readonly cap: (e: string, kappa: string) => string
  /** The label of body step k of `count` (which iterations i run it). */
  readonly label: (formula: string, k: number, count: number) => string
  /** A line that is not a formula. */
  readonly note: (text: string) => string
}

// -------------------------------------------------------------------------------------------------
// numbers (shared: both notations print the same digits)
// -------------------------------------------------------------------------------------------------

/** The shortest decimal of `v` (at most 12 significant digits, so float noise such as 0.1 + 0.2 reads 0.3). */
export const decimal = (v: number): string => String(Number(v.toPrecision(12)))

/**
 * `v` as a fraction when its decimal is long (more than 3 significant digits) and 0 < |v| < 1:
 * k/255 for a multiple of 1/255 (a pixel level, e.g. 4/255), else 1/k for the reciprocal of an
 * integer (e.g. 1/1227). Short decimals (0.01, 0.2 = 51/255) stay decimal.
 */
export const fraction = (v: number): { readonly num: number; readonly den: number } | undefined => {
  if (v === 0 || Math.abs(v) >= 1 || decimal(Math.abs(v)).replace(/^0\.0*/, '').length <= 3) return undefined
  const k = v * 255
  if (Math.abs(k - Math.round(k)) < 1e-9) return { num: Math.round(k), den: 255 }
  const inv = 1 / Math.abs(v)
  if (Math.abs(inv - Math.round(inv)) < 1e-9) return { num: Math.sign(v), den: Math.round(inv) }
  return undefined
}

/** Labels listed in a loss line at most; the rest are counted. */
export const LABELS_SHOWN = 8

/** A per-sample label list: `3, 1, 4` (the first {@link LABELS_SHOWN}, then `… (n labels)`). */
export const labelList = (labels: ReadonlyArray<number>): string =>
  labels.length <= LABELS_SHOWN
    ? labels.join(', ')
    : `${labels.slice(0, LABELS_SHOWN).join(', ')}, … (${labels.length} labels)`
