/**
 * runAttack's input checks: the backend, the model, the clips, the labels, the attack, and what the
 * model returns. Each failure says what was passed and what was expected.
 *
 * @since 0.2.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { InputError, UnavailableError } from '../../core/errors.js'
import { validateAttack } from '../../dsl/codec.js'
import type { Attack, Target } from '../../dsl/types.js'
import type { Model } from '../../core/model.js'
import { targetProblem } from './loss.js'

export const assertBackend = (): void => {
  if (Object.keys(tf.engine().registryFactory).length === 0)
    throw new UnavailableError('runAttack: no TensorFlow.js backend is registered; call initBackend() first')
}

/** True for a tfjs tensor (by its fields, so that a tensor of another copy of tfjs-core counts too). */
const isTensor = (u: unknown): u is tf.Tensor =>
  typeof u === 'object' && u !== null && 'dataId' in u && 'shape' in u && 'dtype' in u && Array.isArray((u as tf.Tensor).shape)

/** What `u` is, for a message: "a Promise", "undefined", "the number 3", "an array", … */
const describe = (u: unknown): string =>
  u === null || u === undefined
    ? String(u)
    : typeof (u as PromiseLike<unknown>).then === 'function'
      ? 'a Promise'
      : typeof u === 'number' || typeof u === 'string' || typeof u === 'boolean'
        ? `the ${typeof u} ${JSON.stringify(u)}`
        : Array.isArray(u)
          ? 'an array'
          : ArrayBuffer.isView(u)
            ? `a ${u.constructor.name}`
            : typeof u === 'object'
              ? 'an object'
              : `a ${typeof u}`

/** The model is a function, and x a live, non-empty tensor of rank 5. */
export const checkModelAndClips = (model: unknown, x: unknown): void => {
  if (typeof model !== 'function')
    throw new InputError(`runAttack: model must be a function from [N, T, H, W, C] clips to [N, K] logits, got ${describe(model)}`)
  if (!isTensor(x)) throw new InputError(`runAttack: x must be a tf.Tensor of [N, T, H, W, C] clips, got ${describe(x)}`)
  if (x.isDisposed) throw new InputError('runAttack: x has been disposed; pass a live tensor')
  if (x.rank !== 5) throw new InputError(`runAttack: x must be [N, T, H, W, C], got shape [${x.shape.join(', ')}]`)
  if (x.shape[0] === 0) throw new InputError(`runAttack: x holds no clips (shape [${x.shape.join(', ')}]); expected at least 1`)
  if (x.size === 0) throw new InputError(`runAttack: x has an empty dimension (shape [${x.shape.join(', ')}]); expected every size ≥ 1`)
}

/** The labels as numbers: from an array, a typed array or a live rank-1 tensor. */
export const labelsOf = async (y: unknown): Promise<ReadonlyArray<number>> => {
  if (Array.isArray(y)) return [...(y as ReadonlyArray<number>)]
  if (ArrayBuffer.isView(y) && !(y instanceof DataView)) return Array.from(y as unknown as ArrayLike<number>)
  if (!isTensor(y)) throw new InputError(`runAttack: y must be an array or a rank-1 tensor of class indices, got ${describe(y)}`)
  if (y.isDisposed) throw new InputError('runAttack: y has been disposed; pass a live tensor')
  if (y.rank !== 1)
    throw new InputError(`runAttack: y must be a rank-1 tensor of class indices (not one-hot rows), got shape [${y.shape.join(', ')}]`)
  return Array.from(await y.data())
}

/** The attack is valid for the clips' geometry; x is float32, finite, in [0, 1]; one class index per clip. */
export const checkInputs = async (attack: Attack, x: tf.Tensor5D, labels: ReadonlyArray<number>): Promise<void> => {
  const [N, T, H, W] = x.shape
  const problems = validateAttack(attack, { clip: { T, H, W } })
  if (problems.length > 0) throw new InputError(`runAttack: invalid attack:\n  ${problems.join('\n  ')}`, problems)
  if (x.dtype !== 'float32') throw new InputError(`runAttack: x must be float32, got ${x.dtype}`)
  if (labels.length !== N) throw new InputError(`runAttack: y has ${labels.length} labels for ${N} clips`)
  const bad = labels.findIndex((l) => !Number.isInteger(l) || l < 0)
  if (bad >= 0) throw new InputError(`runAttack: y[${bad}] must be a class index (integer ≥ 0), got ${labels[bad]}`)
  const stats = tf.tidy(() => tf.stack([tf.cast(tf.all(tf.isFinite(x)), 'float32'), tf.min(x), tf.max(x)]))
  const [finite, lo, hi] = Array.from(await stats.data())
  stats.dispose()
  if (finite !== 1) throw new InputError('runAttack: x contains NaN or Infinity')
  if (lo! < 0 || hi! > 1) throw new InputError(`runAttack: x must lie in [0, 1], got values in [${lo}, ${hi}]`)
}

/**
 * What the model returned is a tensor (a Promise is swallowed: its rejection must not go unhandled,
 * and what it resolves to is disposed).
 */
export function checkIsTensor(out: unknown, N: number): asserts out is tf.Tensor {
  if (isTensor(out)) return
  if (out !== null && typeof (out as PromiseLike<unknown>)?.then === 'function')
    Promise.resolve(out).then((v) => (isTensor(v) ? v.dispose() : undefined), () => undefined)
  const why = describe(out) === 'a Promise' ? ' (the model must be synchronous: the attack differentiates through it)' : ''
  throw new InputError(`runAttack: the model must return a tf.Tensor of [${N}, K] logits, got ${describe(out)}${why}`)
}

/** Checks `[N, K]` float32 logits against the labels and the attack's target. */
export const checkLogits = (logits: unknown, labels: ReadonlyArray<number>, target: Target): void => {
  checkIsTensor(logits, labels.length)
  if (logits.isDisposed) throw new InputError('runAttack: the model returned a disposed tensor (was it made inside a tf.tidy that disposed it?)')
  if (logits.rank !== 2 || logits.shape[0] !== labels.length)
    throw new InputError(`runAttack: the model must return [${labels.length}, K] logits, got shape [${logits.shape.join(', ')}]`)
  if (logits.dtype !== 'float32') throw new InputError(`runAttack: the model must return float32 logits, got ${logits.dtype}`)
  const K = logits.shape[1]!
  if (K < 2) throw new InputError(`runAttack: the model returns ${K} class${K === 1 ? '' : 'es'}; an attack needs at least 2`)
  const bad = labels.findIndex((l) => l >= K)
  if (bad >= 0) throw new InputError(`runAttack: label ${labels[bad]} (sample ${bad}) is not below the model's ${K} classes`)
  const problem = targetProblem(target, K)
  if (problem !== undefined) throw new InputError(problem)
}
