/**
 * The pretty-printer: an attack written as the paper would write it, in Unicode or LaTeX.
 *
 * @example
 * explain(attacks.multLinf()).split('\n')[0]
 * // "x' ← clip[0,1](Π_ratio∞(1.04)(x' ⊙ 1.01^sign(∇ₓL)))"
 *
 * @since 0.1.0
 */
import type { Attack, Constraint, Direction, Init, Loss, Region, Step, Units } from '../dsl/types.js'

/** The notation of one output language. */
interface Notation {
  readonly grad: (loss: Loss) => string
  readonly sign: (d: string) => string
  readonly normalize: (d: string, scope: 'sample' | 'frame') => string
  readonly mask: (region: string, d: string) => string
  readonly region: (r: Region) => string
  readonly number: (v: number) => string
  /** α·√N when the units are per value. */
  readonly scaled: (v: string, units: Units) => string
  readonly add: (x: string, offset: string) => string
  readonly multiply: (x: string, base: string, exponent: string) => string
  readonly constraint: (c: Constraint, inner: string) => string
  readonly assign: (rhs: string) => string
  readonly uniform: (lo: string, hi: string) => string
}

// -------------------------------------------------------------------------------------------------
// numbers
// -------------------------------------------------------------------------------------------------

/**
 * For 0 < |v| < 1 whose decimal form is long: k/255 for multiples of 1/255 (pixel levels), 1/k for
 * reciprocals of integers. Short decimals (0.01, 0.5) stay decimal.
 */
const fraction = (v: number): { readonly num: number; readonly den: number } | undefined => {
  if (v === 0 || Math.abs(v) >= 1 || decimal(v).replace(/^-?0\.0*/, '').length <= 3) return undefined
  const k = v * 255
  if (Math.abs(k - Math.round(k)) < 1e-9) return { num: Math.round(k), den: 255 }
  const inv = 1 / v
  if (Math.abs(inv - Math.round(inv)) < 1e-9) return { num: Math.sign(v), den: Math.abs(Math.round(inv)) }
  return undefined
}

const decimal = (v: number): string => String(Number(v.toPrecision(6)))

// -------------------------------------------------------------------------------------------------
// shared structure
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
      return n.mask(n.region(d.region), direction(n, d.of, loss))
  }
}

const stepFormula = (n: Notation, step: Step, loss: Loss): string => {
  const u = step.update
  const updated =
    u._tag === 'Add'
      ? n.add("x'", `${n.scaled(n.number(u.offset.alpha), u.offset.units)}·${direction(n, u.offset.of, loss)}`)
      : n.multiply("x'", n.number(u.factor.alpha), u.factor.units === 'rms' ? n.scaled(direction(n, u.factor.of, loss), 'rms') : direction(n, u.factor.of, loss))
  return n.assign(step.constraints.reduce((inner, c) => n.constraint(c, inner), updated))
}

const initFormula = (n: Notation, init: Init): string => {
  switch (init._tag) {
    case 'Clean':
      return "x' = x"
    case 'Uniform': {
      const eps = n.scaled(n.number(init.eps), init.units)
      const noise = init.norm === 'linf' ? n.uniform(`−${eps}`, eps) : `${eps}·z/‖z‖₂, z ~ N(0, I)`
      const masked = init.region ? n.mask(n.region(init.region), `(${noise})`) : noise
      return `x' = clip[0,1](x + ${masked})`
    }
    case 'Fill':
      return `x' = ${n.mask(n.region(init.region), n.number(init.value))} + ${n.mask(`¬${n.region(init.region)}`, 'x')}`
    case 'UniformRatio': {
      const noise = n.uniform(`−ln ${n.number(init.eps)}`, `ln ${n.number(init.eps)}`)
      return `x' = clip[0,1](x ⊙ exp(${init.region ? n.mask(n.region(init.region), noise) : noise}))`
    }
  }
}

const lossText = (loss: Loss): string =>
  loss.target._tag === 'Untargeted'
    ? 'cross-entropy with the true label, ascended (untargeted)'
    : `cross-entropy with class ${loss.target.label}, descended (targeted)`

const lines = (n: Notation, attack: Attack, comment: string): string => {
  const formulas =
    attack.body.length === 1
      ? [stepFormula(n, attack.body[0]!, attack.loss)]
      : attack.body.map((s, i) => `${stepFormula(n, s, attack.loss)}    ${comment}step i ≡ ${i} (mod ${attack.body.length})`)
  return [
    ...formulas,
    `${comment}steps: ${attack.steps}`,
    `${comment}init: ${initFormula(n, attack.init)}`,
    `${comment}loss: ${lossText(attack.loss)}`,
    `${comment}seed: ${attack.seed}`,
  ].join('\n')
}

