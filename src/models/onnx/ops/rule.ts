/**
 * The shape of the ONNX operator table: one `OpRule` per op type (`Readonly<Record<string, OpRule>>`),
 * each reading its node's attributes and input values and returning its outputs, with tfjs ops only
 * (multav's conv3d for 3-D convolutions), so every rule is differentiable where ONNX's op is.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import type { RuleLayout } from '../layout.js'
import { nodeError, type Node } from '../node.js'
import { isHost, lastOf, numbersOf, tensorOf, type Value } from '../value.js'

export interface RunContext {
  /** The default-domain opset the model imports. */
  readonly opset: number
  /** Which inputs are constants (initializers or folded at load time), by position. */
  readonly constant: ReadonlyArray<boolean>
  /**
   * A tensor derived from constant inputs (a transposed filter, a folded BatchNorm), made once per node
   * and key and kept until the model is disposed. Only for values that depend on constants alone.
   */
  readonly memo: <T extends tf.Tensor | ReadonlyArray<tf.Tensor>>(key: string, make: () => T) => T
  /**
   * 'relu' when the graph fused the Relu that alone reads this node's output into it (only Conv
   * nodes, see graph.ts): the rule applies it to its output.
   */
  readonly activation: 'linear' | 'relu'
}

export interface OpRule {
  /** What in this node multav cannot run (an attribute value, an opset), found at load time. */
  readonly check?: (node: Node, opset: number) => string | undefined
  /**
   * The outputs, in the node's output order. Absent optional inputs ('' or missing) are undefined.
   * When every input is a host value, the graph runs the rule on tensors made of them and reads the
   * outputs back (shape arithmetic), unless the rule is `host` (it then sees the host values).
   */
  readonly run: (node: Node, inputs: ReadonlyArray<Value | undefined>, ctx: RunContext) => ReadonlyArray<Value>
  readonly host?: boolean
  /**
   * The layout the rule takes its inputs in (layout.ts): 'onnx' (default; channels-last values are
   * permuted first), 'pointwise' (element-wise: runs channels-last when an input is) or 'own' (the
   * rule reads either layout itself).
   */
  readonly layout?: RuleLayout
}

export type OpTable = Readonly<Record<string, OpRule>>

/** Input `i` as a tensor; a missing required input is an InputError naming the node. */
export const input = (node: Node, inputs: ReadonlyArray<Value | undefined>, i: number): tf.Tensor => {
  const v = inputs[i]
  if (v === undefined) throw nodeError(node, `input ${i} is required`)
  return tensorOf(v)
}

export const optional = (inputs: ReadonlyArray<Value | undefined>, i: number): tf.Tensor | undefined => {
  const v = inputs[i]
  return v === undefined ? undefined : tensorOf(v)
}

/** The integers of input `i` (a shape, axes, pads): a host value or a small constant tensor. */
export const intsOf = (node: Node, inputs: ReadonlyArray<Value | undefined>, i: number): ReadonlyArray<number> | undefined => {
  const v = inputs[i]
  if (v === undefined) return undefined
  if (!isHost(v) && v.dtype === 'float32') throw nodeError(node, `input ${i} must hold integers`)
  return numbersOf(v).map(Math.trunc)
}

export const scalarOf = (v: Value | undefined): number | undefined => (v === undefined ? undefined : numbersOf(v)[0])

/** `axis` in [0, rank), from ONNX's [-rank, rank). */
export const axisOf = (node: Node, axis: number, rank: number): number => {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw nodeError(node, `axis ${axis} is out of range for rank ${rank}`)
  return axis < 0 ? axis + rank : axis
}

/** Input `i` as a channels-last tensor [N, d…, C] (a rule of layout 'own'); a missing one is an InputError. */
export const inputLast = (node: Node, inputs: ReadonlyArray<Value | undefined>, i: number): tf.Tensor => {
  const v = inputs[i]
  if (v === undefined) throw nodeError(node, `input ${i} is required`)
  return lastOf(v)
}

