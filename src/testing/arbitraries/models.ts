/**
 * Small differentiable models for property tests: linear classifiers with analytic gradients and
 * per-sample judgements (float64), the scenarios (clips, labels, model) the properties run on.
 *
 * @since 0.1.0
 */
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import type { ClipData } from '../../core/clip.js'
import { InputError } from '../../core/errors.js'
import type { Model } from '../../core/model.js'
import { match } from '../../dsl/match.js'
import type { Loss, Target } from '../../dsl/types.js'
import type { GradientOracle, Judge } from '../../interpreters/reference.js'
import { clipArb, type ClipConstraints } from './clips.js'


/**
 * A linear classifier over the flattened clip, logits = x·W + b, W `[D, K]`. With K = 2 the gradient
 * of the loss is p₁·(W₀ − W₁) up to sign (cross-entropy) or ±(W₀ − W₁) (the margin, where not capped),
 * so with |W₁ − W₀| ≥ margin·(4/D) its sign is the same at every x'; and with |W| ≤ 4/D the logits differ by at most 8 on clips in [0, 1], so the softmax
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

// -------------------------------------------------------------------------------------------------
// the attacker's objective on a linear model, in float64
// -------------------------------------------------------------------------------------------------

/** Per sample: the class the objective reads, and whether the attack pushes towards it (targeted) or away. */
interface Aim {
  readonly goal: ReadonlyArray<number>
  readonly towards: boolean
}

const aimOf = match<Target, Aim, [labels: ReadonlyArray<number>]>({
  Untargeted: (_, labels) => ({ goal: labels, towards: false }),
  Targeted: ({ label }, labels) => ({ goal: labels.map(() => label), towards: true }),
  TargetedEach: ({ labels: targets }, labels) => {
    if (targets.length !== labels.length)
      throw new InputError(`TargetedEach has ${targets.length} labels for a batch of ${labels.length} clips`)
    return { goal: targets, towards: true }
  },
})

/** A per-sample objective φ(z) of the logits and its gradient ∂φ/∂z. */
interface Objective {
  readonly value: number
  readonly dz: ReadonlyArray<number>
}

/** The index of the largest logit, the first on ties (as tf.argMax), skipping `except`. */
const argmax = (z: ReadonlyArray<number>, except = -1): number =>
  z.reduce((best, v, k) => (k !== except && (best < 0 || v > z[best]!) ? k : best), -1)

/** Untargeted φ is the loss of the goal class, targeted its negation (sgn = −1). */
const objectiveOf = match<Loss, (z: ReadonlyArray<number>, c: number, towards: boolean) => Objective>({
  // CE(c) = log Σ exp z − z_c; ∂/∂z = softmax(z) − e_c
  CrossEntropy: () => (z, c, towards) => {
    const sgn = towards ? -1 : 1
    const top = Math.max(...z)
    const e = z.map((v) => Math.exp(v - top))
    const sum = e.reduce((a, b) => a + b, 0)
    return {
      value: sgn * (Math.log(sum) + top - z[c]!),
      dz: e.map((v, k) => sgn * (v / sum - (k === c ? 1 : 0))),
    }
  },
  // m = max_{j≠c} z_j − z_c untargeted, z_c − max_{j≠c} z_j targeted; min(m, κ), ∂ = 0 where capped
  Margin: ({ confidence }) => (z, c, towards) => {
    const sgn = towards ? -1 : 1
    const other = argmax(z, c)
    const m = sgn * (z[other]! - z[c]!)
    if (confidence !== null && m > confidence) return { value: confidence, dz: z.map(() => 0) }
    return { value: m, dz: z.map((_, k) => sgn * ((k === other ? 1 : 0) - (k === c ? 1 : 0))) }
  },
})

/** The logits z_n = x'_n·W + b of each sample, in float64. */
const logitsOf = (m: LinearModel, xAdv: Float32Array, N: number): ReadonlyArray<ReadonlyArray<number>> =>
  Array.from({ length: N }, (_, n) =>
    Array.from(m.bias, (b, k) => {
      let s = b
      for (let d = 0; d < m.D; d++) s += xAdv[n * m.D + d]! * m.weights[d * m.K + k]!
      return s
    }),
  )

/**
 * Analytic ∇ₓ of the attacker's objective L = mean_n φ_n for the linear model: (s/N)·W·∂φ_n/∂z per
 * sample (s its gradient scale), for every loss and target.
 */
export const linearGradient = (m: LinearModel, labels: ReadonlyArray<number>, loss: Loss): GradientOracle => {
  const { goal, towards } = aimOf(loss.target, labels)
  const phi = objectiveOf(loss)
  const N = labels.length
  const scale = (m.gradientScale ?? 1) / N
  return (xAdv) => {
    const grad = new Float32Array(xAdv.length)
    logitsOf(m, xAdv, N).forEach((z, n) => {
      const { dz } = phi(z, goal[n]!, towards)
      for (let d = 0; d < m.D; d++) {
        let s = 0
        for (let k = 0; k < m.K; k++) s += dz[k]! * m.weights[d * m.K + k]!
        grad[n * m.D + d] = s * scale
      }
    })
    return grad
  }
}

/**
 * Per sample of x', the linear model's verdict (float64): success (misclassified untargeted,
 * classified as its target targeted; argmax takes the first of tied logits) and φ_n. It is the
 * `judge` the reference interpreter needs for attacks with restarts.
 */
export const linearJudge = (m: LinearModel, labels: ReadonlyArray<number>, loss: Loss): Judge => {
  const { goal, towards } = aimOf(loss.target, labels)
  const phi = objectiveOf(loss)
  return (xAdv) =>
    logitsOf(m, xAdv, labels.length).map((z, n) => {
      const c = goal[n]!
      return { success: (argmax(z) === c) === towards, objective: phi(z, c, towards).value }
    })
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
