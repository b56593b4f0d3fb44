/**
 * multav's wasm kernels, each against its tf-op path and a loop over its definition, on generated
 * geometries, exactly (clips with exact zeros and saturated values):
 * - conv3d's stacked-taps image (src/ops/stack-taps.ts), image[n·T' + t, h·K + i] =
 *   x[n, st·t + k0 + i − front, h] (0 outside the clip);
 * - the input gradient's phase interleave (src/ops/interleave.ts; phases as tensors or as channel groups), dx[n, t, h, w] =
 *   phase(t mod s_t, h mod s_h, w mod s_w)[n, ⌊t/s_t⌋, ⌊h/s_h⌋, ⌊w/s_w⌋];
 * - wasm's Tile replaced by copies (src/backend/wasm-tile.ts), against the original kernel, and its
 *   Identity by data sharing (src/backend/wasm-identity.ts);
 * - an attack step's pointwise work (src/ops/sign.ts, clamp-around.ts, power-step.ts): the exact sign,
 *   the L∞ ball and ratio clamps around x, and x' ⊙ exp(λ·d) for d ∈ {−1, 0, 1}, against their
 *   tf-op paths bit for bit (and the ratio x'/x where x > 0, v where x > 0), at real magnitudes (gradients down to denormals, ±0, NaN; clips with
 *   exact zeros and saturated pixels; generated ε, α and sizes that are not multiples of 4);
 * and the tf-op path whenever a gradient tape records (the kernels have no gradient).
 */
import test from 'ava'
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '../src/backend/backend.js'
import { stackTaps, stackTapsTuning } from '../src/ops/stack-taps.js'
import { interleaveChannelGroups, interleavePhases, interleaveTuning } from '../src/ops/interleave.js'
import { sign, signTuning } from '../src/ops/sign.js'
import { clampAround, clampTuning } from '../src/ops/clamp-around.js'
import { powerStep, powerStepTuning } from '../src/ops/power-step.js'
import { wasmSimd } from '../src/ops/wasm-kernel.js'
import { ratioOf, ratioTuning, wherePositive } from '../src/ops/ratio-of.js'
import { originalWasmTile } from '../src/backend/wasm-tile.js'
import '@tensorflow/tfjs-backend-cpu'

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

interface Pointwise {
  readonly size: number
  readonly seed: number
  /** The gradient's scale: real models' per-pixel input gradients are often below 1e-7. */
  readonly scale: number
  readonly eps: number
  readonly ratio: number
  readonly lambda: number
}

const pointwise: fc.Arbitrary<Pointwise> = fc.record({
  size: fc.integer({ min: 1, max: 700 }),
  seed: fc.integer({ min: 0, max: 1e6 }),
  scale: fc.constantFrom(1, 1e-3, 1e-8, 1e-30, 1e-40),
  eps: fc.double({ min: 1e-4, max: 0.5, noNaN: true }),
  ratio: fc.double({ min: 1.0001, max: 4, noNaN: true }),
  lambda: fc.double({ min: -1.5, max: 1.5, noNaN: true }),
})

/** A deterministic value in [0, 1) for index i and stream `seed` (a 32-bit hash: the streams are independent). */
const unit = (i: number, seed: number): number => {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(seed + 0x7f4a7c15, 0xc2b2ae35)
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296
}

/** A clean clip (exact zeros and ones among its values), an iterate around it (some values outside the ε-interval, some ±0, some NaN), a gradient (±0, NaN, tiny values) and a ternary direction. */
const pointwiseData = (c: Pointwise) => {
  const x = Float32Array.from({ length: c.size }, (_, i) => {
    const u = unit(i, c.seed)
    return u < 0.1 ? 0 : u > 0.9 ? 1 : u
  })
  const xAdv = Float32Array.from(x, (v, i) => {
    const u = unit(i, c.seed + 1)
    // −0 tells C++'s max and min (which tfjs uses) from IEEE's, which order −0 below +0
    return u < 0.02 ? Number.NaN : u < 0.1 ? v : u < 0.15 ? 0 : u < 0.2 ? -0 : u < 0.25 ? 1 : v * (0.25 + 1.5 * unit(i, c.seed + 2)) + (unit(i, c.seed + 3) - 0.5) * 0.4
  })
  const g = Float32Array.from({ length: c.size }, (_, i) => {
    const u = unit(i, c.seed + 4)
    return u < 0.05 ? 0 : u < 0.1 ? -0 : u < 0.12 ? Number.NaN : u < 0.14 ? 1.4e-45 * (u < 0.13 ? 1 : -1) : (unit(i, c.seed + 5) - 0.5) * c.scale
  })
  const d = Float32Array.from(g, (v) => (v > 0 ? 1 : v < 0 ? -1 : Object.is(v, -0) ? -0 : v === 0 ? 0 : v))
  return { x, xAdv, g, d }
}

