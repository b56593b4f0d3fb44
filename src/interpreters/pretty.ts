/**
 * The pretty-printer: an attack written as the paper would write it, in Unicode or LaTeX.
 *
 * One line per body step: the update, wrapped by each constraint in order (the innermost is applied
 * first); then `steps`, `init`, `loss` and `seed`. N is the number of values per sample (T·H·W·C):
 * a parameter given per value ('rms' units) is shown with its factor √N — an rms step α·√N, an rms
 * exponent α^(√N·d), an rms L2 radius ε·√N, and an rms log-ratio radius ε^√N (‖log(x'/x)‖₂ ≤ √N·ln ε).
 *
 * @example
 * explain(attacks.multLinf()).split('\n')[0]
 * // "x' ← clip[0,1](Π_ratio∞(1.04)(x' ⊙ 1.01^sign(∇ₓL)))"
 *
 * @since 0.1.0
 */
import { absurd } from 'fp-ts/lib/function.js'
import type { Attack, Constraint, Direction, Init, Loss, Region, Step, Units, Update } from '../dsl/types.js'

// -------------------------------------------------------------------------------------------------
// numbers
// -------------------------------------------------------------------------------------------------

/** The shortest decimal of `v` (at most 12 significant digits, so float noise such as 0.1 + 0.2 reads 0.3). */
const decimal = (v: number): string => String(Number(v.toPrecision(12)))

/**
 * `v` as a fraction when its decimal is long (more than 3 significant digits) and 0 < |v| < 1:
 * k/255 for a multiple of 1/255 (a pixel level, e.g. 4/255), else 1/k for the reciprocal of an
 * integer (e.g. 1/1227). Short decimals (0.01, 0.2 = 51/255) stay decimal.
 */
const fraction = (v: number): { readonly num: number; readonly den: number } | undefined => {
  if (v === 0 || Math.abs(v) >= 1 || decimal(Math.abs(v)).replace(/^0\.0*/, '').length <= 3) return undefined
  const k = v * 255
  if (Math.abs(k - Math.round(k)) < 1e-9) return { num: Math.round(k), den: 255 }
  const inv = 1 / Math.abs(v)
  if (Math.abs(inv - Math.round(inv)) < 1e-9) return { num: Math.sign(v), den: Math.round(inv) }
  return undefined
}

// -------------------------------------------------------------------------------------------------
// notation: what differs between Unicode and LaTeX
// -------------------------------------------------------------------------------------------------

/** The notation of one output language: every node of the algebra has its renderer here. */
interface Notation {
  readonly number: (v: number) => string
  /** `v` times √N for a per-value ('rms') parameter; `v` as is for an absolute one. */
  readonly times: (v: string, units: Units) => string
  /** √N·d: a per-value ('rms') exponent. */
  readonly rootN: (d: string) => string
  /** `v` raised to √N for a per-value ('rms') ratio radius. */
  readonly power: (v: string, units: Units) => string
  readonly grad: (loss: Loss) => string
  readonly sign: (d: string) => string
  readonly normalize: (d: string, scope: 'sample' | 'frame') => string
  readonly mask: (region: Region, e: string) => string
  /** The complement of a mask, applied to `e`. */
  readonly unmask: (region: Region, e: string) => string
  readonly add: (x: string, alpha: string, d: string) => string
  readonly multiply: (x: string, base: string, exponent: string) => string
  readonly clip: (lo: string, hi: string, inner: string) => string
  readonly ball: (norm: 'linf' | 'l2', eps: string, inner: string) => string
  readonly ratio: (norm: 'linf' | 'l2', reading: string, eps: string, inner: string) => string
  readonly uniform: (lo: string, hi: string) => string
  readonly gaussianStep: (eps: string) => string
  readonly gaussianNoise: (region: Region | undefined) => string
  readonly exp: (e: string) => string
  readonly ln: (e: string) => string
  readonly neg: (e: string) => string
  readonly assign: (rhs: string) => string
  readonly equals: (rhs: string) => string
  /** The label of body step k of `count` (which iterations i run it). */
  readonly label: (formula: string, k: number, count: number) => string
  /** A line that is not a formula. */
  readonly note: (text: string) => string
}

