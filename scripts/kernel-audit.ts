/**
 * Kernel audit: every TensorFlow.js kernel the interpreters and models rely on, checked on each
 * backend against a float64 reference in plain TypeScript, at the magnitudes real models produce:
 * gradients from 1e-30 to 1e-6, float32 denormals, ±0, exact zeros, values at 1, ratios up to 1e30.
 *
 * A check passes when every output is within its tolerance of the reference (relative, with an
 * absolute floor of a few denormal steps), and NaN/±Infinity/±0 where the reference has them
 * (−0 and +0 count as equal). `multav` checks are multav's own routes around a deviating kernel.
 *
 * Run: node --import tsx scripts/kernel-audit.ts [--backends cpu,wasm] [--markdown]
 * (npm run kernel-audit). test/kernel-audit.test.ts runs the same table and fails on a new deviation.
 * The checks bundle for browsers too (no static Node import; `main` loads Node's modules when run):
 * test/browser-audit.test.ts runs them, and `RANK5_CHECKS`, on webgl and webgpu in headless Chromium.
 */
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-layers'
import type { BackendName } from '../src/backend/backend.js'
import { sign as exactSign } from '../src/ops/sign.js'
import { conv3d } from '../src/ops/conv3d.js'

// -------------------------------------------------------------------------------------------------
// probe values
// -------------------------------------------------------------------------------------------------

const DENORMAL_MIN = 2 ** -149
const NORMAL_MIN = 2 ** -126
const EPS32 = 2 ** -23

/** Magnitudes a gradient, a pixel or a ratio takes: denormals, tiny gradients, pixels, huge ratios. */
const MAGNITUDES = [
  DENORMAL_MIN, 1e-44, 1e-40, NORMAL_MIN, 1e-37, 1e-30, 1e-25, 1e-20, 1e-15, 1e-12, 1e-10, 1e-9, 1e-8,
  5e-8, 1e-7, 1.1e-7, EPS32, 1.3e-7, 5e-7, 1e-6, 1e-5, 1e-3, 1 / 255, 0.04, 0.5, 1 - 2 ** -24, 1,
  1 + EPS32, 1.04, 2, 255, 1e6, 1e15, 1e30, 3e38,
]
const SIGNED = Float32Array.from([0, -0, ...MAGNITUDES, ...MAGNITUDES.map((m) => -m)])
/** SIGNED with the non-finite values a broken model can produce. */
const NON_FINITE = Float32Array.from([...SIGNED, Infinity, -Infinity, NaN])
const PIXELS = Float32Array.from([0, -0, DENORMAL_MIN, 1e-40, NORMAL_MIN, 1e-30, 1e-8, 1 / 255, 0.5, 1 - 2 ** -24, 1, 1 + EPS32, -DENORMAL_MIN, -1e-8])
/** Exponents of α^d = exp(d·ln α): tiny d·ln α, the attack's ±ln 1.01, up to float32's overflow and underflow. */
const EXPONENTS = Float32Array.from([0, -0, 1e-30, -1e-30, 1e-8, -1e-8, 1e-7, Math.log(1.01), -Math.log(1.01), Math.log(2), 1, -1, 69, -69, 87, -87, 88.7, -88.7, -100, -103, -104, 89, 1000, -1000])
/** Ratios x'/x and pixels whose log the L2 ratio projection and the sanity record take. */
const POSITIVE = Float32Array.from([0, DENORMAL_MIN, 1e-40, NORMAL_MIN, 1e-30, 1e-8, 1e-7, 0.5, 1 - 2 ** -24, 1, 1 + EPS32, 1.04, 2, 1e30, 3e38])

// -------------------------------------------------------------------------------------------------
// checks
// -------------------------------------------------------------------------------------------------

interface Check {
  readonly name: string
  /** What multav uses it for. */
  readonly use: string
  /** 'tfjs': the kernel itself; 'multav': multav's own route. */
  readonly kind: 'tfjs' | 'multav'
  /** The tensor result (run inside a tidy). */
  readonly run: () => tf.Tensor
  /** The float64 reference, same length as the result. */
  readonly reference: () => ArrayLike<number>
  /** Relative tolerance (absolute floor: 4 denormal steps, unless `absolute` is given). */
  readonly relative: number
  readonly absolute?: number
  /**
   * The reference of a kernel that flushes denormals to zero (GPU float32: inputs and outputs below
   * 2⁻¹²⁶ read as ±0), accepted where `audit` is told the backend flushes (`flushDenormals`). There
   * the absolute floor grows by `flushTerms`·2⁻¹²⁶, against either reference (partial sums flushed;
   * a denormal kept where a flushed comparison saw 0: WebGPU's relu(−1e−44) = −1e−44).
   */
  readonly flushed?: () => ArrayLike<number>
  /** How many flushes of up to 2⁻¹²⁶ each a value may carry on a flushing backend (partial sums). Default 1. */
  readonly flushTerms?: number
}

const t1 = (v: Float32Array) => tf.tensor1d(v)
const map = (v: Float32Array, f: (x: number) => number) => Array.from(v, f)
const pairs = (a: Float32Array, b: ArrayLike<number>) => Array.from(a, (x) => Array.from(b, (y) => [x, y] as const)).flat()

/** Flush to zero: a float32 denormal (|v| < 2⁻¹²⁶) reads as ±0 on a GPU. */
const ftz = (v: number) => (v !== 0 && Math.abs(v) < NORMAL_MIN ? (v < 0 ? -0 : 0) : v)

/** Elementwise unary kernels over a probe set. */
const unary = (name: string, use: string, values: Float32Array, op: (x: tf.Tensor) => tf.Tensor, ref: (x: number) => number, relative = 0): Check => ({
  name, use, kind: 'tfjs', relative, run: () => op(t1(values)), reference: () => map(values, ref),
  flushed: () => map(values, (x) => ftz(ref(ftz(x)))),
})

/** Elementwise binary kernels over every pair of two probe sets. */
const binary = (name: string, use: string, a: Float32Array, b: ArrayLike<number>, op: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor, ref: (x: number, y: number) => number, relative = 0): Check => {
  const ps = pairs(a, b)
  return {
    name, use, kind: 'tfjs', relative,
    run: () => op(tf.tensor1d(ps.map((p) => p[0])), tf.tensor1d(ps.map((p) => p[1]))),
    reference: () => ps.map(([x, y]) => ref(x, y)),
    flushed: () => ps.map(([x, y]) => ftz(ref(ftz(x), ftz(y)))),
  }
}

