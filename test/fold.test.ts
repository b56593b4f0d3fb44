/**
 * The folded and fused paths against the plain ones:
 * - `fusedConv3d` (bias and ReLU in the convolution's kernel; taps stacked into one conv2d or summed)
 *   on wasm against native tf.conv3d + add + relu on cpu, over generated geometries — forward, input,
 *   filter and bias gradients, with cotangents of O(1) and of 1e-8;
 * - why the op runs wasm's FusedConv2D kernel itself (tf.fused.conv2d's gradient needs a kernel wasm lacks);
 * - `foldBatchNorm` and the 3D ResNet's folded inference against batch norm after the convolution:
 *   logits, input gradient and (outside an attack) weight gradients; a weight assigned inside an
 *   attack's scope gives a new fold, never a stale one; training mode is untouched.
 *
 * Both backends are used in one process, so every test is serial.
 */
import test from 'ava'
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-layers'
import { initBackend } from '../src/backend/backend.js'
import { r3d18, r3dTuning } from '../src/models/r3d.js'
import { conv3dTuning, filterCacheSize, fusedConv3d, withFilterCache, type Pads3, type Triple } from '../src/ops/conv3d.js'
import { foldBatchNorm } from '../src/ops/fold.js'
import { assertClose, describe, relError } from './suites/close.js'

test.before(async () => {
  await initBackend('cpu')
  await initBackend('wasm')
})

type Shape5 = [number, number, number, number, number]
const size = (shape: ReadonlyArray<number>): number => shape.reduce((a, b) => a * b, 1)

/** mulberry32: integers in [lo, hi] from a seed. */
const ints = (seed: number, n: number, lo: number, hi: number): Float32Array => {
  let a = seed >>> 0
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = lo + (((t ^ (t >>> 14)) >>> 0) % (hi - lo + 1))
  }
  return out
}

interface Case {
  readonly xShape: Shape5
  readonly wShape: Shape5
  readonly strides: Triple
  readonly pads: Pads3
  readonly relu: boolean
  /** Magnitude of the cotangent. */
  readonly scale: number
  readonly seed: number
}

const outSize = (n: number, k: number, s: number, [a, b]: readonly [number, number]): number => Math.floor((n + a + b - k) / s) + 1

/** Geometries whose kernel fits the padded input on every axis. */
const cases: fc.Arbitrary<Case> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    sizes: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 })),
    ks: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    ci: fc.integer({ min: 1, max: 4 }),
    co: fc.integer({ min: 1, max: 4 }),
    strides: fc.tuple(fc.constantFrom(1, 2), fc.constantFrom(1, 2), fc.constantFrom(1, 2)),
    pads: fc.tuple(...[0, 1, 2].map(() => fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })))),
    relu: fc.boolean(),
    scale: fc.constantFrom(1, 1e-8),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .filter(({ sizes, ks, pads }) => sizes.every((s, i) => ks[i]! <= s + pads[i]![0] + pads[i]![1]))
  .map(({ n, sizes, ks, ci, co, strides, pads, relu, scale, seed }) => ({
    xShape: [n, ...sizes, ci] as Shape5,
    wShape: [...ks, ci, co] as Shape5,
    strides: strides as Triple,
    pads: pads as unknown as Pads3,
    relu,
    scale,
    seed,
  }))

interface Result {
  readonly y: Float32Array
  readonly dx: Float32Array
  readonly dw: Float32Array
  readonly db: Float32Array
}

/**
 * Integer inputs and filter, biases k + 0.5: every pre-activation is an exact half-integer on both
 * backends (never 0, so the ReLU gates agree exactly); the cotangent r is integers times `scale`.
 */
const dataOf = (c: Case) => {
  const [N, T, H, W] = c.xShape
  const [kd, kh, kw, , Co] = c.wShape
  const yShape: Shape5 = [N, outSize(T, kd, c.strides[0], c.pads[0]), outSize(H, kh, c.strides[1], c.pads[1]), outSize(W, kw, c.strides[2], c.pads[2]), Co]
  return {
    x: ints(c.seed, size(c.xShape), -3, 3),
    w: ints(c.seed + 1, size(c.wShape), -2, 2),
    b: ints(c.seed + 2, Co, -4, 3).map((v) => v + 0.5),
    r: ints(c.seed + 3, size(yShape), -5, 5).map((v) => v * c.scale),
    yShape,
  }
}