// -------------------------------------------------------------------------------------------------
// the algebra, rendered through a notation
// -------------------------------------------------------------------------------------------------

const direction = (n: Notation, d: Direction, loss: Loss): string => {
  switch (d._tag) {
    case 'Gradient':
      return n.grad(loss)
    case 'Sign':
      return n.sign(direction(n, d.of, loss))
    case 'Normalize':
      return n.normalize(direction(n, d.of, loss), d.scope)
    case 'MaskRegion':
      return n.mask(d.region, direction(n, d.of, loss))
    default:
      return absurd(d)
  }
}

const update = (n: Notation, u: Update, loss: Loss): string => {
  switch (u._tag) {
    case 'Add':
      return n.add("x'", n.times(n.number(u.offset.alpha), u.offset.units), direction(n, u.offset.of, loss))
    case 'Multiply': {
      const d = direction(n, u.factor.of, loss)
      return n.multiply("x'", n.number(u.factor.alpha), u.factor.units === 'rms' ? n.rootN(d) : d)
    }
    default:
      return absurd(u)
  }
}

const constraint = (n: Notation, c: Constraint, inner: string): string => {
  switch (c._tag) {
    case 'Clip':
      return n.clip(n.number(c.lo), n.number(c.hi), inner)
    case 'ProjectBall':
      return n.ball(c.norm, n.times(n.number(c.eps), c.units), inner)
    case 'ProjectRatio': {
      // ProjectRatio L∞ reads ε as is (a ratio has no per-value scale); L2 log: ‖log(x'/x)‖₂ ≤ ln(ε^√N).
      const eps = n.number(c.eps)
      if (c.norm === 'linf') return n.ratio('linf', '', eps, inner)
      return n.ratio('l2', c.reading, c.reading === 'log' ? n.power(eps, c.units) : n.times(eps, c.units), inner)
    }
    default:
      return absurd(c)
  }
}

const step = (n: Notation, s: Step, loss: Loss): string =>
  n.assign(s.constraints.reduce((inner, c) => constraint(n, c, inner), update(n, s.update, loss)))

const init = (n: Notation, i: Init): string => {
  const masked = (region: Region | undefined, e: string) => (region === undefined ? e : n.mask(region, e))
  switch (i._tag) {
    case 'Clean':
      return n.equals('x')
    case 'Uniform': {
      const eps = n.times(n.number(i.eps), i.units)
      const noise = i.norm === 'linf' ? masked(i.region, n.uniform(n.neg(eps), eps)) : n.gaussianStep(eps)
      const start = n.equals(n.clip('0', '1', n.add('x', '', noise)))
      return i.norm === 'linf' ? start : `${start}, ${n.gaussianNoise(i.region)}`
    }
    case 'UniformRatio': {
      const ln = n.ln(n.number(i.eps))
      return n.equals(n.clip('0', '1', n.multiply('x', '', n.exp(masked(i.region, n.uniform(n.neg(ln), ln))))))
    }
    case 'Fill':
      return n.equals(`${n.mask(i.region, n.number(i.value))} + ${n.unmask(i.region, 'x')}`)
    default:
      return absurd(i)
  }
}

const lossText = (loss: Loss): string => {
  switch (loss.target._tag) {
    case 'Untargeted':
      return 'cross-entropy, untargeted'
    case 'Targeted':
      return `cross-entropy, targeted (t=${loss.target.label})`
    default:
      return absurd(loss.target)
  }
}

const render = (n: Notation, attack: Attack): string =>
  [
    ...attack.body.map((s, k) => {
      const formula = step(n, s, attack.loss)
      return attack.body.length === 1 ? formula : n.label(formula, k, attack.body.length)
    }),
    n.note(`steps: ${attack.steps}`),
    n.note(`init: ${init(n, attack.init)}`),
    n.note(`loss: ${lossText(attack.loss)}`),
    n.note(`seed: ${attack.seed}`),
  ].join('\n')