// -------------------------------------------------------------------------------------------------
// Unicode
// -------------------------------------------------------------------------------------------------

/** A short name for a region: `frames{0,2}`, `rect 30x30 per frame`, `ring 10`, `(A ∪ B)`, … */
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
  }
}

const ballName = (norm: 'linf' | 'l2') => (norm === 'linf' ? '∞' : '2')

const unicode: Notation = {
  grad: (loss) => (loss.target._tag === 'Targeted' ? `∇ₓ(−L(x', t=${loss.target.label}))` : '∇ₓL'),
  sign: (d) => `sign(${d})`,
  normalize: (d, scope) => `${d}/‖${d}‖₂${scope === 'frame' ? ',frame' : ''}`,
  mask: (region, d) => `M[${region}]⊙${d}`,
  region: regionText,
  number: (v) => {
    const f = fraction(v)
    return f ? `${f.num}/${f.den}` : decimal(v)
  },
  scaled: (v, units) => (units === 'rms' ? `${v.includes('/') ? `(${v})` : v}·√N` : v),
  add: (x, offset) => `${x} + ${offset}`,
  multiply: (x, base, exponent) => `${x} ⊙ ${base}^${/[/·⊙ ]/.test(exponent) ? `(${exponent})` : exponent}`,
  constraint: (c, inner) => {
    switch (c._tag) {
      case 'Clip':
        return `clip[${decimal(c.lo)},${decimal(c.hi)}](${inner})`
      case 'ProjectBall':
        return `Π_${ballName(c.norm)}(${unicode.scaled(unicode.number(c.eps), c.units)})(${inner})`
      case 'ProjectRatio':
        return c.norm === 'linf'
          ? `Π_ratio∞(${unicode.number(c.eps)})(${inner})`
          : `Π_ratio2,${c.reading}(${unicode.number(c.eps)}${c.units === 'rms' ? ' per value' : ''})(${inner})`
    }
  },
  assign: (rhs) => `x' ← ${rhs}`,
  uniform: (lo, hi) => `U(${lo}, ${hi})`,
}

/**
 * The attack as the paper would write it: the update formula(s), then steps, init, loss and seed.
 * N is the number of values per sample (T·H·W·C), for parameters given per value ('rms').
 */
export const explain = (attack: Attack): string => lines(unicode, attack, '')

// -------------------------------------------------------------------------------------------------
// LaTeX
// -------------------------------------------------------------------------------------------------

const latexNorm = (norm: 'linf' | 'l2') => (norm === 'linf' ? '\\infty' : '2')

const latex: Notation = {
  grad: (loss) => (loss.target._tag === 'Targeted' ? `\\nabla_x(-L(x', t{=}${loss.target.label}))` : '\\nabla_x L'),
  sign: (d) => `\\operatorname{sign}(${d})`,
  normalize: (d, scope) => `\\frac{${d}}{\\lVert ${d} \\rVert_{2${scope === 'frame' ? ',\\mathrm{frame}' : ''}}}`,
  mask: (region, d) => `M_{${region}} \\odot ${d}`,
  region: (r) => `\\text{${regionText(r)}}`,
  number: (v) => {
    const f = fraction(v)
    return f ? `${f.num < 0 ? '-' : ''}\\tfrac{${Math.abs(f.num)}}{${f.den}}` : decimal(v)
  },
  scaled: (v, units) => (units === 'rms' ? `${v}\\sqrt{N}` : v),
  add: (x, offset) => `${x} + ${offset.replace('·', ' \\cdot ')}`,
  multiply: (x, base, exponent) => `${x} \\odot ${base}^{${exponent}}`,
  constraint: (c, inner) => {
    switch (c._tag) {
      case 'Clip':
        return `\\mathrm{clip}_{[${decimal(c.lo)},${decimal(c.hi)}]}\\big(${inner}\\big)`
      case 'ProjectBall':
        return `\\Pi_{${latexNorm(c.norm)},${latex.scaled(latex.number(c.eps), c.units)}}\\big(${inner}\\big)`
      case 'ProjectRatio':
        return c.norm === 'linf'
          ? `\\Pi^{\\mathrm{ratio}}_{\\infty,${latex.number(c.eps)}}\\big(${inner}\\big)`
          : `\\Pi^{\\mathrm{ratio},\\mathrm{${c.reading}}}_{2,${latex.number(c.eps)}${c.units === 'rms' ? '\\,\\mathrm{per\\,value}' : ''}}\\big(${inner}\\big)`
    }
  },
  assign: (rhs) => `x' \\leftarrow ${rhs}`,
  uniform: (lo, hi) => `\\mathcal{U}(${lo}, ${hi})`,
}

/** The same formula(s) in LaTeX (the extra lines as LaTeX comments). */
export const explainLatex = (attack: Attack): string => lines(latex, attack, '% ')