/** The oracle: native tf.conv3d on cpu (explicit pads as tf.pad), then + bias and ReLU, by autodiff. */
const oracle = (c: Case): Result => {
  tf.setBackend('cpu')
  const d = dataOf(c)
  return tf.tidy(() => {
    const [x, w, b, r] = [tf.tensor5d(d.x, c.xShape), tf.tensor5d(d.w, c.wShape), tf.tensor1d(d.b), tf.tensor5d(d.r, d.yShape)]
    const f = (xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) => {
      const xp = tf.pad(xv, [[0, 0], ...c.pads.map(([p, q]) => [p, q] as [number, number]), [0, 0]])
      const z = tf.add(tf.conv3d(xp as tf.Tensor5D, wv as tf.Tensor5D, c.strides as [number, number, number], 'valid'), bv)
      return c.relu ? tf.relu(z) : z
    }
    const y = f(x, w, b)
    const [dx, dw, db] = tf.grads((xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) => tf.sum(tf.mul(f(xv, wv, bv), r)))([x, w, b])
    return { y: y.dataSync() as Float32Array, dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array, db: db!.dataSync() as Float32Array }
  })
}

/** fusedConv3d on wasm with the given tap strategy ('stacked, unmerged': without merging a small dx's spatial phases). */
const fused = (c: Case, variant: 'stacked' | 'taps' | 'stacked, unmerged'): Result => {
  tf.setBackend('wasm')
  conv3dTuning.strategy = variant === 'taps' ? 'taps' : 'stacked'
  conv3dTuning.mergePhases = variant !== 'stacked, unmerged'
  const d = dataOf(c)
  try {
    return tf.tidy(() => {
      const [x, w, b, r] = [tf.tensor5d(d.x, c.xShape), tf.tensor5d(d.w, c.wShape), tf.tensor1d(d.b), tf.tensor5d(d.r, d.yShape)]
      const f = (xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) =>
        fusedConv3d(xv, wv, { strides: c.strides, pad: c.pads, bias: bv, activation: c.relu ? 'relu' : 'linear' })
      const y = f(x, w, b)
      const [dx, dw, db] = tf.grads((xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) => tf.sum(tf.mul(f(xv, wv, bv), r)))([x, w, b])
      return { y: y.dataSync() as Float32Array, dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array, db: db!.dataSync() as Float32Array }
    })
  } finally {
    conv3dTuning.strategy = 'auto'
    conv3dTuning.mergePhases = true
  }
}

test.serial('fusedConv3d on wasm (stacked and summed taps; small dx phases merged or not) matches native conv3d + bias + ReLU on cpu: values and all gradients, O(1) and 1e-8 cotangents', (t) => {
  tf.setBackend('wasm')
  const before = tf.memory().numTensors
  fc.assert(
    fc.property(cases, (c) => {
      const want = oracle(c)
      for (const strategy of ['stacked', 'taps', 'stacked, unmerged'] as const) {
        const got = fused(c, strategy)
        // floor c.scale: a gradient that cancels to ~0 carries rounding of the cotangent's size
        for (const k of ['y', 'dx', 'dw', 'db'] as const) assertClose(`${strategy} ${k} for ${JSON.stringify(c)}`, got[k], want[k], 1e-5, c.scale)
      }
    }),
    { numRuns: 40, seed: 20261202 },
  )
  tf.setBackend('wasm')
  t.is(tf.memory().numTensors, before)
})

test.serial('fusedConv3d: with cached constant weights (inside an attack) the input gradient is the same and the second step makes nothing new', async (t) => {
  // 3x3x3, stride (1, 2, 2), pads 1: the layer shapes of a 3D ResNet; BN with γ = 1, σ² = 1, ε = 0 folds exactly
  const c: Case = { xShape: [2, 4, 6, 6, 3], wShape: [3, 3, 3, 3, 4], strides: [1, 2, 2], pads: [[1, 1], [1, 1], [1, 1]], relu: true, scale: 1e-8, seed: 7 }
  const want = oracle(c)
  tf.setBackend('wasm')
  const before = tf.memory().numTensors
  const d = dataOf(c)
  const [x, w, b, r] = [tf.tensor5d(d.x, c.xShape), tf.tensor5d(d.w, c.wShape), tf.tensor1d(d.b), tf.tensor5d(d.r, d.yShape)]
  const bn = { gamma: tf.ones([4]), beta: b, mean: tf.zeros([4]), variance: tf.ones([4]) }
  const dx = await withFilterCache(async () => {
    const step = () =>
      tf.tidy(() => {
        const folded = foldBatchNorm(w, bn, 0)
        return tf.grad((xv: tf.Tensor) => tf.sum(tf.mul(fusedConv3d(xv, folded.filter, { strides: c.strides, pad: c.pads, bias: folded.bias, activation: 'relu' }), r)))(x)
      })
    tf.dispose(step())
    const cached = filterCacheSize()
    const again = step()
    t.is(filterCacheSize(), cached, 'the second step makes nothing new')
    t.true(cached > 0)
    return again
  })
  const got = dx.dataSync() as Float32Array
  t.true(relError(got, want.dx, c.scale) <= 1e-5, describe(got, want.dx, c.scale))
  t.is(filterCacheSize(), 0)
  tf.dispose([dx, x, w, b, r, bn.gamma, bn.mean, bn.variance])
  t.is(tf.memory().numTensors, before)
})