/** One output. */
export const one = (v: Value): ReadonlyArray<Value> => [v]

/**
 * Every `s`-th element of `x` along `axis`, `count` of them starting at 0 (differentiable: pad, reshape
 * and slice, where tf.stridedSlice has no gradient). Works on the rank-3 view [before, len, after]:
 * wasm's slices and pads of rank-6 views take a slow generic path (a [1, 4, 2, 16, 16, 64] slice took
 * ~190 ms of an r3d_18 gradient step, the rank-3 one a few).
 */
export const subsample = (x: tf.Tensor, axis: number, s: number, count: number): tf.Tensor => {
  const len = x.shape[axis]!
  const before = x.shape.slice(0, axis).reduce((a, b) => a * b, 1)
  const after = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1)
  const need = count * s
  let v = tf.reshape(x, [before, len, after]) as tf.Tensor3D
  if (len < need) v = tf.pad(v, [[0, 0], [0, need - len], [0, 0]])
  else if (len > need) v = tf.slice(v, [0, 0, 0], [before, need, after])
  if (s > 1) v = tf.slice(tf.reshape(v, [before, count, s * after]) as tf.Tensor3D, [0, 0, 0], [before, count, after])
  return tf.reshape(v, x.shape.map((d, i) => (i === axis ? count : d)))
}

/**
 * Resolved pads per spatial axis [begin, end] from ONNX's `pads` [b1, b2, …, e1, e2, …] or `auto_pad`,
 * given input sizes, effective kernel sizes (dilated) and strides.
 */
export const padsOf = (
  node: Node,
  autoPad: string,
  pads: ReadonlyArray<number> | undefined,
  sizes: ReadonlyArray<number>,
  kernel: ReadonlyArray<number>,
  strides: ReadonlyArray<number>,
): Array<[number, number]> => {
  const n = sizes.length
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER')
    return sizes.map((size, i) => {
      const out = Math.ceil(size / strides[i]!)
      const total = Math.max((out - 1) * strides[i]! + kernel[i]! - size, 0)
      const small = Math.floor(total / 2)
      return autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small]
    })
  if (autoPad === 'VALID' || pads === undefined) return sizes.map(() => [0, 0])
  if (autoPad !== 'NOTSET' && autoPad !== '') throw nodeError(node, `auto_pad ${JSON.stringify(autoPad)} is not NOTSET, SAME_UPPER, SAME_LOWER or VALID`)
  if (pads.length !== 2 * n) throw nodeError(node, `pads has ${pads.length} values, expected ${2 * n}`)
  if (pads.some((p) => p < 0)) throw nodeError(node, `negative pads [${pads.join(', ')}] are not supported`)
  return sizes.map((_, i) => [pads[i]!, pads[i + n]!])
}

/** numpy's broadcast of two shapes. */
export const broadcastShape = (node: Node, a: ReadonlyArray<number>, b: ReadonlyArray<number>): ReadonlyArray<number> => {
  const n = Math.max(a.length, b.length)
  return Array.from({ length: n }, (_, i) => {
    const x = a[a.length - n + i] ?? 1
    const y = b[b.length - n + i] ?? 1
    if (x !== y && x !== 1 && y !== 1) throw nodeError(node, `shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`)
    return x === 1 ? y : x
  })
}

/**
 * `f` with a zero gradient w.r.t. its inputs: for comparisons and logic, whose boolean outputs tfjs
 * registers no gradient for (a `Where` condition computed from the clip would otherwise throw
 * "gradient function not found for Greater" in tf.grad).
 */
export const noGradient =
  (f: (...xs: tf.Tensor[]) => tf.Tensor) =>
  (...xs: tf.Tensor[]): tf.Tensor =>
    tf.customGrad((...args) => {
      const ins = args.filter((a): a is tf.Tensor => a instanceof tf.Tensor)
      return { value: f(...ins), gradFunc: () => ins.map((t) => tf.zeros(t.shape, 'float32')) }
    })(...xs)
