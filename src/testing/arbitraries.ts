/**
 * fast-check arbitraries for property-testing attacks: clips (with exact zeros and ones), small
 * differentiable models with analytic gradients, and attack values.
 *
 * @since 0.1.0
 */
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import type { GradientOracle } from '../interpreters/reference.js'
import type { ClipData } from '../core/clip.js'
import type { Model } from '../core/model.js'
import type { Attack, Constraint, Direction, Init, Loss, Region, Step, Units } from '../dsl/types.js'

// -------------------------------------------------------------------------------------------------
// clips
// -------------------------------------------------------------------------------------------------

export interface ClipConstraints {
  readonly maxN?: number
  readonly maxT?: number
  readonly maxH?: number
  readonly maxW?: number
  /** Channels (default 3). */
  readonly C?: number
  /** Pixel values in [min, max] (default [0, 1]); positive values are ≥ 1e−30 (no denormals). */
  readonly min?: number
  readonly max?: number
  /** Include exact 0 (and, when max = 1, exact 1) values (default true when the range allows). */
  readonly extremes?: boolean
  /** A fixed shape `[N, T, H, W, C]` instead of generated sizes. */
  readonly shape?: readonly [number, number, number, number, number]
}

/** Clip batches `[N, T, H, W, C]` with float32 values in [min, max], sometimes exactly at the ends. */
export const clipArb = (k: ClipConstraints = {}): fc.Arbitrary<ClipData> => {
  const lo = k.min ?? 0
  const hi = k.max ?? 1
  const extremes = k.extremes ?? true
  // Positive values are at least 1e−30: float32 denormals (< 1.2e−38) lose relative precision under
  // x·ε and x/ε, which no real (8-bit-derived) clip contains.
  const interior = fc.float({ min: Math.fround(Math.max(lo, SMALLEST_PIXEL)), max: Math.fround(hi), noNaN: true })
  const ends = endpoints(lo, hi)
  const value = extremes && ends.length > 0 ? fc.oneof({ weight: 8, arbitrary: interior }, { weight: 1, arbitrary: fc.constantFrom(...ends) }) : interior
  const dims = k.shape
    ? fc.constant(k.shape)
    : fc.tuple(
        fc.integer({ min: 1, max: k.maxN ?? 2 }),
        fc.integer({ min: 1, max: k.maxT ?? 3 }),
        fc.integer({ min: 1, max: k.maxH ?? 4 }),
        fc.integer({ min: 1, max: k.maxW ?? 4 }),
        fc.constant(k.C ?? 3),
      )
  return dims.chain(([N, T, H, W, C]) => {
      const size = N * T * H * W * C
      return fc
        .array(value, { minLength: size, maxLength: size })
        .map((values): ClipData => ({ shape: [N, T, H, W, C], data: Float32Array.from(values, (v) => Math.abs(v)) }))
    })
}

/** The smallest positive pixel value the clip arbitraries generate. */
export const SMALLEST_PIXEL = 1e-30

const endpoints = (lo: number, hi: number): number[] => [lo, hi].filter((v) => v === 0 || v === 1)

// -------------------------------------------------------------------------------------------------
// models
// -------------------------------------------------------------------------------------------------

/**
 * A linear classifier over the flattened clip, logits = x·W + b, W `[D, K]`. With K = 2 the gradient
 * of the loss is p₁·(W₀ − W₁) up to sign, so with |W₁ − W₀| ≥ margin·(4/D) its sign is the same at
 * every x'; and with |W| ≤ 4/D the logits differ by at most 8 on clips in [0, 1], so the softmax
 * never saturates in float32 (where 1 − p would round to 0 and flip that sign). The property tests
 * rely on both.
 *
 * `gradientScale` s (default 1) scales the backward pass only: the logits, the softmax and the loss
 * are those of W, while ∇ₓ is s times W's (`toModel` multiplies the gradient reaching the input by s,
 * `linearGradient` its analytic gradient). Scaling W instead would scale the logits too, and past
 * s ≈ 4 float32's 1 − p would round to 0 where float64's does not. Per value,
 * |∇ₓ| = s·|p₁ − [y = 1]|·|W₁ − W₀|/N with |W₁ − W₀| ∈ [2·margin/D, 2/D] and |p₁ − [y = 1]| ∈ [0.1, 0.9]
 * (the logits of `linearModelArb`'s models differ by at most 2 on [0, 1]): ∝ s at every scale.
 */