test.serial("why fusedConv3d runs wasm's FusedConv2D kernel itself: tf.fused.conv2d's gradient is right on cpu but needs Conv2DBackpropFilter, which wasm lacks", (t) => {
  tf.setBackend('cpu')
  const before = tf.memory().numTensors
  const [x, w, b] = [tf.tensor4d(ints(1, 2 * 5 * 5 * 3, -3, 3), [2, 5, 5, 3]), tf.tensor4d(ints(2, 3 * 3 * 3 * 4, -2, 2), [3, 3, 3, 4]), tf.tensor1d(ints(3, 4, -4, 3).map((v) => v + 0.5))]
  for (const activation of ['linear', 'relu'] as const) {
    const fusedGrads = tf.grads((a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) => tf.sum(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f as tf.Tensor4D, bias: c, strides: 1, pad: 'same', activation })))([x, w, b])
    const plainGrads = tf.grads((a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) => {
      const y = tf.add(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'), c)
      return tf.sum(activation === 'relu' ? tf.relu(y) : y)
    })([x, w, b])
    fusedGrads.forEach((g, i) => t.deepEqual(Array.from(g.dataSync()), Array.from(plainGrads[i]!.dataSync()), `cpu, ${activation}: gradient ${i}`))
    tf.dispose([...fusedGrads, ...plainGrads])
  }
  tf.dispose([x, w, b])
  t.is(tf.memory().numTensors, before)
  t.truthy(tf.getKernel('FusedConv2D', 'wasm'))
  t.false(tf.getKernel('Conv2DBackpropFilter', 'wasm') !== undefined, "tf.fused.conv2d's gradient computes the filter's eagerly: it throws on wasm")
})

test.serial('fusedConv3d rejects a bias of the wrong shape and an unknown activation', (t) => {
  tf.setBackend('wasm')
  const before = tf.memory().numTensors
  const [x, w, two, three] = [tf.ones([1, 2, 4, 4, 2]), tf.ones([1, 3, 3, 2, 3]), tf.ones([2]), tf.ones([3])]
  t.throws(() => fusedConv3d(x, w, { bias: two }), { message: /bias must be \[3\]/ })
  t.throws(() => fusedConv3d(x, w, { activation: 'tanh' as 'relu' }), { message: /activation must be 'linear' or 'relu'/ })
  t.throws(() => foldBatchNorm(w, { gamma: two, beta: three, mean: three, variance: three }, 1e-5), { message: /gamma must be \[3\]/ })
  tf.dispose([x, w, two, three])
  t.is(tf.memory().numTensors, before)
})

// -------------------------------------------------------------------------------------------------
// the 3D ResNet's folded inference
// -------------------------------------------------------------------------------------------------

const small = { layout: 'torchvision', classes: 5, widths: [4, 8, 8, 16] } as const
const clip = () => tf.tensor5d(Float32Array.from({ length: 2 * 4 * 16 * 16 * 3 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2), [2, 4, 16, 16, 3])

/** A model whose batch norms are not the identity (fresh ones are: γ = 1, β = 0, μ = 0, σ² = 1). */
const withBn = () => {
  const m = r3d18({ ...small, seed: 3 })
  let s = 0
  for (const [name, v] of Object.entries({ ...m.variables, ...m.state }))
    if (v.rank === 1 && !name.startsWith('fc.')) {
      const d = ints(s++, v.size, 0, 100).map((u) => (name.endsWith('running_var') ? 0.5 + u / 50 : name.endsWith('weight') ? 0.5 + u / 100 : (u - 50) / 100))
      tf.tidy(() => v.assign(tf.tensor1d(d)))
    }
  return m
}

const cosine = (a: Float32Array, b: Float32Array): number => {
  const dot = a.reduce((s, v, i) => s + v * b[i]!, 0)
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, e) => s + e * e, 0))
  return dot / (norm(a) * norm(b))
}

