/**
 * Element-wise operators (numpy broadcasting, as tfjs's), activations, Clip and Where; all of layout
 * 'pointwise' (on channels-last values they run as they are, see layout.ts).
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { attrFloat } from '../node.js'
import { broadcastShape, input, noGradient, one, optional, type OpRule, type OpTable } from './rule.js'

const unary = (f: (x: tf.Tensor) => tf.Tensor): OpRule => ({ run: (node, inputs) => one(f(input(node, inputs, 0))) })
const binary = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): OpRule => ({
  run: (node, inputs) => one(f(input(node, inputs, 0), input(node, inputs, 1))),
})
/** Variadic (Max, Min, Sum, Mean): folded pairwise. */
const variadic = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, post?: (t: tf.Tensor, n: number) => tf.Tensor): OpRule => ({
  run: (node, inputs) => {
    const xs = inputs.map((_, i) => input(node, inputs, i))
    const r = xs.slice(1).reduce(f, xs[0]!)
    return one(post ? post(r, xs.length) : r)
  },
})
/** Division as ONNX: true division for floats, truncation toward zero for integers. */
const divide = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => {
  if (a.dtype !== 'int32') return tf.div(a, b)
  const q = tf.div(tf.cast(a, 'float32'), tf.cast(b, 'float32'))
  return tf.cast(tf.mul(tf.sign(q), tf.floor(tf.abs(q))), 'int32')
}

const table: OpTable = {
  Add: binary(tf.add),
  Sub: binary(tf.sub),
  Mul: binary(tf.mul),
  Div: binary(divide),
  Pow: binary((a, b) => (a.dtype === b.dtype ? tf.pow(a, b) : tf.pow(a, tf.cast(b, a.dtype)))),
  Max: variadic(tf.maximum),
  Min: variadic(tf.minimum),
  Sum: variadic(tf.add),
  Mean: variadic(tf.add, (t, n) => tf.div(t, n)),
  Equal: binary(noGradient(tf.equal)),
  Less: binary(noGradient(tf.less)),
  LessOrEqual: binary(noGradient(tf.lessEqual)),
  Greater: binary(noGradient(tf.greater)),
  GreaterOrEqual: binary(noGradient(tf.greaterEqual)),
  And: binary(noGradient(tf.logicalAnd)),
  Or: binary(noGradient(tf.logicalOr)),
  Not: unary(noGradient(tf.logicalNot)),
  Where: {
    run: (node, inputs) => {
      const c = input(node, inputs, 0)
      const a = input(node, inputs, 1)
      const b = input(node, inputs, 2)
      const shape = broadcastShape(node, broadcastShape(node, c.shape, a.shape), b.shape)
      const to = (t: tf.Tensor) => (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]) ? t : tf.broadcastTo(t, [...shape]))
      return one(tf.where(to(noGradient((v) => tf.cast(v, 'bool'))(c)), to(a), to(b)))
    },
  },
  Relu: unary(tf.relu),
  LeakyRelu: { run: (node, inputs) => one(tf.leakyRelu(input(node, inputs, 0), attrFloat(node, 'alpha', 0.01))) },
  Elu: { run: (node, inputs) => {
    const x = input(node, inputs, 0)
    const alpha = attrFloat(node, 'alpha', 1)
    return one(alpha === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(alpha, tf.sub(tf.exp(x), 1))))
  } },
  Sigmoid: unary(tf.sigmoid),
  HardSigmoid: {
    run: (node, inputs) => one(tf.clipByValue(tf.add(tf.mul(input(node, inputs, 0), attrFloat(node, 'alpha', 0.2)), attrFloat(node, 'beta', 0.5)), 0, 1)),
  },
  HardSwish: unary((x) => tf.mul(x, tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1))),
  Tanh: unary(tf.tanh),
  Softplus: unary(tf.softplus),
  Exp: unary(tf.exp),
  Log: unary(tf.log),
  Sqrt: unary(tf.sqrt),
  Reciprocal: unary(tf.reciprocal),
  Abs: unary(tf.abs),
  Neg: unary(tf.neg),
  Floor: unary(tf.floor),
  Ceil: unary(tf.ceil),
  Erf: unary(tf.erf),
  Sin: unary(tf.sin),
  Cos: unary(tf.cos),
  Sign: unary(tf.sign),
  Clip: {
    run: (node, inputs, ctx) => {
      let x = input(node, inputs, 0)
      const lo = ctx.opset < 11 ? (node.attrs.has('min') ? tf.scalar(attrFloat(node, 'min', 0)) : undefined) : optional(inputs, 1)
      const hi = ctx.opset < 11 ? (node.attrs.has('max') ? tf.scalar(attrFloat(node, 'max', 0)) : undefined) : optional(inputs, 2)
      if (lo !== undefined) x = tf.maximum(x, tf.cast(lo, x.dtype))
      if (hi !== undefined) x = tf.minimum(x, tf.cast(hi, x.dtype))
      return one(x)
    },
  },
  Gelu: {
    check: (node) => (node.attrs.has('approximate') && node.attrs.get('approximate')!.s !== 'none' ? 'approximate "tanh" is not supported' : undefined),
    run: (node, inputs) => {
      const x = input(node, inputs, 0)
      return one(tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))))
    },
  },
}

/** Every rule here is element-wise (layout.ts): it runs channels-last when an input is. */
export const elementwise: OpTable = Object.fromEntries(Object.entries(table).map(([op, rule]) => [op, { ...rule, layout: 'pointwise' as const }]))