const f32 = Math.fround
const mathSign = (x: number) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : x < 0 ? -1 : 0)
const SCALARS = Float32Array.from([1.04, 1 / 1.04, 1e-30, 1e30, 0.5, 2])

/** Deterministic pseudo-random values in (−1, 1) (a fixed sine sequence), scaled. */
const wave = (n: number, scale: number, phase = 0) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.37 + phase) * scale)

/** A naive float64 conv3d (NDHWC, DHWIO filter, stride 1, 'same' zero padding) for the reference. */
const conv3dReference = (x: Float32Array, xShape: number[], w: Float32Array, wShape: number[]): number[] => {
  const [N, T, H, W, C] = xShape as [number, number, number, number, number]
  const [kd, kh, kw, , O] = wShape as [number, number, number, number, number]
  const out = new Array<number>(N * T * H * W * O).fill(0)
  const [pd, ph, pw] = [(kd - 1) / 2, (kh - 1) / 2, (kw - 1) / 2]
  for (let n = 0; n < N; n++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++)
        for (let q = 0; q < W; q++)
          for (let o = 0; o < O; o++) {
            let s = 0
            for (let a = 0; a < kd; a++)
              for (let b = 0; b < kh; b++)
                for (let c = 0; c < kw; c++) {
                  const [tt, hh, ww] = [t + a - pd, h + b - ph, q + c - pw]
                  if (tt < 0 || tt >= T || hh < 0 || hh >= H || ww < 0 || ww >= W) continue
                  for (let i = 0; i < C; i++) s += x[(((n * T + tt) * H + hh) * W + ww) * C + i]! * w[(((a * kh + b) * kw + c) * C + i) * O + o]!
                }
            out[(((n * T + t) * H + h) * W + q) * O + o] = s
          }
  return out
}

/** Input gradient of Σ dy·conv3d(x, w) (a full correlation with the flipped filter), from the forward reference's linearity. */
const conv3dInputGradReference = (dy: Float32Array, xShape: number[], w: Float32Array, wShape: number[], product = (a: number, b: number) => a * b): number[] => {
  const [N, T, H, W, C] = xShape as [number, number, number, number, number]
  const [kd, kh, kw, , O] = wShape as [number, number, number, number, number]
  const [pd, ph, pw] = [(kd - 1) / 2, (kh - 1) / 2, (kw - 1) / 2]
  const dx = new Array<number>(N * T * H * W * C).fill(0)
  for (let n = 0; n < N; n++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++)
        for (let q = 0; q < W; q++)
          for (let o = 0; o < O; o++) {
            const g = dy[(((n * T + t) * H + h) * W + q) * O + o]!
            for (let a = 0; a < kd; a++)
              for (let b = 0; b < kh; b++)
                for (let c = 0; c < kw; c++) {
                  const [tt, hh, ww] = [t + a - pd, h + b - ph, q + c - pw]
                  if (tt < 0 || tt >= T || hh < 0 || hh >= H || ww < 0 || ww >= W) continue
                  for (let i = 0; i < C; i++) dx[(((n * T + tt) * H + hh) * W + ww) * C + i]! += product(g, w[(((a * kh + b) * kw + c) * C + i) * O + o]!)
                }
          }
  return dx
}

/** Gradient scales a real model's input gradient spans (batch-mean losses on large clips). */
const GRAD_SCALES = [1, 1e-8, 1e-20, 1e-30, 1e-36]

/** The input gradient of Σ dy·conv(x, w) for a 3x3x3 'same' convolution of a 1x3x5x5x2 clip, dy scaled by s. */
const conv3dGradientCheck = (
  op: string,
  use: string,
  kind: Check['kind'],
  conv: (x: tf.Tensor5D, w: tf.Tensor5D) => tf.Tensor5D,
  s: number,
  /** The gradient computed directly from dy and w (a backward kernel on its own), instead of tf.grad through `conv`. */
  direct?: (dy: tf.Tensor5D, w: tf.Tensor5D, xShape: [number, number, number, number, number]) => tf.Tensor5D,
): Check => {
  type Shape5 = [number, number, number, number, number]
  const [xShape, wShape, yShape]: [Shape5, Shape5, Shape5] = [[1, 3, 5, 5, 2], [3, 3, 3, 2, 3], [1, 3, 5, 5, 3]]
  const [x, w, dy] = [wave(150, 1, 0.5), wave(162, 0.2, 0.8), wave(225, s, 2.2)]
  return {
    name: `${op} input gradient, dy ×${s}`, use, kind, relative: 1e-5, absolute: Math.max(1e-6 * s, 256 * DENORMAL_MIN),
    run: () =>
      direct
        ? direct(tf.tensor5d(dy, yShape), tf.tensor5d(w, wShape), xShape)
        : tf.grad((v: tf.Tensor) => tf.sum(tf.mul(conv(v as tf.Tensor5D, tf.tensor5d(w, wShape)), tf.tensor5d(dy, yShape))))(tf.tensor5d(x, xShape)),
    reference: () => conv3dInputGradReference(dy, xShape, w, wShape),
    // a flushing backend loses the products below 2⁻¹²⁶ (and its partial sums may, a few 2⁻¹²⁶)
    flushed: () => conv3dInputGradReference(dy, xShape, w, wShape, (a, b) => ftz(f32(ftz(a) * ftz(b)))),
    flushTerms: 8,
  }
}