// -------------------------------------------------------------------------------------------------
// Unicode
// -------------------------------------------------------------------------------------------------

/** A short name for a region: `frames{0,2}`, `box 30x30 @(10,20)`, `rect 30x30 per frame`, `ring 10`, `(A ∪ B)`, … */
export const regionText = (r: Region): string => {
  switch (r._tag) {
    case 'Frames':
      return `frames{${r.indices.join(',')}}`
    case 'Box':
      return `box ${r.height}x${r.width} @(${r.top},${r.left})`
    case 'Rect':
      return `rect ${r.height}x${r.width} ${r.placement === 'perFrame' ? 'per frame' : 'shared'}`
    case 'SearchedRect':
      return `rect ${r.height}x${r.width} searched (${r.search}${r.search === 'gradient' ? `, top ${r.topK}` : ''}, stride ${r.stride}) ${r.scope === 'perFrame' ? 'per frame' : 'shared'}`
    case 'Ring':
      return `ring ${r.width}`
    case 'Pixels':
      return `${r.perFrame} pixels per frame`
    case 'Union':
      return `(${r.regions.map(regionText).join(' ∪ ')})`
    case 'Intersection':
      return `(${r.regions.map(regionText).join(' ∩ ')})`
    case 'Complement':
      return `¬${regionText(r.of)}`
    default:
      return absurd(r)
  }
}

/** True when `e` has an operator outside every (), [], {} and ‖‖: it then needs parentheses to be an operand. */
const compound = (e: string): boolean => {
  let depth = 0
  let inNorm = false
  for (const ch of e) {
    if ('([{'.includes(ch)) depth++
    else if (')]}'.includes(ch)) depth--
    else if (ch === '‖') inNorm = !inNorm
    else if (depth === 0 && !inNorm && ' /·⊙+−'.includes(ch)) return true
  }
  return false
}

/** Parentheses around a compound expression used as an operand (LaTeX needs none: \frac and ^{…} group). */
const group = (e: string): string => (compound(e) ? `(${e})` : e)

const unicodeNumber = (v: number): string => {
  const f = fraction(Math.abs(v))
  return `${v < 0 ? '−' : ''}${f ? `${f.num}/${f.den}` : decimal(Math.abs(v))}`
}

const unicode: Notation = {
  number: unicodeNumber,
  times: (v, units) => (units === 'rms' ? `${v.includes('/') ? `(${v})` : v}·√N` : v),
  rootN: (d) => `√N·${d}`,
  power: (v, units) => (units === 'rms' ? `${v}^√N` : v),
  grad: (loss) => (loss.target._tag === 'Targeted' ? `∇ₓ(−L(x', t=${loss.target.label}))` : '∇ₓL'),
  sign: (d) => `sign(${d})`,
  normalize: (d, scope) => `${group(d)}/‖${d}‖₂${scope === 'frame' ? ',frame' : ''}`,
  mask: (region, e) => `M[${regionText(region)}]⊙${group(e)}`,
  unmask: (region, e) => `M[¬${regionText(region)}]⊙${group(e)}`,
  add: (x, alpha, d) => (alpha === '' ? `${x} + ${d}` : alpha.startsWith('−') ? `${x} − ${alpha.slice(1)}·${d}` : `${x} + ${alpha}·${d}`),
  multiply: (x, base, e) => (base === '' ? `${x} ⊙ ${e}` : `${x} ⊙ ${base}^${group(e)}`),
  clip: (lo, hi, inner) => `clip[${lo},${hi}](${inner})`,
  ball: (norm, eps, inner) => `Π_${norm === 'linf' ? '∞' : '2'}(${eps})(${inner})`,
  ratio: (norm, reading, eps, inner) => (norm === 'linf' ? `Π_ratio∞(${eps})(${inner})` : `Π_ratio2,${reading}(${eps})(${inner})`),
  uniform: (lo, hi) => `U(${lo}, ${hi})`,
  gaussianStep: (eps) => `${eps}·z/‖z‖₂`,
  gaussianNoise: (region) => (region === undefined ? 'z ~ N(0, I)' : `z ~ M[${regionText(region)}]⊙N(0, I)`),
  exp: (e) => `exp(${e})`,
  ln: (e) => `ln ${e}`,
  neg: (e) => `−${e}`,
  assign: (rhs) => `x' ← ${rhs}`,
  equals: (rhs) => `x' = ${rhs}`,
  label: (formula, k, count) => `${formula}    (step i mod ${count} = ${k})`,
  note: (text) => text,
}