export interface LinearModel {
  readonly D: number
  readonly K: number
  /** `[D, K]`, row-major. */
  readonly weights: Float32Array
  readonly bias: Float32Array
  /** Factor on ∇ₓ, not on the logits (default 1). */
  readonly gradientScale?: number
}

/**
 * Two-class linear models over `D` values whose class-weight differences are at least `margin`, with
 * gradients (not logits) multiplied by `gradientScale` (default 1; see `gradientScaleArb`).
 */
export const linearModelArb = (D: number, margin = 0.1, gradientScale = 1): fc.Arbitrary<LinearModel> =>
  fc
    .array(
      fc.tuple(
        fc.float({ min: -1, max: 1, noNaN: true }),
        fc.float({ min: Math.fround(margin), max: 1, noNaN: true }),
        fc.boolean(),
      ),
      { minLength: D, maxLength: D },
    )
    .map((rows) => ({
      D,
      K: 2,
      weights: Float32Array.from(rows.flatMap(([w0, gap, up]) => [w0 / 2, (w0 + (up ? gap : -gap)) / 2].map((w) => (w * 4) / D))),
      bias: Float32Array.from([0, 0]),
      gradientScale,
    }))

/**
 * The range `gradientScaleArb` draws from by default. Real models' input gradients of a batch-mean
 * loss are often below 1e−7 per value (where wasm's tf.sign returns 0); s = 1e−12 puts a linear
 * model's near 1e−16 to 1e−12 (float32 normals reach down to 1.2e−38, so none underflows). s = 1e3
 * puts them near 0.1 to 600 (sums of their squares would still fit float32's 3.4e38, and multav's L2
 * norms divide by max|v| before squaring anyway). The logits do not depend on s.
 */
export const MIN_GRADIENT_SCALE = 1e-12
export const MAX_GRADIENT_SCALE = 1e3

/**
 * Gradient scales s = min·(max/min)^t, t uniform in [0, 1] on a grid of 2²⁰ steps: log-uniform, every
 * decade equally likely (fc.double over log₁₀ s would not be: it picks among float representations,
 * most of them near 0, i.e. s ≈ 1), for `linearModelArb`, `scenarioArb` and `attackCaseArb`.
 * Shrinks towards min.
 */
export const gradientScaleArb = (min = MIN_GRADIENT_SCALE, max = MAX_GRADIENT_SCALE): fc.Arbitrary<number> => {
  if (!(min > 0 && min <= max && Number.isFinite(max)))
    throw new Error(`gradientScaleArb: expected 0 < min ≤ max < ∞, got [${min}, ${max}]`)
  return fc.noBias(fc.integer({ min: 0, max: SCALE_STEPS })).map((k) => min * (max / min) ** (k / SCALE_STEPS))
}

const SCALE_STEPS = 2 ** 20

/**
 * The linear model as a tfjs `Model` (its weights are created per call inside the caller's tidy). With
 * a gradient scale s ≠ 1 the input passes through a custom-gradient identity: forward x, backward dy·s.
 */
export const toModel = (m: LinearModel): Model => {
  const s = m.gradientScale ?? 1
  // tfjs passes the inputs followed by a save function; the identity saves nothing
  const scaled = s === 1 ? undefined : tf.customGrad((...inputs) => ({ value: tf.clone(inputs[0] as tf.Tensor), gradFunc: (dy) => tf.mul(dy, s) }))
  return (x) =>
    tf.tidy(() => {
      const input = scaled ? (scaled(x) as tf.Tensor5D) : x
      return tf.add(tf.matMul(tf.reshape(input, [x.shape[0], m.D]), tf.tensor2d(m.weights, [m.D, m.K])), tf.tensor1d(m.bias))
    })
}

