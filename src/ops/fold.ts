/**
 * Inference batch norm folded into the convolution before it. BN in inference mode is
 * y·s + (β − μ·s) with s = γ / √(σ² + ε) per output channel; for y = conv(x, w) that is
 * conv(x, w·s) + b with b = β − μ·s (s broadcast over the filter's last axis, Cout): one convolution
 * with a bias instead of a convolution, a multiply and an add — and the bias (and a ReLU after it)
 * fuse into the convolution's kernel (conv3d.ts, `fusedConv3d`).
 *
 * Inside `withFilterCache` (an attack, whose weights are constants) the folded filter and bias are
 * made once per weights version (keyed by every input's dataId, see cache.ts: an assigned weight
 * gives a new fold, never a stale one); outside, they are computed at each call from the weights,
 * so gradients with respect to the weights flow through them.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { derived, tensorKey } from './cache.js'

/** The four tensors of a batch norm, each [C]. */
export interface BatchNormWeights {
  readonly gamma: tf.Tensor
  readonly beta: tf.Tensor
  readonly mean: tf.Tensor
  readonly variance: tf.Tensor
}

/** s = γ / √(σ² + ε), [C]. */
const scaleOf = (bn: BatchNormWeights, eps: number): tf.Tensor => tf.div(bn.gamma, tf.sqrt(tf.add(bn.variance, eps)))

/**
 * The filter and bias of conv(x, filter) followed by inference-mode batch norm `bn`: filter·s (s on
 * the last axis) and β − μ·s. `filter` is [..., C] (any rank; a conv3d's [kd, kh, kw, Cin, C]).
 */
export const foldBatchNorm = (filter: tf.Tensor, bn: BatchNormWeights, eps: number): { readonly filter: tf.Tensor; readonly bias: tf.Tensor1D } => {
  const c = filter.shape[filter.rank - 1]!
  for (const [name, t] of Object.entries(bn) as Array<[string, tf.Tensor]>)
    if (t.rank !== 1 || t.shape[0] !== c) throw new Error(`foldBatchNorm: ${name} must be [${c}] (the filter's output channels), got [${t.shape.join(', ')}]`)
  const folded = derived(filter, `fold-filter|${eps}|${tensorKey(bn.gamma)}|${tensorKey(bn.variance)}`, () => tf.mul(filter, scaleOf(bn, eps)))
  const bias = derived(bn.gamma, `fold-bias|${eps}|${tensorKey(bn.beta)}|${tensorKey(bn.mean)}|${tensorKey(bn.variance)}`, () =>
    tf.sub(bn.beta, tf.mul(bn.mean, scaleOf(bn, eps))),
  ) as tf.Tensor1D
  return { filter: folded, bias }
}
