/**
 * The figures of a returned clip: the model's classes and success, the objective, and the sanity record
 * (distances to the clean clip, non-finite values, range), read back in one transfer.
 *
 * @since 0.2.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { InputError } from '../../core/errors.js'
import type { Model } from '../../core/model.js'
import { ratioOf } from '../../ops/ratio-of.js'
import type { Goal, Objective } from './loss.js'
import { SAMPLE_AXES } from './norms.js'
import type { AttackResult, Sanity } from './result.js'

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
  // [predictions (N), loss, finite logits (N), objective (N), then the distances (see distances)]
  const stats = tf.tidy(() => {
    const logits = model(measured(xAdv, measureOn))
    const perSample = objective.perSample(logits)
    return tf.concat([
      tf.cast(tf.argMax(logits, 1), 'float32'),
      tf.reshape(tf.mean(perSample), [1]),
      tf.cast(tf.all(tf.isFinite(logits), 1), 'float32'),
      perSample,
      distances(xAdv, x),
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
  const broken = part(N + 1, N).findIndex((f) => f !== 1)
  if (broken >= 0) throw new InputError(`runAttack: the model returned NaN or Infinity logits for clip ${broken} (of ${N}) of the attacked batch`)
  const predictions = part(0, N)
  return {
    predictions,
    success: predictions.map((p, i) => (goal.targeted ? p === goal.classes[i] : p !== labels[i])),
    loss: v[N]!,
    objective: part(2 * N + 1, N),
    sanity: await sanityOf(v.subarray(3 * N + 1), xAdv, x),
  }
}

/**
 * Per sample ‖δ‖∞, ‖δ‖₂, max and min of the ratio r = x'/x over x > 0 (1 where x = 0), ‖log r‖₂,
 * then the batch's min and max: [5N + 2]. 17 passes over the clip instead of the 26 of the sanity
 * record written out: the NaN count and the finite-only min and max are left out, and
 * max(r, 1/r) is taken from the ratio's extremes. sanityOf says when that is not enough.
 */
const distances = (xAdv: tf.Tensor5D, x: tf.Tensor5D): tf.Tensor1D =>
  tf.tidy(() => {
    const delta = tf.sub(xAdv, x)
    const ratio = ratioOf(x, xAdv)
    return tf.concat([
      tf.max(tf.abs(delta), SAMPLE_AXES),
      tf.sqrt(tf.sum(tf.square(delta), SAMPLE_AXES)),
      tf.max(ratio, SAMPLE_AXES),
      tf.min(ratio, SAMPLE_AXES),
      tf.sqrt(tf.sum(tf.square(tf.log(ratio)), SAMPLE_AXES)),
      tf.reshape(tf.min(xAdv), [1]),
      tf.reshape(tf.max(xAdv), [1]),
    ]) as tf.Tensor1D
  })

/**
 * The sanity record from `d` (distances). Every ‖δ‖₂ finite means no NaN or ±∞ in x' (either would
 * make its sample's sum of squares non-finite), so nanCount is 0 and the plain min and max are the
 * finite ones; every ratio minimum > 0 means max(r, 1/r) peaks at max(max r, 1/min r). Otherwise
 * (a broken or out-of-range clip) those four are written out in a second pass (writtenOut).
 */
const sanityOf = async (d: Float32Array, xAdv: tf.Tensor5D, x: tf.Tensor5D): Promise<Sanity> => {
  const N = x.shape[0]
  const part = (k: number) => Array.from(d.subarray(k * N, (k + 1) * N))
  const [linf, l2, ratioMax, ratioMin, logRatioL2] = [0, 1, 2, 3, 4].map(part) as [number[], number[], number[], number[], number[]]
  const [min, max] = [d[5 * N]!, d[5 * N + 1]!]
  if (l2.every(Number.isFinite) && ratioMin.every((r) => r > 0) && Number.isFinite(min) && Number.isFinite(max))
    return { linf, l2, ratioLinf: ratioMax.map((r, n) => Math.max(r, 1 / ratioMin[n]!)), logRatioL2, nanCount: 0, min, max }
  return { linf, l2, logRatioL2, ...(await writtenOut(xAdv, x)) }
}

/**
 * What the distances leave out, written out in a second pass: max over x > 0 of max(r, 1/r), the
 * non-finite count, and the min and max over finite values.
 */
const writtenOut = async (xAdv: tf.Tensor5D, x: tf.Tensor5D): Promise<Pick<Sanity, 'ratioLinf' | 'nanCount' | 'min' | 'max'>> => {
  const N = x.shape[0]
  const stats = tf.tidy(() => {
    const ratio = ratioOf(x, xAdv)
    const finite = tf.isFinite(xAdv)
    return tf.concat([
      tf.max(tf.maximum(ratio, tf.reciprocal(ratio)), SAMPLE_AXES),
      tf.reshape(tf.cast(tf.sum(tf.cast(tf.logicalNot(finite), 'int32')), 'float32'), [1]),
      tf.reshape(tf.min(tf.where(finite, xAdv, tf.fill(xAdv.shape, Infinity))), [1]),
      tf.reshape(tf.max(tf.where(finite, xAdv, tf.fill(xAdv.shape, -Infinity))), [1]),
    ])
  })
  let v: Float32Array
  try {
    v = (await stats.data()) as Float32Array
  } finally {
    stats.dispose()
  }
  return { ratioLinf: Array.from(v.subarray(0, N)), nanCount: v[N]!, min: v[N + 1]!, max: v[N + 2]! }
}