export const CHECKS: ReadonlyArray<Check> = [
  // --- directions ---
  unary('sign', 'sign(∇L) (Add-L∞, Mult-L∞, ROA, AF, SPA)', SIGNED, tf.sign, mathSign),
  { ...unary('sign (multav ops.sign)', 'what the tensor interpreter uses', NON_FINITE, exactSign, mathSign), kind: 'multav' },
  unary('abs', 'max |v| of L2 norms, ‖x′−x‖∞', SIGNED, tf.abs, Math.abs),
  unary('neg', 'targeted losses', SIGNED, tf.neg, (x) => -x),
  unary('square', 'Σv² of L2 norms (after scaling by max|v|)', SIGNED, tf.square, (x) => x * x, 1e-7),
  unary('sqrt', '‖v‖₂', Float32Array.from(MAGNITUDES), tf.sqrt, Math.sqrt, 1e-7),
  unary('reciprocal', 'x/x′ of the sanity record', POSITIVE, tf.reciprocal, (x) => 1 / x, 1e-7),
  // --- multiplicative updates: α^d = exp(d·ln α), ratios, logs ---
  unary('exp', 'α^d = exp(d·ln α), exp of log-ratios', EXPONENTS, tf.exp, Math.exp, 2e-7),
  unary('log', 'log(x′/x) (Mult-L2 log reading, sanity)', POSITIVE, tf.log, Math.log, 2e-7),
  binary('mul', 'x′ ⊙ α^d, ε·x, masks', SIGNED, SCALARS, tf.mul, (x, y) => x * y, 1e-7),
  binary('div', 'x/ε, x′/x, v/‖v‖₂', SIGNED, SCALARS, tf.div, (x, y) => x / y, 1e-7),
  binary('add', 'x′ + α·d', SIGNED, Float32Array.from([0, -0, 1 / 255, -1 / 255, 1e-30, 1]), tf.add, (x, y) => x + y, 1e-7),
  binary('sub', 'x′ − x', PIXELS, PIXELS, tf.sub, (x, y) => x - y, 1e-7),
  // --- projections and clips ---
  binary('maximum', 'Π∞: max(x′, x/ε)', SIGNED, Float32Array.from([0, -0, DENORMAL_MIN, -DENORMAL_MIN, 1e-30, 1]), tf.maximum, Math.max),
  binary('minimum', 'Π∞: min(x′, x·ε)', SIGNED, Float32Array.from([0, -0, DENORMAL_MIN, -DENORMAL_MIN, 1e-30, 1]), tf.minimum, Math.min),
  unary('clipByValue [0, 1]', 'clip to the pixel range', NON_FINITE, (x) => tf.clipByValue(x, 0, 1), (x) => (Number.isNaN(x) ? NaN : Math.min(1, Math.max(0, x)))),
  unary('greater than 0', 'the positive-pixel mask of ratios', SIGNED, (x) => tf.cast(tf.greater(x, 0), 'float32'), (x) => (x > 0 ? 1 : 0)),
  unary('step', 'ops.sign = step(v) − step(−v)', NON_FINITE, tf.step, (x) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : 0)),
  binary('greater (norm > ε)', 'L2 projections: only where the bound is broken', Float32Array.from(MAGNITUDES), Float32Array.from([1e-30, 1e-7, 0.13, 1]), (a, b) => tf.cast(tf.greater(a, b), 'float32'), (a, b) => (a > b ? 1 : 0)),
  {
    name: 'where', use: 'ratio taken as 1 where x = 0; projections', kind: 'tfjs', relative: 0,
    run: () => tf.where(tf.greater(t1(SIGNED), 0), t1(SIGNED), tf.onesLike(t1(SIGNED))),
    reference: () => map(SIGNED, (x) => (x > 0 ? x : 1)),
  },
  unary('isFinite', 'input checks, the sanity record', NON_FINITE, (x) => tf.cast(tf.isFinite(x), 'float32'), (x) => (Number.isFinite(x) ? 1 : 0)),
  // --- reductions ---
  ...GRAD_SCALES.map((s): Check => {
    const v = wave(4096, s)
    return {
      // the sum cancels: the floor is float32's rounding of the terms, 4096·2⁻²⁴·s
      name: `sum of 4096 values ×${s}`, use: 'L2 norms, losses', kind: 'tfjs', relative: 1e-5, absolute: Math.max(4096 * 2 ** -24 * s, 64 * DENORMAL_MIN),
      run: () => tf.sum(t1(v)), reference: () => [Array.from(v).reduce((a, b) => a + b, 0)],
      // flushed: the 0.7% of the terms below 2⁻¹²⁶ at ×1e-36, and partial sums of a reduction tree
      flushed: () => [Array.from(v, ftz).reduce((a, b) => a + b, 0)], flushTerms: 4,
    }
  }),
  ...GRAD_SCALES.map((s): Check => {
    const v = wave(4096, s, 0.3)
    return {
      name: `max / min of 4096 values ×${s}`, use: 'max |v|, sanity min/max', kind: 'tfjs', relative: 0,
      run: () => tf.stack([tf.max(t1(v)), tf.min(t1(v))]), reference: () => [Math.max(...v), Math.min(...v)],
    }
  }),
  {
    name: 'argMax (ties → first)', use: 'predictions', kind: 'tfjs', relative: 0,
    run: () => tf.cast(tf.argMax(tf.tensor2d([[1, 3, 3], [0, 0, 0], [-1e-30, 1e-30, 0], [DENORMAL_MIN, 0, DENORMAL_MIN]]), 1), 'float32'),
    reference: () => [1, 0, 1, 0],
  },
  {
    name: 'logSoftmax (logits spread 1e4, and ±1e-7)', use: 'cross-entropy', kind: 'tfjs', relative: 1e-6, absolute: 1e-7,
    run: () => tf.logSoftmax(tf.tensor2d([[1e4, 0, -1e4], [1e-7, -1e-7, 0], [30, 29.9999, -30]])),
    reference: () => {
      const rows = [[1e4, 0, -1e4], [f32(1e-7), f32(-1e-7), 0], [30, f32(29.9999), -30]]
      return rows.flatMap((r) => {
        const m = Math.max(...r)
        const lse = m + Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0))
        return r.map((v) => v - lse)
      })
    },
  },
  // --- model kernels and their gradients, with tiny upstream gradients ---
  ...GRAD_SCALES.map((s): Check => {
    const x = wave(64, 1, 0.7)
    const dy = wave(64, s, 0.1)
    return {
      name: `relu gradient, dy ×${s}`, use: 'every ReLU of the 3D ResNets', kind: 'tfjs', relative: 1e-7,
      run: () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), t1(dy))))(t1(x)),
      reference: () => Array.from(x, (v, i) => (v > 0 ? dy[i]! : 0)),
    }
  }),
  ...GRAD_SCALES.map((s): Check => {
    // 1x4x4x4x2 → max pool 3, stride 2, pad 1 ('same'); ties broken by the first maximum
    const shape: [number, number, number, number, number] = [1, 4, 4, 4, 2]
    const x = Float32Array.from({ length: 128 }, (_, i) => Math.round(Math.sin(i * 2.1) * 4) / 4)
    return {
      name: `maxPool3d gradient (ties → last), dy ×${s}`, use: 'Hara layout stem pool', kind: 'tfjs', relative: 1e-6, absolute: 4 * DENORMAL_MIN,
      run: () => tf.grad((v: tf.Tensor) => tf.mul(tf.sum(tf.maxPool3d(v as tf.Tensor5D, 3, 2, 'same')), s))(tf.tensor5d(x, shape)),
      // reference: dy = s everywhere, routed to each window's LAST maximum (tfjs's convention; PyTorch
      // routes to the first, which only matters on exact ties)
      reference: () => {
        const dx = new Array<number>(128).fill(0)
        const at = (t: number, h: number, w: number, c: number) => ((t * 4 + h) * 4 + w) * 2 + c
        for (let t = 0; t < 2; t++)
          for (let h = 0; h < 2; h++)
            for (let w = 0; w < 2; w++)
              for (let c = 0; c < 2; c++) {
                let best = -Infinity
                let arg = -1
                for (let a = 0; a < 3; a++)
                  for (let b = 0; b < 3; b++)
                    for (let d = 0; d < 3; d++) {
                      const [tt, hh, ww] = [2 * t + a - 0, 2 * h + b - 0, 2 * w + d - 0]
                      if (tt >= 4 || hh >= 4 || ww >= 4) continue
                      const v = x[at(tt, hh, ww, c)]!
                      if (v >= best) [best, arg] = [v, at(tt, hh, ww, c)]
                    }
                dx[arg]! += f32(s)
              }
        return dx
      },
    }
  }),
  ...GRAD_SCALES.map((s): Check => {
    const x = wave(2 * 3 * 4 * 4 * 2, 1, 0.2)
    return {
      name: `mean over T·H·W gradient, dy ×${s}`, use: 'global average pool', kind: 'tfjs', relative: 1e-6,
      run: () => tf.grad((v: tf.Tensor) => tf.mul(tf.sum(tf.mean(v, [1, 2, 3])), s))(tf.tensor5d(x, [2, 3, 4, 4, 2])),
      reference: () => Array.from(x, () => f32(s) / 48),
    }
  }),
  ...GRAD_SCALES.map((s): Check => {
    const [a, b] = [wave(3 * 5, 1, 0.4), wave(5 * 4, 0.1, 0.9)]
    const dy = wave(3 * 4, s, 1.3)
    return {
      name: `matMul input gradient, dy ×${s}`, use: 'the classifier layer', kind: 'tfjs', relative: 1e-5, absolute: 64 * DENORMAL_MIN,
      run: () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.matMul(v as tf.Tensor2D, tf.tensor2d(b, [5, 4])), tf.tensor2d(dy, [3, 4]))))(tf.tensor2d(a, [3, 5])),
      reference: () => Array.from({ length: 15 }, (_, k) => {
        const [i, j] = [Math.floor(k / 5), k % 5]
        let v = 0
        for (let o = 0; o < 4; o++) v += dy[i * 4 + o]! * b[j * 4 + o]!
        return v
      }),
    }
  }),
  // tf.conv3d's gradient: tfjs's own off wasm; on wasm initBackend registers ops.conv3d's math for it
  ...GRAD_SCALES.map((s) => conv3dGradientCheck('tf.conv3d', 'native conv3d (cpu, tensorflow); tfjs models\' Conv3D layers', 'tfjs', (x, w) => tf.conv3d(x, w, 1, 'same'), s)),
  // the backward kernel itself (Conv3DBackpropInputV2, which tf.conv3d's own gradient calls): wrong on wasm
  ...GRAD_SCALES.map((s) =>
    conv3dGradientCheck('Conv3DBackpropInputV2', "tfjs's own tf.conv3d gradient (not used on wasm)", 'tfjs', (x, w) => tf.conv3d(x, w, 1, 'same'), s, (dy, w, shape) => tf.conv3dTranspose(dy, w, shape, 1, 'same')),
  ),
  ...GRAD_SCALES.map((s) => conv3dGradientCheck('ops.conv3d', 'every 3D convolution of the models', 'multav', (x, w) => conv3d(x, w, { pad: 'same' }), s)),
  ...[1, 1e-30, 1e-39].map((s): Check => {
    const xShape = [1, 3, 5, 5, 2]
    const wShape = [3, 3, 3, 2, 3]
    const x = wave(150, s, 0.5)
    const w = wave(162, 0.2, 0.8)
    return {
      name: `ops.conv3d forward, x ×${s}`, use: 'every 3D convolution of the models', kind: 'multav', relative: 1e-5, absolute: Math.max(1e-6 * s, 256 * DENORMAL_MIN),
      run: () => conv3d(tf.tensor5d(x, xShape as never), tf.tensor5d(w, wShape as never), { pad: 'same' }),
      reference: () => conv3dReference(x, xShape, w, wShape),
    }
  }),
]

