/**
 * multav's wasm kernels, each against its tf-op path and a loop over its definition, on generated
 * geometries, exactly (clips with exact zeros and saturated values):
 * - conv3d's stacked-taps image (src/ops/stack-taps.ts), image[n·T' + t, h·K + i] =
 *   x[n, st·t + k0 + i − front, h] (0 outside the clip);
 * - the input gradient's phase interleave (src/ops/interleave.ts; phases as tensors or as channel groups), dx[n, t, h, w] =
 *   phase(t mod s_t, h mod s_h, w mod s_w)[n, ⌊t/s_t⌋, ⌊h/s_h⌋, ⌊w/s_w⌋];
 * and the tf-op path whenever a gradient tape records (the kernels have no gradient).
 */
import test from 'ava'
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '../src/backend/backend.js'
import { stackTaps, stackTapsTuning } from '../src/ops/stack-taps.js'
import { interleaveChannelGroups, interleavePhases, interleaveTuning } from '../src/ops/interleave.js'

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

test.serial('the kernel runs on wasm outside a tape; under a tape the tf ops run, so the image has a gradient', async (t) => {
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

interface Weave {
  readonly n: number
  readonly C: number
  readonly strides: [number, number, number]
  readonly size: [number, number, number]
  readonly seed: number
}

const weaves: fc.Arbitrary<Weave> = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  C: fc.constantFrom(1, 3, 16, 20),
  strides: fc.tuple(fc.constantFrom(1, 2), fc.constantFrom(1, 2), fc.constantFrom(1, 2)),
  size: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 })),
  seed: fc.integer({ min: 0, max: 1e6 }),
})

/** The phases' shape [n, ⌈T/s_t⌉, ⌈H/s_h⌉, ⌈W/s_w⌉, C] and values (zeros and ones among them), one array per phase. */
const phasesOf = (c: Weave): { shape: [number, number, number, number, number]; data: Float32Array[] } => {
  const shape: [number, number, number, number, number] = [c.n, ...c.size.map((l, i) => Math.ceil(l / c.strides[i]!)) as [number, number, number], c.C]
  const count = c.strides[0] * c.strides[1] * c.strides[2]
  const data = Array.from({ length: count }, (_, p) => clip({ shape, k0: 0, K: 1, st: 1, outT: 1, front: 0, seed: c.seed + 7919 * p }))
  return { shape, data }
}

const weaveByDefinition = (c: Weave, shape: ReadonlyArray<number>, data: ReadonlyArray<Float32Array>): Float32Array => {
  const [T, H, W] = c.size
  const [st, sh, sw] = c.strides
  const [, mt, mh, mw] = shape as [number, number, number, number]
  const out = new Float32Array(c.n * T * H * W * c.C)
  for (let n = 0; n < c.n; n++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++)
          for (let e = 0; e < c.C; e++) {
            const p = ((t % st) * sh + (h % sh)) * sw + (w % sw)
            const at = (((n * mt + Math.floor(t / st)) * mh + Math.floor(h / sh)) * mw + Math.floor(w / sw)) * c.C + e
            out[(((n * T + t) * H + h) * W + w) * c.C + e] = data[p]![at]!
          }
  return out
}

test('the phase interleave (separate phases, or channel groups of one tensor): the wasm kernel and the tf-op path both give dx by definition, exactly', (t) => {
  const before = tf.memory().numTensors
  fc.assert(
    fc.property(weaves, (c) => {
      const { shape, data } = phasesOf(c)
      const want = weaveByDefinition(c, shape, data)
      const woven = (path: 'auto' | 'ops') => {
        interleaveTuning.path = path
        try {
          return tf.tidy(() => interleavePhases(data.map((d) => tf.tensor5d(d, shape)), c.strides, c.size).dataSync() as Float32Array)
        } finally {
          interleaveTuning.path = 'auto'
        }
      }
      // the phases as the channel groups of one tensor (phase p: channels p·C …)
      const grouped = (path: 'auto' | 'ops') => {
        interleaveTuning.path = path
        try {
          return tf.tidy(() => interleaveChannelGroups(tf.concat(data.map((d) => tf.tensor5d(d, shape)), 4), c.strides, c.size).dataSync() as Float32Array)
        } finally {
          interleaveTuning.path = 'auto'
        }
      }
      const same = (got: Float32Array) => got.length === want.length && got.every((v, i) => Object.is(v, want[i]))
      return same(woven('auto')) && same(woven('ops')) && same(grouped('auto')) && same(grouped('ops'))
    }),
    { numRuns: 200 },
  )
  t.is(tf.memory().numTensors, before)
})

test.serial('the interleave kernel runs on wasm outside a tape; under a tape the tf ops run and carry the gradient back to each phase', async (t) => {
  const before = tf.memory().numTensors
  const c: Weave = { n: 1, C: 2, strides: [2, 2, 2], size: [3, 3, 4], seed: 1 }
  const { shape, data } = phasesOf(c)
  const parts = data.map((d) => tf.tensor5d(d, shape))
  const info = await tf.profile(() => interleavePhases(parts, c.strides, c.size))
  tf.dispose(info.result as tf.Tensor)
  t.deepEqual(info.kernelNames, ['MultavInterleave'])
  // d/dphase of sum(dx): 1 where the phase's value lands inside dx, 0 where the crop drops it
  const grads = tf.grads((...ps: tf.Tensor[]) => tf.sum(interleavePhases(ps as tf.Tensor5D[], c.strides, c.size)))(parts)
  const ones = weaveByDefinition(c, shape, data.map((d) => d.map(() => 1)))
  t.is(ones.reduce((a, b) => a + b, 0), 3 * 3 * 4 * 2)
  const kept = (await Promise.all(grads.map((g) => g.data()))).reduce((s, g) => s + Array.from(g as Float32Array).reduce((a, b) => a + b, 0), 0)
  t.is(kept, 3 * 3 * 4 * 2)
  // phase (1, 1, 1), [1, 2, 2, 2, 2]: time 1 and row 1 land inside dx (time 3 and row 3 do not), columns 1 and 3 both do
  t.deepEqual(Array.from(await grads[7]!.data()), [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
  tf.dispose([...parts, ...grads])
  t.is(tf.memory().numTensors, before)
})
