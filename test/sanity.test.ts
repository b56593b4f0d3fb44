/**
 * The sanity record of a returned clip (src/interpreters/tensor/sanity.ts) against a float64 loop over
 * its definition, on generated clips and perturbations — exact zeros and saturated pixels, positive
 * pixels sent to 0, values outside [0, 1], NaN and ±∞ — on cpu and wasm: the quick path (distances
 * from the ratio's extremes) and the written-out one it falls back to must both agree with it. And the
 * final re-projection left out where it cannot change x' (Clip and L∞ projections) is a bit-for-bit
 * no-op there, on generated constraint lists.
 */
import test from 'ava'
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '../src/backend/backend.js'
import type { Constraint } from '../src/dsl/types.js'
import * as attacks from '../src/dsl/attacks.js'
import { evaluate } from '../src/interpreters/tensor/sanity.js'
import { goalOf, objectiveFor } from '../src/interpreters/tensor/loss.js'
import { project, reprojectionCanChange } from '../src/interpreters/tensor/constraint.js'

test.before(async () => {
  await initBackend('cpu')
  await initBackend('wasm')
})

const SHAPE = [2, 2, 3, 3, 3] as const
const SIZE = SHAPE.reduce((a, b) => a * b, 1)
const PER = SIZE / SHAPE[0]

/** The record by its definition, in float64: r = x'/x where x > 0 (1 where x = 0). */
const byDefinition = (x: Float32Array, xa: Float32Array) => {
  const sample = (n: number) => {
    let linf = 0
    let sq = 0
    let ratio = 1
    let logSq = 0
    for (let i = n * PER; i < (n + 1) * PER; i++) {
      const d = xa[i]! - x[i]!
      linf = Math.max(linf, Math.abs(d))
      sq += d * d
      const r = x[i]! > 0 ? xa[i]! / x[i]! : 1
      ratio = Math.max(ratio, r, 1 / r)
      logSq += Math.log(r) ** 2
    }
    return { linf, l2: Math.sqrt(sq), ratio, logRatio: Math.sqrt(logSq) }
  }
  const finite = Array.from(xa).filter(Number.isFinite)
  const per = [0, 1].map(sample)
  return {
    linf: per.map((p) => p.linf),
    l2: per.map((p) => p.l2),
    ratioLinf: per.map((p) => p.ratio),
    logRatioL2: per.map((p) => p.logRatio),
    nanCount: SIZE - finite.length,
    min: Math.min(...finite),
    max: Math.max(...finite),
  }
}

/** A clean clip with exact zeros and ones, and x' from it: scaled, some pixels to 0, some outside [0, 1], some NaN or ±∞. */
const pair = fc
  .record({
    x: fc.array(fc.oneof(fc.constant(0), fc.constant(1), fc.float({ min: Math.fround(1e-6), max: 1, noNaN: true })), { minLength: SIZE, maxLength: SIZE }),
    factor: fc.array(fc.float({ min: Math.fround(0.5), max: 2, noNaN: true }), { minLength: SIZE, maxLength: SIZE }),
    zeroed: fc.array(fc.nat(SIZE - 1), { maxLength: 3 }),
    outside: fc.array(fc.tuple(fc.nat(SIZE - 1), fc.constantFrom(-0.25, 1.5)), { maxLength: 2 }),
    broken: fc.array(fc.tuple(fc.nat(SIZE - 1), fc.constantFrom(NaN, Infinity, -Infinity)), { maxLength: 2 }),
  })
  .map(({ x, factor, zeroed, outside, broken }) => {
    const xa = Float32Array.from(x, (v, i) => Math.min(1, v * factor[i]!))
    for (const i of zeroed) xa[i] = 0
    for (const [i, v] of outside) xa[i] = v
    for (const [i, v] of broken) xa[i] = v
    return { x: Float32Array.from(x), xa }
  })

const close = (a: number, b: number): boolean => (Number.isFinite(b) ? Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)) : a === b || (Number.isNaN(a) && Number.isNaN(b)))