/** `f` on the kernel path and on the tf-op path (`tuning.path`), as arrays. */
const bothPaths = (tuning: { path: 'auto' | 'ops' }, f: () => tf.Tensor): [Float32Array, Float32Array] => {
  const run = (path: 'auto' | 'ops') => {
    tuning.path = path
    try {
      return tf.tidy(() => f().dataSync() as Float32Array)
    } finally {
      tuning.path = 'auto'
    }
  }
  return [run('auto'), run('ops')]
}

const identical = ([a, b]: [Float32Array, Float32Array]): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]))

test('an attack step\'s pointwise kernels (sign, the L∞ ball and ratio clamps, x\' ⊙ exp(λ·d), the ratio x\'/x and its mask to x > 0) give their tf-op paths\' values bit for bit', (t) => {
  // 4 values at a time in multav's SIMD module, the last n mod 4 in JavaScript
  t.not(wasmSimd(tf.backend()), undefined, 'the SIMD module runs on this backend')
  const before = tf.memory().numTensors
  fc.assert(
    fc.property(pointwise, (c) => {
      const { x, xAdv, g, d } = pointwiseData(c)
      const shape = [1, 1, 1, c.size, 1]
      const T = (a: Float32Array) => tf.tensor(a, shape)
      const signs = bothPaths(signTuning, () => sign(T(g)))
      const ball = bothPaths(clampTuning, () => clampAround('ball', c.eps, T(x), T(xAdv)))
      const ratio = bothPaths(clampTuning, () => clampAround('ratio', c.ratio, T(x), T(xAdv)))
      const power = bothPaths(powerStepTuning, () => powerStep(T(xAdv), T(d), c.lambda))
      const ratios = bothPaths(ratioTuning, () => ratioOf(T(x), T(xAdv)))
      const positive = bothPaths(ratioTuning, () => wherePositive(T(x), T(xAdv)))
      return identical(signs) && identical(ball) && identical(ratio) && identical(power) && identical(ratios) && identical(positive)
    }),
    { numRuns: 300 },
  )
  t.is(tf.memory().numTensors, before)
})

test('the pointwise kernels by definition: sign is ±1 down to denormals, the clamps hold x\' inside the interval (NaN kept), x\' ⊙ exp(λ·d) multiplies by e^±λ or 1', (t) => {
  const before = tf.memory().numTensors
  const c: Pointwise = { size: 403, seed: 11, scale: 1e-40, eps: 4 / 255, ratio: 1.04, lambda: Math.log(1.01) }
  const { x, xAdv, g, d } = pointwiseData(c)
  const shape = [1, 1, 1, c.size, 1]
  const [s, ball, ratio, power] = tf.tidy(() =>
    [sign(tf.tensor(g, shape)), clampAround('ball', c.eps, tf.tensor(x, shape), tf.tensor(xAdv, shape)), clampAround('ratio', c.ratio, tf.tensor(x, shape), tf.tensor(xAdv, shape)), powerStep(tf.tensor(xAdv, shape), tf.tensor(d, shape), c.lambda)].map((y) => y.dataSync() as Float32Array),
  ) as [Float32Array, Float32Array, Float32Array, Float32Array]
  const f = Math.fround
  for (let i = 0; i < c.size; i++) {
    const gi = g[i]!
    t.true(Object.is(s[i], Number.isNaN(gi) ? Number.NaN : gi > 0 ? 1 : gi < 0 ? -1 : 0), `sign at ${i}`)
    if (Number.isNaN(xAdv[i]!)) {
      t.true(Number.isNaN(ball[i]!) && Number.isNaN(ratio[i]!), `NaN kept at ${i}`)
      continue
    }
    t.true(ball[i]! >= f(x[i]! - f(c.eps)) && ball[i]! <= f(x[i]! + f(c.eps)), `ball at ${i}`)
    t.true(ratio[i]! >= f(x[i]! / f(c.ratio)) && ratio[i]! <= f(x[i]! * f(c.ratio)), `ratio at ${i}`)
    if (x[i] === 0) t.true(ratio[i] === 0, `a black pixel stays black (±0) at ${i}`)
    const inside = xAdv[i]! >= f(x[i]! - f(c.eps)) && xAdv[i]! <= f(x[i]! + f(c.eps))
    if (inside) t.is(ball[i], xAdv[i], `no-op inside at ${i}`)
    const di = d[i]!
    const want = di > 0 ? f(xAdv[i]! * f(Math.exp(f(c.lambda)))) : di < 0 ? f(xAdv[i]! * f(Math.exp(-f(c.lambda)))) : Number.isNaN(di) ? Number.NaN : xAdv[i]!
    // wasm's exp may differ from Math.exp by an ulp: compare within 2 float32 ulps
    t.true(Number.isNaN(want) ? Number.isNaN(power[i]!) : Math.abs(power[i]! - want) <= 2.4e-7 * Math.abs(want), `power step at ${i}: ${power[i]} vs ${want}`)
  }
  t.is(tf.memory().numTensors, before)
})

