/**
 * The reference interpreter's constraints, one rule per `Constraint` tag, each applied to x' with x
 * the clean clip.
 *
 * @since 0.2.0
 */
import { match } from '../../dsl/match.js'
import type { Constraint, RatioReading } from '../../dsl/types.js'
import { effective, perGroupNorm, type Geometry } from './geometry.js'

const constrain = match<Constraint, Float32Array, [Float32Array, Float32Array, Geometry]>({
  Clip: (c, _, xAdv) => xAdv.map((v) => Math.min(c.hi, Math.max(c.lo, v))),
  ProjectBall: (c, x, xAdv, g) => {
    const eps = effective(c.eps, c.units, g)
    if (c.norm === 'linf') return xAdv.map((v, i) => (Math.abs(v - x[i]!) > eps ? x[i]! + Math.sign(v - x[i]!) * eps : v))
    const delta = xAdv.map((v, i) => v - x[i]!)
    const norm = perGroupNorm(delta, g.perSample, (n) => n)
    return xAdv.map((v, i) => (norm(i) > eps ? x[i]! + delta[i]! * (eps / norm(i)) : v))
  },
  ProjectRatio: (c, x, xAdv, g) =>
    c.norm === 'linf'
      ? xAdv.map((v, i) => Math.min(Math.max(v, x[i]! / c.eps), x[i]! * c.eps))
      : ratioL2(c.reading, effective(c.reading === 'log' ? Math.log(c.eps) : c.eps, c.units, g), x, xAdv, g),
})

const ratioL2 = (reading: RatioReading, bound: number, x: Float32Array, xAdv: Float32Array, g: Geometry) => {
  // ratios capped at 1e30 (floored at 1e−30 for the log reading), as the tensor interpreter does
  const ratio = Float64Array.from(xAdv, (v, i) => (x[i]! > 0 ? Math.min(Math.max(v / x[i]!, reading === 'log' ? 1e-30 : -1e30), 1e30) : 1))
  const v = ratio.map((r, i) => (reading === 'log' ? Math.log(r) : reading === 'literal' ? (x[i]! > 0 ? r : 0) : r - 1))
  const norm = perGroupNorm(v, g.perSample, (n) => n)
  return xAdv.map((e, i) => {
    if (!(x[i]! > 0)) return 0
    if (!(norm(i) > bound)) return e
    const s = v[i]! * (bound / norm(i))
    return x[i]! * (reading === 'log' ? Math.exp(s) : reading === 'literal' ? s : s + 1)
  })
}

/** Applies `constraints` in order. */
export const applyConstraints = (constraints: ReadonlyArray<Constraint>, x: Float32Array, xAdv: Float32Array, g: Geometry): Float32Array =>
  constraints.reduce((v, c) => constrain(c, x, v, g), xAdv)