// -------------------------------------------------------------------------------------------------
// rank 5 and the convolutions' kernels: the shapes a video model's tensors have ([N, T, H, W, C]),
// where the GPU backends' shader generators differ from their rank ≤ 4 paths (docs/browser.md)
// -------------------------------------------------------------------------------------------------

type Shape = ReadonlyArray<number>
const sizeOf = (shape: Shape) => shape.reduce((a, b) => a * b, 1)
/** The multi-index of flat index `i` in `shape` (row-major). */
const unravel = (i: number, shape: Shape): number[] => {
  const idx = new Array<number>(shape.length)
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!
    i = Math.floor(i / shape[d]!)
  }
  return idx
}
const ravel = (idx: ReadonlyArray<number>, shape: Shape) => idx.reduce((a, v, d) => a * shape[d]! + v, 0)
/** `values` repeated to fill `shape`. */
const fill = (values: ArrayLike<number>, shape: Shape) => Float32Array.from({ length: sizeOf(shape) }, (_, i) => values[i % values.length]!)
const tensorOf = (v: Float32Array, shape: Shape) => tf.tensor(v, [...shape])

/** A clip-shaped tensor: 72 values, every axis of size > 1. */
const V5: Shape = [2, 3, 2, 2, 3]

const unary5 = (name: string, use: string, values: Float32Array, op: (x: tf.Tensor) => tf.Tensor, ref: (x: number) => number, relative = 0): Check => {
  const v = fill(values, V5)
  return {
    name: `rank 5: ${name}`, use, kind: 'tfjs', relative, run: () => op(tensorOf(v, V5)),
    reference: () => map(v, ref), flushed: () => map(v, (x) => ftz(ref(ftz(x)))),
  }
}

