/**
 * The reference interpreter's directions: d(g) in float64, one rule per `Direction` tag.
 *
 * Momentum keeps a state m per occurrence, keyed by the body step's index and the node's path inside
 * that step's direction ("1/of.of": step 1, the direction's child's child). It persists across the
 * iterations that run that body step, and is stored as float32 after each update.
 *
 * @since 0.2.0
 */
import { match, type Rules } from '../../dsl/match.js'
import type { Direction } from '../../dsl/types.js'
import { maskOf, perGroup, perGroupNorm, type Geometry } from './geometry.js'

/** The momentum states of one run, by occurrence key. */
export type MomentumState = Map<string, Float32Array>

export interface DirectionContext {
  /** ∇ₓL at the current iterate. */
  readonly grad: Float32Array
  readonly g: Geometry
  readonly state: MomentumState
  /** The index of the body step this direction belongs to. */
  readonly step: number
  /** The node's path inside the step's direction ('' at its root). */
  readonly path: string
}

const child = (c: DirectionContext): DirectionContext => ({ ...c, path: c.path === '' ? 'of' : `${c.path}.of` })

const rules: Rules<Direction, Float64Array, [DirectionContext]> = {
  Gradient: (_, c) => Float64Array.from(c.grad),
  Sign: (d, c) => direction(d.of, child(c)).map(Math.sign),
  Normalize: (d, c) => {
    const v = direction(d.of, child(c))
    const inv = perGroupNorm(v, d.scope === 'sample' ? c.g.perSample : c.g.perFrame, (n) => (n > 0 ? 1 / n : 1))
    return v.map((e, i) => e * inv(i))
  },
  MaskRegion: (d, c) => {
    const mask = maskOf(d.region, c.g)
    return direction(d.of, child(c)).map((e, i) => (c.g.inside(mask, i) ? e : 0))
  },
  // m ← μ·m + d / mean|d| per sample (the term is 0 where d is all zero); the value is m
  Momentum: (d, c) => {
    const v = direction(d.of, child(c))
    const key = `${c.step}/${c.path}`
    const m = c.state.get(key)
    const inv = perGroup(v, c.g.perSample, Math.abs, (s) => (s > 0 ? c.g.perSample / s : 0))
    const next = Float32Array.from(v, (e, i) => d.decay * (m?.[i] ?? 0) + e * inv(i))
    c.state.set(key, next)
    return Float64Array.from(next)
  },
}

/** d for the current iterate; updates the momentum states it passes. */
export const direction: (d: Direction, c: DirectionContext) => Float64Array = match(rules)
