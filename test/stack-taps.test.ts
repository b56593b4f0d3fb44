/**
 * conv3d's stacked-taps image (src/ops/stack-taps.ts): the wasm kernel and the tf-op path against a
 * loop over the definition, image[n·T' + t, h·K + i] = x[n, st·t + k0 + i − front, h] (0 outside the
 * clip), on generated geometries — exactly, with exact zeros and saturated values in the clip — and
 * the tf-op path whenever a gradient tape records (the kernel has no gradient).
 */
import test from 'ava'
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '../src/backend/backend.js'
import { stackTaps, stackTapsTuning } from '../src/ops/stack-taps.js'

test.before(async () => {
  await initBackend('wasm')
})

interface Case {
  readonly shape: [number, number, number, number, number]
  readonly k0: number
  readonly K: number
  readonly st: number
  readonly outT: number
  readonly front: number
  readonly seed: number
}

const cases: fc.Arbitrary<Case> = fc.record({
  shape: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 })),
  k0: fc.integer({ min: 0, max: 2 }),
  K: fc.integer({ min: 1, max: 4 }),
  st: fc.constantFrom(1, 2),
  outT: fc.integer({ min: 1, max: 6 }),
  front: fc.integer({ min: 0, max: 3 }),
  seed: fc.integer({ min: 0, max: 1e6 }),
})

/** Values with exact zeros and saturated ones among them, distinct elsewhere. */
const clip = ({ shape, seed }: Case): Float32Array =>
  Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => {
    const v = ((i + 1) * 2654435761 + seed) % 1009
    return v < 100 ? 0 : v > 900 ? 1 : v / 1009
  })

/** The definition, by loops. */
const byDefinition = (c: Case, x: Float32Array): Float32Array => {
  const [N, T, H, W, C] = c.shape
  const row = W * C
  const out = new Float32Array(N * c.outT * c.K * H * row)
  for (let n = 0; n < N; n++)
    for (let t = 0; t < c.outT; t++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < c.K; i++) {
          const f = c.st * t + c.k0 + i - c.front
          if (f < 0 || f >= T) continue
          for (let j = 0; j < row; j++) out[(((n * c.outT + t) * H + h) * c.K + i) * row + j] = x[((n * T + f) * H + h) * row + j]!
        }
  return out
}

const image = (c: Case, data: Float32Array, path: 'auto' | 'ops'): Float32Array => {
  stackTapsTuning.path = path
  try {
    return tf.tidy(() => {
      const y = stackTaps(tf.tensor5d(data, c.shape), c)
      const [N, , H, W, C] = c.shape
      if (y.shape.join() !== [N * c.outT, c.K * H, W, C].join()) throw new Error(`shape [${y.shape}]`)
      return y.dataSync() as Float32Array
    })
  } finally {
    stackTapsTuning.path = 'auto'
  }
}

test('the wasm kernel and the tf-op path both give the image by definition, exactly (zeros outside the clip)', (t) => {
  const before = tf.memory().numTensors
  fc.assert(
    fc.property(cases, (c) => {
      const x = clip(c)
      const want = byDefinition(c, x)
      const kernel = image(c, x, 'auto')
      const ops = image(c, x, 'ops')
      const same = (got: Float32Array) => got.length === want.length && got.every((v, i) => Object.is(v, want[i]))
      return same(kernel) && same(ops)
    }),
    { numRuns: 200 },
  )
  t.is(tf.memory().numTensors, before)
})

test('the kernel runs on wasm outside a tape; under a tape the tf ops run, so the image has a gradient', async (t) => {
  const before = tf.memory().numTensors
  const c: Case = { shape: [2, 4, 3, 2, 2], k0: 0, K: 3, st: 1, outT: 4, front: 1, seed: 7 }
  const x = tf.tensor5d(clip(c), c.shape)
  const kernels = async (f: () => tf.Tensor) => {
    const info = await tf.profile(() => f())
    tf.dispose(info.result as tf.Tensor)
    return info.kernelNames
  }
  t.deepEqual(await kernels(() => stackTaps(x, c)), ['MultavStackTaps'])
  // d/dx of sum(image · 1): each frame counted once per tap that reads it
  const g = tf.grad((v: tf.Tensor) => tf.sum(stackTaps(v as tf.Tensor5D, c)))(x)
  const perFrame = Array.from({ length: 4 }, (_, f) => [0, 1, 2].filter((i) => Array.from({ length: 4 }, (_, tt) => tt + i - 1).includes(f)).length)
  const want = Array.from({ length: 2 * 4 * 3 * 2 * 2 }, (_, j) => perFrame[Math.floor(j / 12) % 4]!)
  t.deepEqual(Array.from(await g.data()), want)
  tf.dispose([x, g])
  t.is(tf.memory().numTensors, before)
})