test.serial('the pointwise kernels run on wasm outside a tape, one kernel each; under a tape the tf ops run', async (t) => {
  const before = tf.memory().numTensors
  const x = tf.tensor([0, 0.5, 1, 0.25], [1, 1, 1, 4, 1])
  const v = tf.tensor([0.03, 0.52, 0.9, 0.1], [1, 1, 1, 4, 1])
  const d = tf.tensor([1, -1, 0, 1], [1, 1, 1, 4, 1])
  const names = async (f: () => tf.Tensor) => {
    const info = await tf.profile(() => f())
    tf.dispose(info.result as tf.Tensor)
    return info.kernelNames
  }
  t.deepEqual(await names(() => sign(v)), ['MultavSign'])
  t.deepEqual(await names(() => clampAround('ball', 0.05, x, v)), ['MultavClampAround'])
  t.deepEqual(await names(() => clampAround('ratio', 1.1, x, v)), ['MultavClampAround'])
  tf.tidy(() => {
    powerStep(v, d, 0.01) // e^±λ, computed by tf.exp once per λ
  })
  t.deepEqual(await names(() => powerStep(v, d, 0.01)), ['MultavPowerStep'])
  t.deepEqual(await names(() => ratioOf(x, v)), ['MultavRatio'])
  t.deepEqual(await names(() => wherePositive(x, v)), ['MultavRatio'])
  // x'/x where x > 0, 1 at the black pixel; v kept where x > 0
  t.deepEqual(Array.from(tf.tidy(() => ratioOf(x, v).dataSync())), [1, ...[0.52 / 0.5, 0.9, 0.1 / 0.25].map(Math.fround)])
  t.deepEqual(Array.from(tf.tidy(() => wherePositive(x, v).dataSync())), [0, ...[0.52, 0.9, 0.1].map(Math.fround)])
  // under a tape: d/dx' of sum(clamp(x')) is 1 where x' lies inside the interval, 0 where it was clamped
  const grad = tf.grad((u: tf.Tensor) => tf.sum(clampAround('ball', 0.05, x, u)))(v)
  t.deepEqual(Array.from(await grad.data()), [1, 1, 0, 0])
  tf.dispose([x, v, d, grad])
  t.is(tf.memory().numTensors, before)
})