/** A binary kernel broadcasting `[a]` against `[b]` (right-aligned, as tfjs and NumPy do). */
const broadcast5 = (name: string, use: string, sa: Shape, sb: Shape, op: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor, ref: (x: number, y: number) => number, relative = 0): Check => {
  const [a, b] = [fill(SIGNED, sa), fill(SCALARS, sb)]
  const rank = Math.max(sa.length, sb.length)
  const pa = [...Array<number>(rank - sa.length).fill(1), ...sa]
  const pb = [...Array<number>(rank - sb.length).fill(1), ...sb]
  const out = pa.map((n, i) => Math.max(n, pb[i]!))
  const at = (p: Shape, idx: ReadonlyArray<number>) => ravel(idx.map((v, d) => (p[d] === 1 ? 0 : v)), p)
  const ps = Array.from({ length: sizeOf(out) }, (_, i) => {
    const idx = unravel(i, out)
    return [a[at(pa, idx)]!, b[at(pb, idx)]!] as const
  })
  return {
    name: `rank 5: ${name} [${sa.join(', ')}] by [${sb.join(', ')}]`, use, kind: 'tfjs', relative,
    run: () => op(tensorOf(a, sa), tensorOf(b, sb)),
    reference: () => ps.map(([x, y]) => ref(x, y)), flushed: () => ps.map(([x, y]) => ftz(ref(ftz(x), ftz(y)))),
  }
}

/** Broadcasts multav's tensors take against a clip [N, T, H, W, C], and one no model needs (it folds to no rank ≤ 4). */
const BROADCASTS: ReadonlyArray<readonly [Shape, Shape, string]> = [
  [V5, [2, 1, 1, 1, 1], 'per-sample norms, ε·x/‖·‖'],
  [V5, [2, 3, 2, 2, 1], 'masks [N, T, H, W, 1]'],
  [V5, [3], 'batch norm x·scale + shift'],
  [V5, [], 'α·d, ε·x'],
  [V5, V5, 'x′ ⊙ α^d, x′ − x'],
  [[1, 3, 1, 2, 1], [2, 1, 2, 1, 3], 'no multav tensor (a user\'s model)'],
]
const BINARY5: ReadonlyArray<readonly [string, (x: tf.Tensor, y: tf.Tensor) => tf.Tensor, (x: number, y: number) => number, number]> = [
  ['mul', tf.mul, (x, y) => x * y, 1e-7],
  ['div', tf.div, (x, y) => x / y, 1e-7],
  ['add', tf.add, (x, y) => x + y, 1e-7],
  ['sub', tf.sub, (x, y) => x - y, 1e-7],
  ['maximum', tf.maximum, Math.max, 0],
  ['minimum', tf.minimum, Math.min, 0],
  ['greater', (x, y) => tf.cast(tf.greater(x, y), 'float32'), (x, y) => (x > y ? 1 : 0), 0],
]

/** A shape-moving kernel (pad, slice, concat, transpose, tile) on `x`, against index arithmetic. */
const moving = (name: string, use: string, xShape: Shape, op: (x: tf.Tensor) => tf.Tensor, outShape: Shape, source: (outIdx: number[]) => number | undefined, constant = 0): Check => {
  const x = fill(wave(sizeOf(xShape), 1, 0.3), xShape)
  return {
    name: `rank 5: ${name}`, use, kind: 'tfjs', relative: 0, run: () => op(tensorOf(x, xShape)),
    reference: () => Array.from({ length: sizeOf(outShape) }, (_, i) => {
      const j = source(unravel(i, outShape))
      return j === undefined ? constant : x[j]!
    }),
  }
}

const padCheck = (paddings: Array<[number, number]>, constant: number, use: string): Check => {
  const outShape = V5.map((n, d) => n + paddings[d]![0] + paddings[d]![1])
  return moving(`pad ${JSON.stringify(paddings)}, constant ${constant}`, use, V5, (x) => tf.pad(x, paddings, constant), outShape, (idx) => {
    const inner = idx.map((v, d) => v - paddings[d]![0])
    return inner.every((v, d) => v >= 0 && v < V5[d]!) ? ravel(inner, V5) : undefined
  }, constant)
}

/** A reduction of a clip over `axes` (keepDims), at scale `s`. */
const reduce5 = (name: string, use: string, op: (x: tf.Tensor, axes: number[]) => tf.Tensor, ref: (v: number[]) => number, axes: number[], s: number, relative: number, absolute?: number): Check => {
  const x = fill(wave(72, s, 1.1), V5)
  const outShape = V5.map((n, d) => (axes.includes(d) ? 1 : n))
  return {
    name: `rank 5: ${name} over axes [${axes.join(', ')}] ×${s}`, use, kind: 'tfjs', relative, ...(absolute === undefined ? {} : { absolute }),
    run: () => op(tensorOf(x, V5), axes),
    reference: () => {
      const groups = Array.from({ length: sizeOf(outShape) }, () => [] as number[])
      x.forEach((v, i) => groups[ravel(unravel(i, V5).map((c, d) => (axes.includes(d) ? 0 : c)), outShape)]!.push(v))
      return groups.map(ref)
    },
    flushTerms: 4,
  }
}

/**
 * The loops of a 'same' convolution (TensorFlow's pads: the odd one at the back), NDHWC with a
 * DHWIO filter and strides s: `visit(xi, wi, yi)` for every product y[yi] += x[xi]·w[wi].
 */
