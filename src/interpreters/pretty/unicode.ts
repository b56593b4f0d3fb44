/**
 * The Unicode notation: `x' ← clip[0,1](Π_ratio∞(1.04)(x' ⊙ 1.01^sign(∇ₓL)))`.
 *
 * @since 0.2.0
 */
import { decimal, fraction, type Notation } from './notation.js'
import { regionText } from './region.js'

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

const SUBSCRIPT = '₀₁₂₃₄₅₆₇₈₉'
const subscript = (k: number): string => String(k).replace(/\d/g, (d) => SUBSCRIPT[Number(d)]!)

export const unicode: Notation = {
  number: unicodeNumber,
  times: (v, units) => (units === 'rms' ? `${v.includes('/') ? `(${v})` : v}·√N` : v),
  rootN: (d) => `√N·${d}`,
  power: (v, units) => (units === 'rms' ? `${v}^√N` : v),
  product: (a, b) => [a, b].filter((e) => e !== '').join('·'),
  exponential: (base) => `${group(base)}^i`,
  stepDecay: (base, every) => `${group(base)}^⌊i/${every}⌋`,
  grad: '∇ₓL',
  gradTowards: (t) => `∇ₓ(−L(x', ${t}))`,
  sign: (d) => `sign(${d})`,
  normalize: (d, scope) => `${group(d)}/‖${d}‖₂${scope === 'frame' ? ',frame' : ''}`,
  mask: (region, e) => `M[${regionText(region)}]⊙${group(e)}`,
  unmask: (region, e) => `M[¬${regionText(region)}]⊙${group(e)}`,
  buffer: (k, count) => (count === 1 ? 'm' : `m${subscript(k)}`),
  momentum: (m, decay, d) => `${m} ← ${decay}·${m} + ${group(d)}/mean|${d}|    (${m} = 0 at the start)`,
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
  classes: { y: 'y', t: 't', tn: 'tₙ' },
  logit: (c) => `z_${c}`,
  maxOther: (c) => `max_{j≠${c}} z_j`,
  minus: (a, b) => `${a} − ${b}`,
  cap: (e, kappa) => `min(${e}, ${kappa})`,
  label: (formula, k, count) => `${formula}    (step i mod ${count} = ${k})`,
  note: (text) => text,
}