test.serial('wasm\'s Tile by copies gives the original kernel\'s values exactly, for generated shapes, repetitions and dtypes', async (t) => {
  const original = originalWasmTile()
  if (original === undefined) return t.fail('initBackend did not replace wasm\'s Tile')
  const before = tf.memory().numTensors
  const cases = fc.record({
    shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
    reps: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 5, maxLength: 5 }),
    dtype: fc.constantFrom('float32', 'int32', 'bool') as fc.Arbitrary<'float32' | 'int32' | 'bool'>,
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  fc.assert(
    fc.property(cases, ({ shape, reps: r, dtype, seed }) => {
      const reps = r.slice(0, shape.length)
      const size = shape.reduce((a, b) => a * b, 1)
      const values = Array.from({ length: size }, (_, i) => (dtype === 'float32' ? unit(i, seed) - 0.5 : Math.floor(unit(i, seed) * (dtype === 'bool' ? 2 : 100))))
      return tf.tidy(() => {
        const x = tf.tensor(values, shape, dtype)
        const fast = tf.tile(x, reps)
        const slow = tf.engine().makeTensorFromTensorInfo(original({ inputs: { x }, backend: tf.backend(), attrs: { reps } }) as tf.TensorInfo)
        const [a, b] = [fast.dataSync(), slow.dataSync()]
        return fast.shape.join() === slow.shape.join() && a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]))
      })
    }),
    { numRuns: 300 },
  )
  // a broadcasting tf.where (an [N, 1, 1, 1, 1] condition) runs it: the same values as per-sample selection
  const x = tf.tensor5d(Array.from({ length: 2 * 3 * 2 * 2 * 3 }, (_, i) => i), [2, 3, 2, 2, 3])
  const chosen = tf.tidy(() => tf.where(tf.tensor5d([true, false], [2, 1, 1, 1, 1], 'bool'), x, tf.neg(x)))
  t.deepEqual(Array.from(await chosen.data()), Array.from({ length: 72 }, (_, i) => (i < 36 ? i : -i)))
  tf.dispose([x, chosen])
  t.is(tf.memory().numTensors, before)
})

test.serial("wasm's Identity shares its input's data: a clone has the same values, outlives its source, and frees the data with the last tensor", async (t) => {
  const backend = tf.backend() as unknown as { numDataIds(): number }
  const before = { tensors: tf.memory().numTensors, data: backend.numDataIds() }
  for (const dtype of ['float32', 'int32', 'bool'] as const) {
    const values = Array.from({ length: 60 }, (_, i) => (dtype === 'float32' ? unit(i, 7) - 0.5 : Math.floor(unit(i, 7) * (dtype === 'bool' ? 2 : 100))))
    const x = tf.tensor(values, [3, 4, 5], dtype)
    const copy = tf.clone(x)
    t.is(copy.dataId, x.dataId, `${dtype}: the clone shares the data`)
    t.is(backend.numDataIds(), before.data + 1)
    const expected = Array.from(x.dataSync())
    x.dispose()
    t.deepEqual(Array.from(copy.dataSync()), expected, `${dtype}: the clone outlives its source`)
    copy.dispose()
    t.is(backend.numDataIds(), before.data, `${dtype}: the data is freed with the last tensor`)
  }
  // a variable's assignment leaves an earlier clone of it as it was
  const [initial, next] = [tf.tensor1d([1, 2, 3]), tf.tensor1d([7, 8, 9])]
  const v = tf.variable(initial)
  const snapshot = tf.clone(v)
  v.assign(next)
  t.deepEqual(Array.from(snapshot.dataSync()), [1, 2, 3])
  t.deepEqual(Array.from(v.dataSync()), [7, 8, 9])
  tf.dispose([v, snapshot, initial, next])
  // the tensors a gradient saves are clones: the gradient is the cpu backend's
  const x = tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => unit(i, 3)), [2, 5, 5, 3])
  const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => unit(i, 5) - 0.5), [3, 3, 3, 4])
  const gradient = () => tf.tidy(() => tf.grad((u: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.conv2d(u as tf.Tensor4D, w, 1, 'same')))))(x))
  const onWasm = gradient()
  const wasmValues = Array.from(await onWasm.data())
  tf.dispose([onWasm, x, w])
  t.is(tf.memory().numTensors, before.tensors)
  t.is(backend.numDataIds(), before.data)
  await tf.setBackend('cpu')
  const [xc, wc] = [tf.tensor4d(Array.from({ length: 150 }, (_, i) => unit(i, 3)), [2, 5, 5, 3]), tf.tensor4d(Array.from({ length: 108 }, (_, i) => unit(i, 5) - 0.5), [3, 3, 3, 4])]
  const onCpu = tf.tidy(() => tf.grad((u: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.conv2d(u as tf.Tensor4D, wc, 1, 'same')))))(xc))
  const cpuValues = Array.from(await onCpu.data())
  tf.dispose([onCpu, xc, wc])
  await tf.setBackend('wasm')
  t.true(wasmValues.every((v, i) => Math.abs(v - cpuValues[i]!) <= 1e-5 * Math.max(1, Math.abs(cpuValues[i]!))), 'the same gradient as on cpu')
})
