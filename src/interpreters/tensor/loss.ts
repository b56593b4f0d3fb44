/**
 * The attacker's objective: per sample, from `[M, K]` logits z and the goal's one-hot rows; the attack
 * ascends its mean over the batch.
 *
 * - CrossEntropy: CE(y) untargeted, −CE(t) targeted, CE(c) = −log softmax(z)_c;
 * - Margin: max_{j≠y} z_j − z_y untargeted, z_t − max_{j≠t} z_j targeted, then min(·, κ) when κ is set.
 *
 * @since 0.2.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { InputError } from '../../core/errors.js'
import { match } from '../../dsl/match.js'
import type { Loss, Target } from '../../dsl/types.js'

/** Per sample, the class the attack pushes towards (targeted) or away from (untargeted). */
export interface Goal {
  readonly classes: ReadonlyArray<number>
  readonly targeted: boolean
}

/** True when success means "classified as the target" (and the objective is negated CE / flipped margin). */
export const isTargeted = match<Target, boolean>({
  Untargeted: () => false,
  Targeted: () => true,
  TargetedEach: () => true,
})

/** The goal classes of a batch with true `labels`; a per-sample target must have one label per clip. */
export const goalOf = (target: Target, labels: ReadonlyArray<number>): Goal => ({
  classes: goalClasses(target, labels),
  targeted: isTargeted(target),
})

const goalClasses = match<Target, ReadonlyArray<number>, [ReadonlyArray<number>]>({
  Untargeted: (_, labels) => labels,
  Targeted: ({ label }, labels) => labels.map(() => label),
  TargetedEach: ({ labels: targets }, labels) => {
    if (targets.length !== labels.length)
      throw new InputError(`runAttack: the attack's TargetedEach target has ${targets.length} labels for ${labels.length} clips`)
    const bad = targets.findIndex((l) => !Number.isInteger(l) || l < 0)
    if (bad >= 0) throw new InputError(`runAttack: the target label of sample ${bad} must be a class index (integer ≥ 0), got ${targets[bad]}`)
    return [...targets]
  },
})

/** What is wrong with the target for a model with K classes, if anything. */
export const targetProblem = match<Target, string | undefined, [number]>({
  Untargeted: () => undefined,
  Targeted: ({ label }, K) => (label >= K ? `runAttack: the target class ${label} is not below the model's ${K} classes` : undefined),
  TargetedEach: ({ labels }, K) => {
    const bad = labels.findIndex((l) => l >= K)
    return bad >= 0 ? `runAttack: the target label ${labels[bad]} of sample ${bad} is not below the model's ${K} classes` : undefined
  },
})

/** v untargeted, −v targeted. */
const signed = (target: Target, v: tf.Tensor1D): tf.Tensor1D => (isTargeted(target) ? tf.neg(v) : v)

/** The per-sample objective of `[M, K]` logits against float one-hot goal rows `[M, K]`. Call inside a tidy. */
const perSampleObjective = match<Loss, tf.Tensor1D, [tf.Tensor2D, tf.Tensor2D]>({
  // CE(c) = −Σ_j onehot_j · log softmax(z)_j
  CrossEntropy: ({ target }, logits, oneHot) => signed(target, tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1)) as tf.Tensor1D),
  // max_{j≠c} z_j − z_c, flipped when targeted, capped at κ
  Margin: ({ target, confidence }, logits, oneHot) => {
    const own = tf.sum(tf.mul(oneHot, logits), 1)
    const others = tf.max(tf.where(tf.greater(oneHot, 0), tf.fill(logits.shape, -Infinity), logits), 1)
    const margin = signed(target, tf.sub(others, own) as tf.Tensor1D)
    // an absent confidence (a plain object from JavaScript) reads as null, as the codec reads it
    return confidence === null || confidence === undefined ? margin : (tf.minimum(margin, confidence) as tf.Tensor1D)
  },
})

/** Float one-hot rows for class indices. */
export const oneHotOf = (classes: ReadonlyArray<number>, K: number): tf.Tensor2D =>
  tf.cast(tf.oneHot(tf.tensor1d([...classes], 'int32'), K), 'float32') as tf.Tensor2D

export interface Objective {
  /** The per-sample objective, `[reps·N]`, for `[reps·N, K]` logits of `reps` stacked copies of the batch. Call inside a tidy. */
  readonly perSample: (logits: tf.Tensor2D, reps?: number) => tf.Tensor1D
  /** Its mean over the batch: what the attacker ascends. Call inside a tidy. */
  readonly mean: (logits: tf.Tensor2D) => tf.Scalar
  readonly dispose: () => void
}

/** The attack's objective for `goal`; the goal's one-hot rows are made at the first use (when K is known) and kept. */
export const objectiveFor = (loss: Loss, goal: Goal): Objective => {
  let oneHot: tf.Tensor2D | undefined
  const rowsFor = (K: number): tf.Tensor2D => (oneHot ??= tf.keep(oneHotOf(goal.classes, K)))
  const perSample = (logits: tf.Tensor2D, reps = 1): tf.Tensor1D => {
    const rows = rowsFor(logits.shape[1])
    return perSampleObjective(loss, logits, reps === 1 ? rows : tf.tile(rows, [reps, 1]))
  }
  return {
    perSample,
    mean: (logits) => tf.mean(perSample(logits)),
    dispose: () => oneHot?.dispose(),
  }
}