const sameConv = (xShape: Shape, wShape: Shape, s: readonly [number, number, number], visit: (xi: number, wi: number, yi: number) => void): Shape => {
  const [N, T, H, W, C] = xShape as [number, number, number, number, number]
  const [kd, kh, kw, , O] = wShape as [number, number, number, number, number]
  const sizes = [T, H, W]
  const ks = [kd, kh, kw]
  const outs = sizes.map((n, i) => Math.ceil(n / s[i]!))
  const front = sizes.map((n, i) => Math.floor(Math.max((outs[i]! - 1) * s[i]! + ks[i]! - n, 0) / 2))
  const [To, Ho, Wo] = outs as [number, number, number]
  for (let n = 0; n < N; n++)
    for (let t = 0; t < To; t++)
      for (let h = 0; h < Ho; h++)
        for (let q = 0; q < Wo; q++)
          for (let a = 0; a < kd; a++)
            for (let b = 0; b < kh; b++)
              for (let c = 0; c < kw; c++) {
                const [tt, hh, ww] = [t * s[0] + a - front[0]!, h * s[1] + b - front[1]!, q * s[2] + c - front[2]!]
                if (tt < 0 || tt >= T || hh < 0 || hh >= H || ww < 0 || ww >= W) continue
                for (let i = 0; i < C; i++)
                  for (let o = 0; o < O; o++)
                    visit((((n * T + tt) * H + hh) * W + ww) * C + i, (((a * kh + b) * kw + c) * C + i) * O + o, (((n * To + t) * Ho + h) * Wo + q) * O + o)
              }
  return [N, To, Ho, Wo, O]
}

type Conv = (x: tf.Tensor, w: tf.Tensor) => tf.Tensor
/**
 * A convolution's forward pass, input gradient and filter gradient (of Σ dy·conv(x, w), dy scaled
 * by `s`) against the loops above. `rank4` convolutions (tf.conv2d) see [N, H, W, C] and [kh, kw, I, O].
 */
const convChecks = (name: string, use: string, kind: Check['kind'], conv: Conv, xShape: Shape, wShape: Shape, strides: readonly [number, number, number], scales: ReadonlyArray<number>, rank4 = false): Check[] => {
  const [x, w] = [wave(sizeOf(xShape), 1, 0.5), wave(sizeOf(wShape), 0.2, 0.8)]
  const visits: Array<readonly [number, number, number]> = []
  const yShape = sameConv(xShape, wShape, strides, (xi, wi, yi) => visits.push([xi, wi, yi]))
  const shapeOf = (shape: Shape) => (rank4 ? shape.filter((_, d) => d !== (shape === wShape ? 0 : 1)) : shape)
  const [xs, ws, ys] = [shapeOf(xShape), shapeOf(wShape), rank4 ? [yShape[0]!, yShape[2]!, yShape[3]!, yShape[4]!] : yShape]
  const tolerance = (sc: number) => ({ relative: 1e-5, absolute: Math.max(1e-6 * sc, 256 * DENORMAL_MIN), flushTerms: 8 })
  const forward: Check = {
    name: `${name} forward`, use, kind, ...tolerance(1),
    run: () => conv(tensorOf(x, xs), tensorOf(w, ws)),
    reference: () => {
      const y = new Array<number>(sizeOf(yShape)).fill(0)
      for (const [xi, wi, yi] of visits) y[yi]! += x[xi]! * w[wi]!
      return y
    },
  }
  const grads = scales.flatMap((sc): Check[] => {
    const dy = wave(sizeOf(yShape), sc, 2.2)
    const loss = (v: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(conv(v, f), tensorOf(dy, ys)))
    return [
      {
        name: `${name} input gradient, dy ×${sc}`, use, kind, ...tolerance(sc),
        run: () => tf.grad((v: tf.Tensor) => loss(v, tensorOf(w, ws)))(tensorOf(x, xs)),
        reference: () => {
          const dx = new Array<number>(x.length).fill(0)
          for (const [xi, wi, yi] of visits) dx[xi]! += dy[yi]! * w[wi]!
          return dx
        },
        flushed: () => {
          const dx = new Array<number>(x.length).fill(0)
          for (const [xi, wi, yi] of visits) dx[xi]! += ftz(f32(ftz(dy[yi]!) * w[wi]!))
          return dx
        },
      },
      {
        name: `${name} filter gradient, dy ×${sc}`, use, kind, ...tolerance(sc),
        run: () => tf.grad((f: tf.Tensor) => loss(tensorOf(x, xs), f))(tensorOf(w, ws)),
        reference: () => {
          const dw = new Array<number>(w.length).fill(0)
          for (const [xi, wi, yi] of visits) dw[wi]! += dy[yi]! * x[xi]!
          return dw
        },
        flushed: () => {
          const dw = new Array<number>(w.length).fill(0)
          for (const [xi, wi, yi] of visits) dw[wi]! += ftz(f32(ftz(dy[yi]!) * x[xi]!))
          return dw
        },
      },
    ]
  })
  return [forward, ...grads]
}

/**
 * Checks at rank 5 (elementwise kernels on clip-shaped tensors, broadcasts, pads, slices, concats,
 * transposes, tiles, where, reductions) and of the convolutions' kernels (tf.conv2d, which
 * ops.conv3d is built from off cpu, and ops.conv3d at stride 2): run on webgl and webgpu by
 * test/browser-audit.test.ts, where the GPU shader generators have their own rank-5 paths.
 */
