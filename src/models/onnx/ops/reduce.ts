/**
 * Reductions: ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL2, ReduceSumSquare,
 * ArgMax, ArgMin. Axes come from the attribute before the opset that made them an input (13 for
 * ReduceSum, 18 for the others); no axes means all (unless noop_with_empty_axes).
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { attrInt, attrInts } from '../node.js'
import { axisOf, input, intsOf, noGradient, one, type OpRule, type OpTable } from './rule.js'

const reduce = (f: (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor, inputFrom: number): OpRule => ({
  run: (node, inputs, ctx) => {
    const x = input(node, inputs, 0)
    const given = ctx.opset < inputFrom ? attrInts(node, 'axes') : intsOf(node, inputs, 1)
    const keep = attrInt(node, 'keepdims', 1) === 1
    if ((given === undefined || given.length === 0) && attrInt(node, 'noop_with_empty_axes', 0) === 1) return one(x)
    const axes = given === undefined || given.length === 0 ? x.shape.map((_, i) => i) : given.map((a) => axisOf(node, a, x.rank))
    return one(f(x, axes, keep))
  },
})

const arg = (f: (x: tf.Tensor, axis: number) => tf.Tensor): OpRule => ({
  check: (node) => (attrInt(node, 'select_last_index', 0) !== 0 ? 'select_last_index 1 is not supported' : undefined),
  run: (node, inputs) => {
    const x = input(node, inputs, 0)
    const axis = axisOf(node, attrInt(node, 'axis', 0), x.rank)
    const y = f(x, axis)
    return one(attrInt(node, 'keepdims', 1) === 1 ? tf.expandDims(y, axis) : y)
  },
})

export const reductions: OpTable = {
  ReduceMean: reduce((x, a, k) => tf.mean(x, a, k), 18),
  ReduceSum: reduce((x, a, k) => tf.sum(x, a, k), 13),
  ReduceMax: reduce((x, a, k) => tf.max(x, a, k), 18),
  ReduceMin: reduce((x, a, k) => tf.min(x, a, k), 18),
  ReduceProd: reduce((x, a, k) => tf.prod(x, a, k), 18),
  ReduceSumSquare: reduce((x, a, k) => tf.sum(tf.square(x), a, k), 18),
  ReduceL2: reduce((x, a, k) => tf.sqrt(tf.sum(tf.square(x), a, k)), 18),
  ArgMax: arg((x, a) => noGradient((v) => tf.argMax(v, a))(x)),
  ArgMin: arg((x, a) => noGradient((v) => tf.argMin(v, a))(x)),
}