const lossOf = (m: ReturnType<typeof r3d18>, v: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([0, 3], 'int32'), small.classes), m.model(v as tf.Tensor5D))

const closeLogits = (a: Float32Array, b: Float32Array): boolean => a.every((v, i) => Math.abs(v - b[i]!) <= 1e-4 * (1 + Math.abs(b[i]!)))

for (const backend of ['wasm', 'cpu'] as const) {
  test.serial(`${backend}: folded inference matches batch norm after the convolution (logits, input gradient; in and outside an attack's scope)`, async (t) => {
    tf.setBackend(backend)
    const before = tf.memory().numTensors
    const m = withBn()
    const x = clip()
    const run = () => tf.tidy(() => [m.model(x), tf.grad((v: tf.Tensor) => lossOf(m, v))(x)].map((r) => r.dataSync() as Float32Array))
    r3dTuning.fold = false
    const [logits, grad] = run()
    r3dTuning.fold = true
    const outside = run()
    const inside = await withFilterCache(async () => [run(), run()])
    for (const [what, [l, g]] of [['outside', outside], ['inside, first step', inside[0]!], ['inside, second step', inside[1]!]] as const) {
      t.true(closeLogits(l!, logits!), `${what}: logits ${Array.from(l!)} vs ${Array.from(logits!)}`)
      const cos = cosine(g!, grad!)
      t.true(cos > 0.9999, `${what}: gradient cosine ${cos}`)
    }
    t.deepEqual(inside[1], inside[0], 'the cached fold gives the same step twice')
    tf.dispose(x)
    m.dispose()
    t.is(tf.memory().numTensors, before)
  })
}

test.serial('a weight assigned inside an attack gives a new fold, never a stale one (BN statistics and conv weights)', async (t) => {
  tf.setBackend('wasm')
  const before = tf.memory().numTensors
  const m = withBn()
  const x = clip()
  const logits = () => tf.tidy(() => m.model(x).dataSync() as Float32Array)
  const plain = () => {
    r3dTuning.fold = false
    try {
      return logits()
    } finally {
      r3dTuning.fold = true
    }
  }
  await withFilterCache(async () => {
    const first = logits()
    t.true(closeLogits(first, plain()))
    for (const name of ['layer1.0.conv1.1.running_var', 'layer1.0.conv1.1.bias', 'stem.0.weight', 'layer4.1.conv2.1.weight']) {
      const v = { ...m.variables, ...m.state }[name]!
      const was = logits()
      tf.tidy(() => v.assign(tf.mul(v, 1.5)))
      const now = logits()
      t.false(closeLogits(now, was), `${name}: the logits change`)
      t.true(closeLogits(now, plain()), `${name}: and equal the plain path's with the new weight`)
    }
  })
  tf.dispose(x)
  m.dispose()
  t.is(filterCacheSize(), 0)
  t.is(tf.memory().numTensors, before)
})

test.serial('outside an attack the fold is differentiable: weight gradients of the inference model match the plain path', (t) => {
  tf.setBackend('wasm')
  const before = tf.memory().numTensors
  const m = withBn()
  const x = clip()
  const names = ['stem.0.weight', 'stem.1.weight', 'layer2.0.conv1.1.bias', 'layer2.0.downsample.0.weight', 'layer3.1.conv2.0.weight']
  const grads = () => tf.tidy(() => Object.values(tf.variableGrads(() => lossOf(m, x) as tf.Scalar, names.map((n) => m.variables[n]!)).grads).map((g) => g.dataSync() as Float32Array))
  r3dTuning.fold = false
  const want = grads()
  r3dTuning.fold = true
  const got = grads()
  names.forEach((n, i) => t.true(cosine(got[i]!, want[i]!) > 0.9999, `${n}: cosine ${cosine(got[i]!, want[i]!)}`))
  tf.dispose(x)
  m.dispose()
  t.is(tf.memory().numTensors, before)
})

test.serial('training mode is untouched by the fold: same outputs and running statistics with it on or off', (t) => {
  tf.setBackend('wasm')
  const before = tf.memory().numTensors
  const outcome = (fold: boolean) => {
    r3dTuning.fold = fold
    const m = withBn()
    const x = clip()
    const y = tf.tidy(() => m.apply(x, true).dataSync() as Float32Array)
    const stats = Array.from(m.state!['layer2.0.conv2.1.running_mean']!.dataSync())
    tf.dispose(x)
    m.dispose()
    r3dTuning.fold = true
    return { y: Array.from(y), stats }
  }
  t.deepEqual(outcome(true), outcome(false))
  t.is(tf.memory().numTensors, before)
})