for (const backend of ['cpu', 'wasm'] as const)
  test.serial(`${backend}: the sanity record agrees with its definition (zeros, saturation, values outside [0, 1], NaN and ±∞)`, async (t) => {
    tf.setBackend(backend)
    const before = tf.memory().numTensors
    const model = (v: tf.Tensor5D) => tf.tidy(() => tf.reshape(tf.sum(tf.where(tf.isFinite(v), v, tf.zerosLike(v)), [1, 2, 3]), [2, 3]) as tf.Tensor2D)
    const attack = attacks.multLinf()
    const goal = goalOf(attack.loss.target, [0, 1])
    const objective = objectiveFor(attack.loss, goal)
    await fc.assert(
      fc.asyncProperty(pair, async ({ x, xa }) => {
        const [xt, xat] = [tf.tensor5d(x, [...SHAPE]), tf.tensor5d(xa, [...SHAPE])]
        try {
          const got = (await evaluate(xat, xt, [0, 1], goal, model, objective)).sanity
          const want = byDefinition(x, xa)
          const clean = want.nanCount === 0
          // with a NaN or ±∞ in x', the distances of its sample are the backend's NaN arithmetic; the count and the range are defined
          const fields = clean ? (['linf', 'l2', 'ratioLinf', 'logRatioL2'] as const) : []
          for (const k of fields) for (const n of [0, 1]) if (!close(got[k][n]!, want[k][n]!)) throw new Error(`${k}[${n}]: ${got[k][n]} against ${want[k][n]}`)
          for (const k of ['nanCount', 'min', 'max'] as const) if (!close(got[k], want[k])) throw new Error(`${k}: ${got[k]} against ${want[k]}`)
        } finally {
          tf.dispose([xt, xat])
        }
      }),
      { numRuns: 150 },
    )
    objective.dispose()
    t.is(tf.memory().numTensors, before)
  })

/** Clip and L∞ constraints with generated bounds (Clip's bounds need not contain x), ε and order. */
const intervals: fc.Arbitrary<Constraint[]> = fc.array(
  fc.oneof(
    fc.tuple(fc.float({ min: -1, max: 1, noNaN: true }), fc.float({ min: 0, max: 2, noNaN: true })).map(([a, b]): Constraint => ({ _tag: 'Clip', lo: Math.min(a, b), hi: Math.max(a, b) })),
    fc.float({ min: Math.fround(1e-4), max: 1, noNaN: true }).map((eps): Constraint => ({ _tag: 'ProjectBall', norm: 'linf', eps, units: 'absolute' })),
    fc.float({ min: Math.fround(1.0001), max: 3, noNaN: true }).map((eps): Constraint => ({ _tag: 'ProjectRatio', norm: 'linf', eps, reading: 'log', units: 'absolute' })),
  ),
  { minLength: 1, maxLength: 4 },
)

for (const backend of ['cpu', 'wasm'] as const)
  test.serial(`${backend}: after a step's projection onto Clip and L∞ constraints, projecting again changes nothing, bit for bit`, (t) => {
    tf.setBackend(backend)
    const before = tf.memory().numTensors
    fc.assert(
      fc.property(intervals, pair, (constraints, { x, xa }) => {
        if (reprojectionCanChange(constraints)) return false
        const finiteXa = xa.map((v) => (Number.isFinite(v) ? v : 0.5))
        return tf.tidy(() => {
          const [xt, xat] = [tf.tensor5d(x, [...SHAPE]), tf.tensor5d(finiteXa, [...SHAPE])]
          const once = project(constraints, xt, xat)
          const twice = project(constraints, xt, once)
          const [a, b] = [once.dataSync(), twice.dataSync()]
          return a.every((v, i) => Object.is(v, b[i]))
        })
      }),
      { numRuns: 200 },
    )
    t.true(reprojectionCanChange([{ _tag: 'ProjectBall', norm: 'l2', eps: 1, units: 'absolute' }]))
    t.is(tf.memory().numTensors, before)
  })
