/**
 * The reference interpreter's starts: x' ← init(x), one rule per `Init` tag, drawn from the run's seed.
 *
 * @since 0.2.0
 */
import { gaussianNoise, uniformNoise } from '../../core/noise.js'
import { match } from '../../dsl/match.js'
import type { Init } from '../../dsl/types.js'
import { clip01, effective, maskOf, perGroupNorm, type Geometry } from './geometry.js'

/** x' at the start of a run on clean clips `x`. */
export const initialise = match<Init, Float32Array, [Float32Array, Geometry]>({
  Clean: (_, x) => Float32Array.from(x),
  Uniform: (init, x, g) => {
    const eps = effective(init.eps, init.units, g)
    const mask = init.region ? maskOf(init.region, g) : undefined
    const noise = init.norm === 'linf' ? uniformNoise(g.seed, x.length) : gaussianNoise(g.seed, x.length)
    const z = noise.map((v, i) => (mask && !g.inside(mask, i) ? 0 : v))
    // L∞: x + ε·U(−1, 1); L2: x + ε·z/‖z‖₂ per sample
    const scaleOf = init.norm === 'linf' ? () => eps : perGroupNorm(z, g.perSample, (n) => (n > 0 ? eps / n : 0))
    return x.map((v, i) => clip01(v + z[i]! * scaleOf(i)))
  },
  UniformRatio: (init, x, g) => {
    const mask = init.region ? maskOf(init.region, g) : undefined
    const u = uniformNoise(g.seed, x.length)
    return x.map((v, i) => (mask && !g.inside(mask, i) ? v : clip01(v * Math.exp(u[i]! * Math.log(init.eps)))))
  },
  Fill: (init, x, g) => {
    const mask = maskOf(init.region, g)
    return x.map((v, i) => (g.inside(mask, i) ? init.value : v))
  },
})
