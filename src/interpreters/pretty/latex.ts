/**
 * The LaTeX notation (math mode): `x' \leftarrow \mathrm{clip}_{[0,1]}\big(…\big)`; lines that are
 * not formulas are LaTeX comments.
 *
 * @since 0.2.0
 */
import { decimal, fraction, type Notation } from './notation.js'
import { regionText } from './region.js'

const latexNumber = (v: number): string => {
  const f = fraction(Math.abs(v))
  return `${v < 0 ? '-' : ''}${f ? `\\tfrac{${f.num}}{${f.den}}` : decimal(Math.abs(v))}`
}

/** Region names in text mode, with the braces of `frames{0,2}` escaped. */
const latexRegion = (r: Parameters<typeof regionText>[0]) => `\\text{${regionText(r).replace(/[{}]/g, (b) => `\\${b}`)}}`

/** A base that is a fraction is parenthesised before a power. */
const base = (b: string): string => (b.includes('\\tfrac') ? `(${b})` : b)

export const latex: Notation = {
  number: latexNumber,
  times: (v, units) => (units === 'rms' ? `${v}\\sqrt{N}` : v),
  rootN: (d) => `\\sqrt{N} \\cdot ${d}`,
  power: (v, units) => (units === 'rms' ? `${v}^{\\sqrt{N}}` : v),
  product: (a, b) => [a, b].filter((e) => e !== '').join(' \\cdot '),
  exponential: (b) => `${base(b)}^{i}`,
  stepDecay: (b, every) => `${base(b)}^{\\lfloor i/${every} \\rfloor}`,
  grad: '\\nabla_x L',
  gradTowards: (t) => `\\nabla_x(-L(x', ${t}))`,
  sign: (d) => `\\operatorname{sign}(${d})`,
  normalize: (d, scope) => `\\frac{${d}}{\\lVert ${d} \\rVert_{2${scope === 'frame' ? ',\\mathrm{frame}' : ''}}}`,
  mask: (region, e) => `M_{${latexRegion(region)}} \\odot ${e}`,
  unmask: (region, e) => `(1 - M_{${latexRegion(region)}}) \\odot ${e}`,
  buffer: (k, count) => (count === 1 ? 'm' : `m_{${k}}`),
  momentum: (m, decay, d) =>
    `${m} \\leftarrow ${decay} \\cdot ${m} + \\frac{${d}}{\\operatorname{mean}\\lvert ${d} \\rvert} \\quad (${m} = 0 \\text{ at the start})`,
  add: (x, alpha, d) => `${x} + ${alpha === '' ? d : `${alpha} \\cdot ${d}`}`,
  multiply: (x, b, e) => (b === '' ? `${x} \\odot ${e}` : `${x} \\odot ${b}^{${e}}`),
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
  classes: { y: 'y', t: 't', tn: 't_n' },
  logit: (c) => `z_{${c}}`,
  maxOther: (c) => `\\max_{j \\neq ${c}} z_j`,
  minus: (a, b) => `${a} - ${b}`,
  cap: (e, kappa) => `\\min(${e}, ${kappa})`,
  label: (formula, k, count) => `${formula} \\quad (i \\bmod ${count} = ${k})`,
  note: (text) => `% ${text}`,
}
