/**
 * Gemm, MatMul, the normalisations (BatchNormalization in inference, LayerNormalization,
 * InstanceNormalization), Softmax and LogSoftmax.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { attrFloat, attrInt, nodeError, type Node } from '../node.js'
import { channelsLast, isLast } from '../value.js'
import { axisOf, input, one, optional, type OpRule, type OpTable } from './rule.js'

/** [C] → [C, 1, …, 1] against an input of rank `rank` (channels on axis 1). */
const perChannel = (t: tf.Tensor, rank: number): tf.Tensor => tf.reshape(t, [t.size, ...Array.from({ length: rank - 2 }, () => 1)])

/** Softmax-like `f` (over the last axis) applied as ONNX says for this opset. */
const softmaxLike = (f: (x: tf.Tensor) => tf.Tensor): OpRule => ({
  run: (node, inputs, ctx) => {
    const x = input(node, inputs, 0)
    if (ctx.opset < 13) {
      // coerced to 2-D at `axis` (default 1), then reshaped back
      const axis = axisOf(node, attrInt(node, 'axis', 1), x.rank)
      const rows = x.shape.slice(0, axis).reduce((a, b) => a * b, 1)
      return one(tf.reshape(f(tf.reshape(x, [rows, x.size / Math.max(rows, 1)])), x.shape))
    }
    const axis = axisOf(node, attrInt(node, 'axis', -1), x.rank)
    if (axis === x.rank - 1) return one(f(x))
    const perm = x.shape.map((_, i) => i)
    perm[axis] = x.rank - 1
    perm[x.rank - 1] = axis
    return one(tf.transpose(f(tf.transpose(x, perm)), perm))
  },
})

const matmul = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => {
  const a2 = a.rank === 1 ? tf.expandDims(a, 0) : a
  const b2 = b.rank === 1 ? tf.expandDims(b, 1) : b
  let y = tf.matMul(a2, b2)
  if (b.rank === 1) y = tf.squeeze(y, [y.rank - 1])
  if (a.rank === 1) y = tf.squeeze(y, [y.rank - (b.rank === 1 ? 1 : 2)])
  return y
}

const noExtraOutputs = (what: string) => (node: Node): string | undefined =>
  node.outputs.slice(1).some((o) => o !== '') ? `the extra outputs (${what}) are not supported` : undefined

export const linear: OpTable = {
  MatMul: { run: (node, inputs) => one(matmul(input(node, inputs, 0), input(node, inputs, 1))) },
  Gemm: {
    run: (node, inputs) => {
      const a = input(node, inputs, 0)
      const b = input(node, inputs, 1)
      if (a.rank !== 2 || b.rank !== 2) throw nodeError(node, `A and B must be matrices, got ranks ${a.rank} and ${b.rank}`)
      const alpha = attrFloat(node, 'alpha', 1)
      const beta = attrFloat(node, 'beta', 1)
      let y = tf.matMul(a, b, attrInt(node, 'transA', 0) === 1, attrInt(node, 'transB', 0) === 1)
      if (alpha !== 1) y = tf.mul(y, alpha)
      const c = optional(inputs, 2)
      if (c !== undefined) y = tf.add(y, beta === 1 ? c : tf.mul(c, beta))
      return one(y)
    },
  },
  BatchNormalization: {
    check: (node) =>
      attrInt(node, 'training_mode', 0) !== 0 ? 'training_mode 1 is not supported (export the model in eval mode)' : noExtraOutputs('running statistics, training mode')(node),
    layout: 'own',
    run: (node, inputs, ctx) => {
      // x·s + t per channel, s = scale / √(var + ε), t = bias − mean·s: [C] on a channels-last input's
      // last axis, [C, 1, …] on ONNX's axis 1
      const v = inputs[0]
      const last = isLast(v)
      const x = last ? v.tensor : input(node, inputs, 0)
      const eps = attrFloat(node, 'epsilon', 1e-5)
      const affine = (): tf.Tensor[] => {
        const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => input(node, inputs, i)) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
        const s = tf.div(scale, tf.sqrt(tf.add(variance, eps)))
        const t = tf.sub(bias, tf.mul(mean, s))
        return last ? [tf.reshape(s, [s.size]), tf.reshape(t, [t.size])] : [perChannel(s, x.rank), perChannel(t, x.rank)]
      }
      const [s, t] = ctx.constant.slice(1, 5).every(Boolean) ? ctx.memo(last ? 'affine-last' : 'affine', affine) : affine()
      const y = tf.add(tf.mul(x, s!), t!)
      return one(last ? channelsLast(y) : y)
    },
  },
  InstanceNormalization: {
    run: (node, inputs) => {
      const x = input(node, inputs, 0)
      const axes = Array.from({ length: x.rank - 2 }, (_, i) => i + 2)
      const { mean, variance } = tf.moments(x, axes, true)
      const y = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, attrFloat(node, 'epsilon', 1e-5))))
      return one(tf.add(tf.mul(y, perChannel(input(node, inputs, 1), x.rank)), perChannel(input(node, inputs, 2), x.rank)))
    },
  },
  LayerNormalization: {
    check: noExtraOutputs('Mean, InvStdDev'),
    run: (node, inputs) => {
      const x = input(node, inputs, 0)
      const axis = axisOf(node, attrInt(node, 'axis', -1), x.rank)
      const axes = Array.from({ length: x.rank - axis }, (_, i) => i + axis)
      const mean = tf.mean(x, axes, true)
      const centred = tf.sub(x, mean)
      const variance = tf.mean(tf.square(centred), axes, true)
      let y = tf.mul(centred, tf.rsqrt(tf.add(variance, attrFloat(node, 'epsilon', 1e-5))))
      y = tf.mul(y, input(node, inputs, 1))
      const b = optional(inputs, 2)
      return one(b === undefined ? y : tf.add(y, b))
    },
  },
  Softmax: softmaxLike((x) => tf.softmax(x)),
  LogSoftmax: softmaxLike((x) => tf.logSoftmax(x)),
}