/** Analytic ∇ₓ of the attacker's objective for the linear model: ±(s/N)·(p − onehot)·Wᵀ per sample (s its gradient scale). */
export const linearGradient = (m: LinearModel, labels: ReadonlyArray<number>, loss: Loss): GradientOracle => {
  const sign = loss.target._tag === 'Targeted' ? -1 : 1
  const goal = loss.target._tag === 'Targeted' ? labels.map(() => (loss.target as { label: number }).label) : labels
  const scale = m.gradientScale ?? 1
  return (xAdv) => {
    const N = goal.length
    const grad = new Float32Array(xAdv.length)
    for (let n = 0; n < N; n++) {
      const logits = Array.from(m.bias, (b, k) => {
        let s = b
        for (let d = 0; d < m.D; d++) s += xAdv[n * m.D + d]! * m.weights[d * m.K + k]!
        return s
      })
      const top = Math.max(...logits)
      const e = logits.map((l) => Math.exp(l - top))
      const z = e.reduce((a, b) => a + b, 0)
      const residual = e.map((v, k) => (v / z - (k === goal[n] ? 1 : 0)) * ((sign * scale) / N))
      for (let d = 0; d < m.D; d++) {
        let s = 0
        for (let k = 0; k < m.K; k++) s += residual[k]! * m.weights[d * m.K + k]!
        grad[n * m.D + d] = s
      }
    }
    return grad
  }
}

/** `n` class labels in [0, K). */
export const labelsArb = (n: number, K = 2): fc.Arbitrary<ReadonlyArray<number>> =>
  fc.array(fc.integer({ min: 0, max: K - 1 }), { minLength: n, maxLength: n })

/** A clip batch, labels and a linear model that fits it. */
export interface Scenario {
  readonly x: ClipData
  readonly labels: ReadonlyArray<number>
  readonly model: LinearModel
}

export interface ModelConstraints {
  /** Factor on the model's ∇ₓ, not its logits (default 1): a number, or e.g. `gradientScaleArb()`. */
  readonly gradientScale?: number | fc.Arbitrary<number>
}

/** Linear models over `D` values at the scale(s) `m` asks for. */
const modelsOf = (D: number, { gradientScale = 1 }: ModelConstraints): fc.Arbitrary<LinearModel> =>
  typeof gradientScale === 'number' ? linearModelArb(D, 0.1, gradientScale) : gradientScale.chain((s) => linearModelArb(D, 0.1, s))

/** Clips as `k` asks, labels, and a linear model over them at the gradient scale(s) `m` asks. */
export const scenarioArb = (k: ClipConstraints = {}, m: ModelConstraints = {}): fc.Arbitrary<Scenario> =>
  clipArb(k).chain((x) => {
    const [N, T, H, W, C] = x.shape
    return fc.record({
      x: fc.constant(x),
      labels: labelsArb(N),
      model: modelsOf(T * H * W * C, m),
    })
  })

// -------------------------------------------------------------------------------------------------
// attacks
// -------------------------------------------------------------------------------------------------

export interface AttackConstraints {
  /** Maximum nesting of direction transforms (default 3). */
  readonly maxDepth?: number
  /** Maximum iterations (default 4). */
  readonly maxSteps?: number
  /** Frame geometry regions must fit (default 1 frame of 1x1: regions stay tiny). */
  readonly geometry?: { readonly T: number; readonly H: number; readonly W: number }
}

const units: fc.Arbitrary<Units> = fc.constantFrom('absolute', 'rms')

