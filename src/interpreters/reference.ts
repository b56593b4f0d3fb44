/**
 * A small reference interpreter over Float32Array: the same semantics as the tensor interpreter,
 * written as plain loops in float64 and stored as float32 after each step. Meant for tiny clips, as the
 * oracle in tests; the gradient comes from a caller-supplied function. Searched rectangles need a
 * model: pass the masks a tensor run found (`AttackResult.searched`) as `options.searched`.
 *
 * @since 0.1.0
 */
import type { Attack, Constraint, Direction, Init, RatioReading, Region, Step, Units } from '../dsl/types.js'
import { gaussianNoise, uniformNoise } from '../core/noise.js'
import { batchMask, type Searched } from './regions.js'

import type { ClipData } from '../core/clip.js'

/** ∇ of the attacker's objective (the one it ascends) at x', same layout as x'. */
export type GradientOracle = (xAdv: Float32Array) => Float32Array

/** Runs `attack` on `x` and returns x' (before any model evaluation). */
export const runReference = (
  attack: Attack,
  gradientOf: GradientOracle,
  x: ClipData,
  options: { readonly seed?: number; readonly searched?: Searched } = {},
): Float32Array => {
  const seed = options.seed ?? attack.seed
  const geo = geometry(x.shape, seed, options.searched)
  let xAdv = initialise(attack.init, x.data, seed, geo)
  for (let i = 0; i < attack.steps; i++) {
    const step = attack.body[i % attack.body.length] as Step
    xAdv = applyStep(step, x.data, xAdv, gradientOf(xAdv), geo)
  }
  const last = attack.body[(attack.steps - 1) % attack.body.length] as Step
  return applyConstraints(last.constraints, x.data, xAdv, geo)
}

interface Geometry {
  readonly shape: ClipData['shape']
  readonly perSample: number
  readonly perFrame: number
  readonly seed: number
  readonly searched: Searched | undefined
  /** Mask value of flat index i for a batch mask ([N, T, H, W]), broadcast over channels. */
  readonly inside: (mask: Uint8Array, i: number) => boolean
}

const geometry = (shape: ClipData['shape'], seed: number, searched: Searched | undefined): Geometry => {
  const C = shape[4]
  return {
    shape,
    perSample: shape[1] * shape[2] * shape[3] * C,
    perFrame: shape[2] * shape[3] * C,
    seed,
    searched,
    inside: (mask, i) => mask[Math.floor(i / C)] === 1,
  }
}

const effective = (value: number, units: Units, g: Geometry) => (units === 'rms' ? value * Math.sqrt(g.perSample) : value)

const clip01 = (v: number) => Math.min(1, Math.max(0, v))

const maskOf = (region: Region, g: Geometry) =>
  batchMask(region, { T: g.shape[1], H: g.shape[2], W: g.shape[3] }, g.shape[0], g.seed, g.searched)

const initialise = (init: Init, x: Float32Array, seed: number, g: Geometry): Float32Array => {
  switch (init._tag) {
    case 'Clean':
      return Float32Array.from(x)
    case 'Uniform': {
      const eps = effective(init.eps, init.units, g)
      const mask = init.region ? maskOf(init.region, g) : undefined
      const noise = init.norm === 'linf' ? uniformNoise(seed, x.length) : gaussianNoise(seed, x.length)
      const z = noise.map((v, i) => (mask && !g.inside(mask, i) ? 0 : v))
      const scaleOf = init.norm === 'linf' ? () => eps : perGroupNorm(z, g.perSample, (n) => (n > 0 ? eps / n : 0))
      return x.map((v, i) => clip01(v + z[i]! * scaleOf(i)))
    }
    case 'Fill': {
      const mask = maskOf(init.region, g)
      return x.map((v, i) => (g.inside(mask, i) ? init.value : v))
    }
    case 'UniformRatio': {
      const mask = init.region ? maskOf(init.region, g) : undefined
      const u = uniformNoise(seed, x.length)
      return x.map((v, i) => (mask && !g.inside(mask, i) ? v : clip01(v * Math.exp(u[i]! * Math.log(init.eps)))))
    }
  }
}

/** A per-index function of the L2 norm of each group of `size` consecutive values. */
const perGroupNorm = (v: ArrayLike<number>, size: number, f: (norm: number) => number) => {
  const values: number[] = []
  for (let start = 0; start < v.length; start += size) {
    let s = 0
    for (let i = start; i < start + size; i++) s += v[i]! ** 2
    values.push(f(Math.sqrt(s)))
  }
  return (i: number) => values[Math.floor(i / size)]!
}

const direction = (d: Direction, grad: Float32Array, g: Geometry): Float64Array => {
  switch (d._tag) {
    case 'Gradient':
      return Float64Array.from(grad)
    case 'Sign':
      return direction(d.of, grad, g).map(Math.sign)
    case 'Normalize': {
      const v = direction(d.of, grad, g)
      const inv = perGroupNorm(v, d.scope === 'sample' ? g.perSample : g.perFrame, (n) => (n > 0 ? 1 / n : 1))
      return v.map((e, i) => e * inv(i))
    }
    case 'MaskRegion': {
      const mask = maskOf(d.region, g)
      return direction(d.of, grad, g).map((e, i) => (g.inside(mask, i) ? e : 0))
    }
  }
}

const applyStep = (step: Step, x: Float32Array, xAdv: Float32Array, grad: Float32Array, g: Geometry) => {
  const u = step.update
  const updated =
    u._tag === 'Add'
      ? addScaled(xAdv, direction(u.offset.of, grad, g), effective(u.offset.alpha, u.offset.units, g))
      : multiplyExp(xAdv, direction(u.factor.of, grad, g), effective(Math.log(u.factor.alpha), u.factor.units, g))
  return applyConstraints(step.constraints, x, updated, g)
}

const addScaled = (v: Float32Array, d: Float64Array, alpha: number) => v.map((e, i) => e + alpha * d[i]!)

/** x' ⊙ exp(d·ln α), the exponent capped at 88 as the tensor interpreter does (0 stays 0, never 0·∞). */
const multiplyExp = (v: Float32Array, d: Float64Array, logAlpha: number) => v.map((e, i) => e * Math.exp(Math.min(d[i]! * logAlpha, 88)))

const applyConstraints = (cs: ReadonlyArray<Constraint>, x: Float32Array, xAdv: Float32Array, g: Geometry) =>
  cs.reduce((v, c) => constrain(c, x, v, g), xAdv)

const constrain = (c: Constraint, x: Float32Array, xAdv: Float32Array, g: Geometry): Float32Array => {
  switch (c._tag) {
    case 'Clip':
      return xAdv.map((v) => Math.min(c.hi, Math.max(c.lo, v)))
    case 'ProjectBall': {
      const eps = effective(c.eps, c.units, g)
      if (c.norm === 'linf') return xAdv.map((v, i) => (Math.abs(v - x[i]!) > eps ? x[i]! + Math.sign(v - x[i]!) * eps : v))
      const delta = xAdv.map((v, i) => v - x[i]!)
      const norm = perGroupNorm(delta, g.perSample, (n) => n)
      return xAdv.map((v, i) => (norm(i) > eps ? x[i]! + delta[i]! * (eps / norm(i)) : v))
    }
    case 'ProjectRatio':
      return c.norm === 'linf'
        ? xAdv.map((v, i) => Math.min(Math.max(v, x[i]! / c.eps), x[i]! * c.eps))
        : ratioL2(c.reading, effective(c.reading === 'log' ? Math.log(c.eps) : c.eps, c.units, g), x, xAdv, g)
  }
}

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