export const RANK5_CHECKS: ReadonlyArray<Check> = [
  unary5('sign', 'sign(∇L) on a clip', SIGNED, tf.sign, mathSign),
  { ...unary5('ops.sign', 'what the tensor interpreter uses', NON_FINITE, exactSign, mathSign), kind: 'multav' },
  unary5('abs', '‖x′−x‖∞', SIGNED, tf.abs, Math.abs),
  unary5('exp', 'α^d = exp(d·ln α)', EXPONENTS, tf.exp, Math.exp, 2e-7),
  unary5('log', 'log(x′/x)', POSITIVE, tf.log, Math.log, 2e-7),
  unary5('sqrt', '‖v‖₂', Float32Array.from(MAGNITUDES), tf.sqrt, Math.sqrt, 1e-7),
  unary5('square', 'Σv²', SIGNED, tf.square, (x) => x * x, 1e-7),
  unary5('relu', 'every ReLU', SIGNED, tf.relu, (x) => Math.max(0, x)),
  unary5('step', 'ops.sign = step(v) − step(−v)', NON_FINITE, tf.step, (x) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : 0)),
  unary5('clipByValue [0, 1]', 'clip to the pixel range', NON_FINITE, (x) => tf.clipByValue(x, 0, 1), (x) => (Number.isNaN(x) ? NaN : Math.min(1, Math.max(0, x)))),
  unary5('isFinite', 'input checks', NON_FINITE, (x) => tf.cast(tf.isFinite(x), 'float32'), (x) => (Number.isFinite(x) ? 1 : 0)),
  ...BINARY5.flatMap(([name, op, ref, relative]) => BROADCASTS.map(([a, b, use]) => broadcast5(name, use, a, b, op, ref, relative))),
  binary('pow', 'α^d with a tensor exponent', Float32Array.from([0, 1e-30, 1e-8, 0.5, 1, 1.01, 2, 255]), Float32Array.from([0, 1, -1, 2, 0.5, -0.5, 3, 1e-7]), tf.pow, Math.pow, 1e-6),
  {
    name: 'rank 5: where (condition of the same shape)', use: 'ratio taken as 1 where x = 0', kind: 'tfjs', relative: 0,
    run: () => { const x = tensorOf(fill(SIGNED, V5), V5); return tf.where(tf.greater(x, 0), x, tf.onesLike(x)) },
    reference: () => map(fill(SIGNED, V5), (x) => (x > 0 ? x : 1)),
  },
  {
    name: 'rank 5: where (a per-sample condition [2, 1, 1, 1, 1])', use: 'L2 projections: only where ‖δ‖ > ε', kind: 'tfjs', relative: 0,
    run: () => tf.where(tf.tensor([true, false], [2, 1, 1, 1, 1], 'bool'), tensorOf(fill(SIGNED, V5), V5), tf.zeros([...V5])),
    reference: () => Array.from(fill(SIGNED, V5), (x, i) => (i < 36 ? x : 0)),
  },
  padCheck([[0, 0], [1, 1], [1, 1], [1, 1], [0, 0]], 0, 'conv3d\'s \'same\' pads'),
  padCheck([[0, 0], [0, 1], [0, 0], [0, 0], [0, 0]], 0, 'conv3d at stride 2 (T padded to a multiple)'),
  padCheck([[1, 0], [0, 1], [1, 1], [0, 2], [2, 0]], 1.5, 'every axis padded, a constant'),
  moving('slice [0, 1, 0, 1, 0] size [2, 2, 2, 1, 3]', 'conv3d\'s taps and crops', V5, (x) => tf.slice(x, [0, 1, 0, 1, 0], [2, 2, 2, 1, 3]), [2, 2, 2, 1, 3], (i) => ravel([i[0]!, i[1]! + 1, i[2]!, i[3]! + 1, i[4]!], V5)),
  moving('concat on axis 1', 'stacked clips, conv3d', V5, (x) => tf.concat([x, x], 1), [2, 6, 2, 2, 3], (i) => ravel([i[0]!, i[1]! % 3, i[2]!, i[3]!, i[4]!], V5)),
  moving('concat on axis 4', 'shortcut A (zero channels)', V5, (x) => tf.concat([x, tf.zeros([2, 3, 2, 2, 1])], 4), [2, 3, 2, 2, 4], (i) => (i[4]! < 3 ? ravel(i, V5) : undefined)),
  moving('transpose [0, 4, 1, 2, 3]', 'conv3d\'s filter gradient', V5, (x) => tf.transpose(x, [0, 4, 1, 2, 3]), [2, 3, 3, 2, 2], (i) => ravel([i[0]!, i[2]!, i[3]!, i[4]!, i[1]!], V5)),
  moving('transpose [2, 3, 1, 0, 4]', 'conv3d\'s filter gradient', V5, (x) => tf.transpose(x, [2, 3, 1, 0, 4]), [2, 2, 3, 2, 3], (i) => ravel([i[3]!, i[2]!, i[0]!, i[1]!, i[4]!], V5)),
  moving('tile [2, 1, 1, 1, 1] by [1, 3, 2, 2, 3]', 'tf.where\'s broadcast of a per-sample condition', [2, 1, 1, 1, 1], (x) => tf.tile(x, [1, 3, 2, 2, 3]), V5, (i) => i[0]!),
  moving('tile [2, 3, 2, 2, 1] by [1, 1, 1, 1, 3]', 'a mask over channels', [2, 3, 2, 2, 1], (x) => tf.tile(x, [1, 1, 1, 1, 3]), V5, (i) => ravel([i[0]!, i[1]!, i[2]!, i[3]!, 0], [2, 3, 2, 2, 1])),
  ...[1, 1e-30].flatMap((s) => [
    reduce5('sum', 'per-sample L2 norms', (x, a) => tf.sum(x, a, true), (v) => v.reduce((p, q) => p + q, 0), [1, 2, 3, 4], s, 1e-6, 72 * 2 ** -24 * s),
    reduce5('max', 'per-sample max |v|', (x, a) => tf.max(x, a, true), (v) => Math.max(...v), [1, 2, 3, 4], s, 0),
    reduce5('min', 'sanity min', (x, a) => tf.min(x, a, true), (v) => Math.min(...v), [1, 2, 3, 4], s, 0),
    reduce5('mean', 'global average pool', (x, a) => tf.mean(x, a, true), (v) => v.reduce((p, q) => p + q, 0) / v.length, [1, 2, 3], s, 1e-6, 72 * 2 ** -24 * s),
    reduce5('sum', 'batch norm statistics', (x, a) => tf.sum(x, a, true), (v) => v.reduce((p, q) => p + q, 0), [0, 1, 2, 3], s, 1e-6, 72 * 2 ** -24 * s),
  ]),
  ...convChecks('tf.conv2d', 'ops.conv3d\'s taps off cpu', 'tfjs', (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), [2, 1, 5, 5, 2], [1, 3, 3, 2, 3], [1, 1, 1], [1, 1e-30], true),
  ...convChecks('tf.conv2d stride 2', 'ops.conv3d\'s taps off cpu', 'tfjs', (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), [2, 1, 6, 6, 2], [1, 3, 3, 2, 3], [1, 2, 2], [1e-8], true),
  ...convChecks('ops.conv3d stride 2', 'the ResNets\' downsampling convolutions', 'multav', (x, w) => conv3d(x, w, { strides: 2, pad: 'same' }), [1, 4, 5, 5, 2], [3, 3, 3, 2, 3], [2, 2, 2], [1, 1e-30]),
  ...convChecks('ops.conv3d stride 1', 'every 3D convolution of the models', 'multav', (x, w) => conv3d(x, w, { pad: 'same' }), [1, 3, 4, 4, 2], [3, 3, 3, 2, 2], [1, 1, 1], [1e-20]),
]

// -------------------------------------------------------------------------------------------------
// running and reporting
// -------------------------------------------------------------------------------------------------

export interface Deviation {
  readonly index: number
  readonly got: number
  readonly want: number
}

