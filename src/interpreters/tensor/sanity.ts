/**
 * The figures of a returned clip: the model's classes and success, the objective, and the sanity record
 * (distances to the clean clip, non-finite values, range), read back in one transfer.
 *
 * @since 0.2.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { InputError } from '../../core/errors.js'
import type { Model } from '../../core/model.js'
import { ratioOf } from './constraint.js'
import type { Goal, Objective } from './loss.js'
import { SAMPLE_AXES } from './norms.js'
import type { AttackResult } from './result.js'

export interface Figures extends Pick<AttackResult, 'success' | 'predictions' | 'loss' | 'sanity'> {
  /** Per sample: the loss's per-sample objective (the attacker's, which it ascends). */
  readonly objective: ReadonlyArray<number>
}

/** The clip the model is run on: `measureOn(xAdv)`, checked to be a tensor of xAdv's shape. */
const measured = (xAdv: tf.Tensor5D, measureOn: ((adversarial: tf.Tensor5D) => tf.Tensor5D) | undefined): tf.Tensor5D => {
  if (measureOn === undefined) return xAdv
  const v: unknown = measureOn(xAdv)
  const shape = typeof v === 'object' && v !== null && 'dataId' in v ? (v as tf.Tensor).shape : undefined
  if (!Array.isArray(shape) || shape.join() !== xAdv.shape.join())
    throw new InputError(`runAttack: options.measureOn must return a tensor of the clip's shape [${xAdv.shape.join(', ')}], got ${Array.isArray(shape) ? `shape [${shape.join(', ')}]` : typeof v}`)
  return v as tf.Tensor5D
}

/**
 * What the batch `xAdv` achieves against the clean clips `x` with true `labels`: the model's figures
 * on `measureOn(xAdv)` (default xAdv), the distances of xAdv itself.
 */
export const evaluate = async (
  xAdv: tf.Tensor5D,
  x: tf.Tensor5D,
  labels: ReadonlyArray<number>,
  goal: Goal,
  model: Model,
  objective: Objective,
  measureOn?: (adversarial: tf.Tensor5D) => tf.Tensor5D,
): Promise<Figures> => {
  const N = x.shape[0]
  // every figure in one float32 vector, read back in one transfer:
  // [predictions (N), loss, linf (N), l2 (N), ratioLinf (N), logRatioL2 (N), nanCount, min, max,
  //  finite logits (N), objective (N)]
  const stats = tf.tidy(() => {
    const delta = tf.sub(xAdv, x)
    const positive = tf.greater(x, 0)
    const ratio = ratioOf(x, xAdv, positive)
    const finite = tf.isFinite(xAdv)
    const logits = model(measured(xAdv, measureOn))
    const perSample = objective.perSample(logits)
    return tf.concat([
      tf.cast(tf.argMax(logits, 1), 'float32'),
      tf.reshape(tf.mean(perSample), [1]),
      tf.max(tf.abs(delta), SAMPLE_AXES),
      tf.sqrt(tf.sum(tf.square(delta), SAMPLE_AXES)),
      tf.max(tf.maximum(ratio, tf.reciprocal(ratio)), SAMPLE_AXES),
      tf.sqrt(tf.sum(tf.square(tf.log(ratio)), SAMPLE_AXES)),
      tf.reshape(tf.cast(tf.sum(tf.cast(tf.logicalNot(finite), 'int32')), 'float32'), [1]),
      tf.reshape(tf.min(tf.where(finite, xAdv, tf.fill(xAdv.shape, Infinity))), [1]),
      tf.reshape(tf.max(tf.where(finite, xAdv, tf.fill(xAdv.shape, -Infinity))), [1]),
      tf.cast(tf.all(tf.isFinite(logits), 1), 'float32'),
      perSample,
    ])
  })
  let v: Float32Array
  try {
    v = (await stats.data()) as Float32Array
  } finally {
    stats.dispose()
  }
  const part = (offset: number, length: number) => Array.from(v.subarray(offset, offset + length))
  // A model that returns NaN or ±∞ would give plausible-looking figures (argMax of NaN is class 0),
  // and wasm's clip turns a NaN pixel into 0: refuse the run instead, naming the clip.
  const broken = part(5 * N + 4, N).findIndex((f) => f !== 1)
  if (broken >= 0) throw new InputError(`runAttack: the model returned NaN or Infinity logits for clip ${broken} (of ${N}) of the attacked batch`)
  const predictions = part(0, N)
  return {
    predictions,
    success: predictions.map((p, i) => (goal.targeted ? p === goal.classes[i] : p !== labels[i])),
    loss: v[N]!,
    objective: part(6 * N + 4, N),
    sanity: {
      linf: part(N + 1, N),
      l2: part(2 * N + 1, N),
      ratioLinf: part(3 * N + 1, N),
      logRatioL2: part(4 * N + 1, N),
      nanCount: v[5 * N + 1]!,
      min: v[5 * N + 2]!,
      max: v[5 * N + 3]!,
    },
  }
}