/**
 * The attack as the paper would write it: one update formula per body step (labelled with the
 * iterations i that run it when there are several), then `steps`, `init`, `loss` and `seed` lines.
 */
export const explain = (attack: Attack): string => render(unicode, attack)

// -------------------------------------------------------------------------------------------------
// LaTeX
// -------------------------------------------------------------------------------------------------

const latexNumber = (v: number): string => {
  const f = fraction(Math.abs(v))
  return `${v < 0 ? '-' : ''}${f ? `\\tfrac{${f.num}}{${f.den}}` : decimal(Math.abs(v))}`
}

/** Region names in text mode, with the braces of `frames{0,2}` escaped. */
const latexRegion = (r: Region) => `\\text{${regionText(r).replace(/[{}]/g, (b) => `\\${b}`)}}`

const latex: Notation = {
  number: latexNumber,
  times: (v, units) => (units === 'rms' ? `${v}\\sqrt{N}` : v),
  rootN: (d) => `\\sqrt{N} \\cdot ${d}`,
  power: (v, units) => (units === 'rms' ? `${v}^{\\sqrt{N}}` : v),
  grad: (loss) => (loss.target._tag === 'Targeted' ? `\\nabla_x(-L(x', t=${loss.target.label}))` : '\\nabla_x L'),
  sign: (d) => `\\operatorname{sign}(${d})`,
  normalize: (d, scope) => `\\frac{${d}}{\\lVert ${d} \\rVert_{2${scope === 'frame' ? ',\\mathrm{frame}' : ''}}}`,
  mask: (region, e) => `M_{${latexRegion(region)}} \\odot ${e}`,
  unmask: (region, e) => `(1 - M_{${latexRegion(region)}}) \\odot ${e}`,
  add: (x, alpha, d) => `${x} + ${alpha === '' ? d : `${alpha} \\cdot ${d}`}`,
  multiply: (x, base, e) => (base === '' ? `${x} \\odot ${e}` : `${x} \\odot ${base}^{${e}}`),
  clip: (lo, hi, inner) => `\\mathrm{clip}_{[${lo},${hi}]}\\big(${inner}\\big)`,
  ball: (norm, eps, inner) => `\\Pi_{${norm === 'linf' ? '\\infty' : '2'},${eps}}(${inner})`,
  ratio: (norm, reading, eps, inner) =>
    norm === 'linf'
      ? `\\Pi^{\\mathrm{ratio}}_{\\infty,${eps}}(${inner})`
      : `\\Pi^{\\mathrm{ratio},\\mathrm{${reading}}}_{2,${eps}}(${inner})`,
  uniform: (lo, hi) => `\\mathcal{U}(${lo}, ${hi})`,
  gaussianStep: (eps) => `${eps} \\cdot \\frac{z}{\\lVert z \\rVert_2}`,
  gaussianNoise: (region) => (region === undefined ? 'z \\sim \\mathcal{N}(0, I)' : `z \\sim M_{${latexRegion(region)}} \\odot \\mathcal{N}(0, I)`),
  exp: (e) => `\\exp(${e})`,
  ln: (e) => `\\ln ${e}`,
  neg: (e) => `-${e}`,
  assign: (rhs) => `x' \\leftarrow ${rhs}`,
  equals: (rhs) => `x' = ${rhs}`,
  label: (formula, k, count) => `${formula} \\quad (i \\bmod ${count} = ${k})`,
  note: (text) => `% ${text}`,
}

/**
 * The same formula(s) in LaTeX (math mode, one per line); the `steps`, `init` (a LaTeX formula),
 * `loss` and `seed` lines follow as LaTeX comments.
 */
export const explainLatex = (attack: Attack): string => render(latex, attack)