export interface AuditRow {
  readonly check: string
  readonly use: string
  readonly kind: 'tfjs' | 'multav'
  readonly backend: string
  readonly values: number
  readonly deviations: number
  /** Values that agree only with the flush-to-zero reference (counted where the backend flushes). */
  readonly flushed: number
  /** Up to three examples. */
  readonly examples: ReadonlyArray<Deviation>
  /** The kernel threw (a missing kernel): its message; every value counts as a deviation. */
  readonly error?: string
}

export interface AuditOptions {
  /**
   * The backend has no float32 denormals (WebGL, WebGPU): a value may instead agree with the check's
   * flush-to-zero reference, or, for checks without one, with the reference within flushTerms·2⁻¹²⁶.
   */
  readonly flushDenormals?: boolean
}

const DEFAULT_FLOOR = 4 * DENORMAL_MIN

const agrees = (got: number, want: number, relative: number, absolute: number): boolean => {
  if (Number.isNaN(want)) return Number.isNaN(got)
  // compare with the float64 reference rounded to float32 (what an exact float32 kernel returns):
  // beyond float32's range that is ±Infinity
  const w = f32(want)
  if (!Number.isFinite(w) || !Number.isFinite(got)) return got === w
  return Math.abs(got - w) <= relative * Math.abs(w) + absolute
}

/** Runs every check on the current backend. A check whose kernel throws is a row with `error`. */
export const audit = async (checks: ReadonlyArray<Check> = CHECKS, options: AuditOptions = {}): Promise<AuditRow[]> => {
  const backend = tf.getBackend()
  const rows: AuditRow[] = []
  for (const c of checks) {
    const want = c.reference()
    const row = { check: c.name, use: c.use, kind: c.kind, backend }
    let got: number[]
    try {
      const out = tf.tidy(c.run)
      try {
        got = Array.from(await out.data())
      } finally {
        out.dispose()
      }
    } catch (e) {
      const error = (e as Error).message.split('\n')[0]!.slice(0, 200)
      rows.push({ ...row, values: want.length, deviations: want.length, flushed: 0, examples: [], error })
      continue
    }
    if (want.length !== got.length) throw new Error(`kernel audit ${c.name}: ${got.length} values, reference has ${want.length}`)
    const floor = c.absolute ?? DEFAULT_FLOOR
    const flushedWant = options.flushDenormals ? c.flushed?.() : undefined
    const flushFloor = floor + (c.flushTerms ?? 1) * NORMAL_MIN
    const bad: Deviation[] = []
    let flushed = 0
    got.forEach((g, i) => {
      if (agrees(g, want[i]!, c.relative, floor)) return
      const ok = options.flushDenormals === true && ((flushedWant !== undefined && agrees(g, flushedWant[i]!, c.relative, flushFloor)) || agrees(g, want[i]!, c.relative, flushFloor))
      if (ok) flushed++
      else bad.push({ index: i, got: g, want: want[i]! })
    })
    rows.push({ ...row, values: got.length, deviations: bad.length, flushed, examples: bad.slice(0, 3) })
  }
  return rows
}

const fmt = (v: number) => (Object.is(v, -0) ? '-0' : Number.isFinite(v) && v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e4) ? v.toExponential(2) : String(Math.round(v * 1e6) / 1e6))

/** A check's name without its magnitude (`, dy ×1e-30`, ` ×1e-8`): rows that differ only by it are merged. */
const family = (check: string) => check.replace(/,? (dy |x )?×[0-9e.+-]+$/, '')

/** The audit as a markdown table: one row per kernel (its magnitudes merged) and backend. */
export const markdown = (rows: ReadonlyArray<AuditRow>): string => {
  const groups = new Map<string, AuditRow[]>()
  for (const r of rows) {
    const key = `${family(r.check)}\u0000${r.backend}`
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  const lines = ['| check | used for | backend | values | deviations | e.g. (got vs float64 reference) |', '|---|---|---|---:|---:|---|']
  for (const g of groups.values()) {
    const [first] = g as [AuditRow]
    const scales = g.length > 1 ? ` (${g.map((r) => r.check.match(/×([0-9e.+-]+)$/)?.[1]).join(', ')})` : ''
    const deviations = g.reduce((a, r) => a + r.deviations, 0)
    const e = g.flatMap((r) => r.examples).slice(0, 2).map((d) => `${fmt(d.got)} vs ${fmt(d.want)}`).join('; ')
    const name = `${family(first.check)}${scales}`
    lines.push(`| ${first.kind === 'multav' ? `**${name}**` : name} | ${first.use.replaceAll('|', '\\|')} | ${first.backend} | ${g.reduce((a, r) => a + r.values, 0)} | ${deviations === 0 ? '0' : `**${deviations}**`} | ${e} |`)
  }
  return lines.join('\n')
}

/**
 * A module of Node's (or multav's Node entry), loaded only when `main` runs: the specifier is not a
 * literal, so a bundler for browsers leaves it alone.
 */
const nodeOnly = <M>(specifier: string): Promise<M> => import(specifier) as Promise<M>

const main = async () => {
  const { parseArgs } = await nodeOnly<typeof import('node:util')>('node:util')
  const { initBackend } = await nodeOnly<typeof import('../src/backend/backend.js')>('../src/backend/backend.js')
  const { values } = parseArgs({ options: { backends: { type: 'string', default: 'cpu,wasm' }, markdown: { type: 'boolean', default: false } } })
  const rows: AuditRow[] = []
  for (const b of values.backends.split(',') as BackendName[]) {
    await initBackend(b, { threads: 1 })
    rows.push(...(await audit()))
  }
  if (values.markdown) console.log(markdown(rows))
  else for (const r of rows) console.log(`${r.deviations === 0 ? 'ok  ' : 'DEV '} ${r.backend.padEnd(5)} ${r.check}${r.deviations ? `: ${r.deviations}/${r.values}, e.g. ${r.examples.map((d) => `${fmt(d.got)} vs ${fmt(d.want)}`).join('; ')}` : ''}`)
}

/** True when this file is the program Node runs (never in a browser, which has no `process`). */
const isMain = async (): Promise<boolean> => {
  const argv = (globalThis as { process?: { argv?: string[] } }).process?.argv
  if (argv?.[1] === undefined) return false
  const { pathToFileURL } = await nodeOnly<typeof import('node:url')>('node:url')
  return import.meta.url === pathToFileURL(argv[1]).href
}

if (await isMain()) await main()