/** Regions that fit `g`, combined (∪, ∩, ¬) up to `depth` levels. */
export const regionArb = (
  g: { readonly T: number; readonly H: number; readonly W: number },
  depth = 1,
): fc.Arbitrary<Region> => {
  const leaves: fc.Arbitrary<Region> = fc.oneof(
    fc
      .uniqueArray(fc.integer({ min: 0, max: g.T - 1 }), { minLength: 1, maxLength: g.T })
      .map((indices): Region => ({ _tag: 'Frames', indices })),
    fc
      .tuple(fc.integer({ min: 1, max: g.H }), fc.integer({ min: 1, max: g.W }))
      .chain(([height, width]) =>
        fc.record({
          _tag: fc.constant('Box' as const),
          top: fc.integer({ min: 0, max: g.H - height }),
          left: fc.integer({ min: 0, max: g.W - width }),
          height: fc.constant(height),
          width: fc.constant(width),
        }),
      ),
    fc.record({
      _tag: fc.constant('Rect' as const),
      height: fc.integer({ min: 1, max: g.H }),
      width: fc.integer({ min: 1, max: g.W }),
      placement: fc.constantFrom('perFrame' as const, 'shared' as const),
    }),
    fc.record({ _tag: fc.constant('Pixels' as const), perFrame: fc.integer({ min: 1, max: g.H * g.W }) }),
    fc.record({
      _tag: fc.constant('SearchedRect' as const),
      height: fc.integer({ min: 1, max: g.H }),
      width: fc.integer({ min: 1, max: g.W }),
      search: fc.constantFrom('exhaustive' as const, 'gradient' as const),
      scope: fc.constantFrom('perFrame' as const, 'shared' as const),
      stride: fc.integer({ min: 1, max: 3 }),
      topK: fc.integer({ min: 1, max: 4 }),
      fill: fc.constantFrom(0, 0.5, 1),
    }),
    // a ring at most half the frame wide (only frames of at least 2x2 have one)
    ...(Math.min(g.H, g.W) >= 2
      ? [fc.record({ _tag: fc.constant('Ring' as const), width: fc.integer({ min: 1, max: Math.floor(Math.min(g.H, g.W) / 2) }) })]
      : []),
  )
  if (depth <= 0) return leaves
  const inner = regionArb(g, depth - 1)
  return fc.oneof(
    { weight: 4, arbitrary: leaves },
    { weight: 1, arbitrary: fc.array(inner, { minLength: 1, maxLength: 2 }).map((regions): Region => ({ _tag: 'Union', regions })) },
    { weight: 1, arbitrary: fc.array(inner, { minLength: 1, maxLength: 2 }).map((regions): Region => ({ _tag: 'Intersection', regions })) },
    { weight: 1, arbitrary: inner.map((of): Region => ({ _tag: 'Complement', of })) },
  )
}

/** Directions built from the primitives, nested up to `depth`. */
export const directionArb = (depth: number, region: fc.Arbitrary<Region>): fc.Arbitrary<Direction> =>
  depth <= 0
    ? fc.constant({ _tag: 'Gradient' as const })
    : fc.oneof(
        { weight: 1, arbitrary: fc.constant({ _tag: 'Gradient' as const }) },
        { weight: 3, arbitrary: directionArb(depth - 1, region).map((of): Direction => ({ _tag: 'Sign', of })) },
        {
          weight: 2,
          arbitrary: fc
            .tuple(directionArb(depth - 1, region), fc.constantFrom('sample' as const, 'frame' as const))
            .map(([of, scope]): Direction => ({ _tag: 'Normalize', norm: 'l2', scope, of })),
        },
        {
          weight: 1,
          arbitrary: fc
            .tuple(directionArb(depth - 1, region), region)
            .map(([of, r]): Direction => ({ _tag: 'MaskRegion', region: r, of })),
        },
      )

const f = (min: number, max: number) => fc.double({ min, max, noNaN: true })

/** Constraints with parameters in the ranges a researcher would use. */
export const constraintArb: fc.Arbitrary<Constraint> = fc.oneof(
  fc.record({
    _tag: fc.constant('ProjectBall' as const),
    norm: fc.constantFrom('linf' as const, 'l2' as const),
    eps: f(1e-3, 0.3),
    units,
  }),
  fc.record({
    _tag: fc.constant('ProjectRatio' as const),
    norm: fc.constantFrom('linf' as const, 'l2' as const),
    eps: f(1.001, 2),
    reading: fc.constantFrom('log' as const, 'literal' as const, 'deviation' as const),
    units,
  }),
  fc.record({ _tag: fc.constant('Clip' as const), lo: fc.constant(0), hi: fc.constant(1) }),
)

const stepArb = (depth: number, region: fc.Arbitrary<Region>): fc.Arbitrary<Step> =>
  fc.record({
    _tag: fc.constant('Step' as const),
    update: fc.oneof(
      fc
        .record({ alpha: f(-0.05, 0.05), units, of: directionArb(depth, region) })
        .map(({ alpha, units: u, of }) => ({ _tag: 'Add' as const, offset: { _tag: 'Scale' as const, alpha, units: u, of } })),
      fc
        .record({ alpha: f(0.9, 1.2), units, of: directionArb(depth, region) })
        .map(({ alpha, units: u, of }) => ({
          _tag: 'Multiply' as const,
          factor: { _tag: 'Exponent' as const, alpha, units: u, of },
        })),
    ),
    constraints: fc.array(constraintArb, { maxLength: 3 }),
  })

const initArb = (region: fc.Arbitrary<Region>): fc.Arbitrary<Init> =>
  fc.oneof(
    fc.constant({ _tag: 'Clean' as const }),
    fc.record(
      {
        _tag: fc.constant('Uniform' as const),
        norm: fc.constantFrom('linf' as const, 'l2' as const),
        eps: f(1e-3, 0.2),
        units,
        region,
      },
      { requiredKeys: ['_tag', 'norm', 'eps', 'units'] },
    ),
    fc.record({ _tag: fc.constant('UniformRatio' as const), eps: f(1.001, 1.5), region }, { requiredKeys: ['_tag', 'eps'] }),
    fc.record({ _tag: fc.constant('Fill' as const), value: fc.constantFrom(0, 0.5, 1), region }),
  )

const lossArb: fc.Arbitrary<Loss> = fc.oneof(
  fc.constant({ _tag: 'CrossEntropy' as const, target: { _tag: 'Untargeted' as const } }),
  fc.integer({ min: 0, max: 1 }).map((label) => ({ _tag: 'CrossEntropy' as const, target: { _tag: 'Targeted' as const, label } })),
)

/** Attack values over the whole algebra (regions fit `geometry`; targeted labels are 0 or 1). */
export const attackArb = (k: AttackConstraints = {}): fc.Arbitrary<Attack> => {
  const region = regionArb(k.geometry ?? { T: 1, H: 1, W: 1 })
  return fc.record({
    _tag: fc.constant('Attack' as const),
    name: fc.constant('generated'),
    init: initArb(region),
    body: fc.array(stepArb(k.maxDepth ?? 3, region), { minLength: 1, maxLength: 3 }),
    steps: fc.integer({ min: 1, max: k.maxSteps ?? 4 }),
    loss: lossArb,
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
}

/** An attack and a scenario whose clip its regions fit (shapes generated first). */
export const attackCaseArb = (
  attacks: Omit<AttackConstraints, 'geometry'> = {},
  clips: Omit<ClipConstraints, 'shape'> = {},
  models: ModelConstraints = {},
): fc.Arbitrary<{ readonly attack: Attack; readonly scenario: Scenario }> =>
  fc
    .tuple(
      fc.integer({ min: 1, max: clips.maxN ?? 2 }),
      fc.integer({ min: 1, max: clips.maxT ?? 3 }),
      fc.integer({ min: 1, max: clips.maxH ?? 4 }),
      fc.integer({ min: 1, max: clips.maxW ?? 4 }),
    )
    .chain(([N, T, H, W]) =>
      fc.record({
        attack: attackArb({ ...attacks, geometry: { T, H, W } }),
        scenario: scenarioArb({ ...clips, shape: [N, T, H, W, clips.C ?? 3] }, models),
      }),
    )
