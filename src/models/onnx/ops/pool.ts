/**
 * MaxPool, AveragePool (1-D, 2-D, 3-D; pads, auto_pad, ceil_mode, count_include_pad) and the global
 * pools. Pads are applied explicitly (−∞ for max, 0 for average, where the average divides by the
 * number of real — or, with count_include_pad, real and padded — elements in each window), then
 * tfjs's valid pooling runs channels-last; the outputs are channels-last values (layout.ts).
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { attrInt, attrInts, attrString, nodeError, type Node } from '../node.js'
import { channelsLast, lastOf, type Value } from '../value.js'
import { inputLast, one, padsOf, type OpRule, type OpTable } from './rule.js'

interface Geometry {
  readonly kernel: ReadonlyArray<number>
  readonly strides: ReadonlyArray<number>
  /** [begin, end] per spatial axis, the end including ceil_mode's extra. */
  readonly pads: ReadonlyArray<[number, number]>
  /** The extra end pad ceil_mode adds per axis (outside count_include_pad's count). */
  readonly extra: ReadonlyArray<number>
}

/** The window geometry for an input of ONNX shape `shape` [N, C, d…]. */
const geometry = (node: Node, shape: ReadonlyArray<number>): Geometry => {
  const sp = shape.length - 2
  const kernel = attrInts(node, 'kernel_shape')
  if (kernel === undefined || kernel.length !== sp) throw nodeError(node, `kernel_shape must have ${sp} values for an input of rank ${shape.length}`)
  const strides = attrInts(node, 'strides') ?? kernel.map(() => 1)
  const sizes = shape.slice(2)
  const pads = padsOf(node, attrString(node, 'auto_pad', 'NOTSET'), attrInts(node, 'pads'), sizes, kernel, strides)
  const ceil = attrInt(node, 'ceil_mode', 0) === 1
  const extra = sizes.map((size, i) => {
    const span = size + pads[i]![0] + pads[i]![1] - kernel[i]!
    if (span < 0) throw nodeError(node, `kernel ${kernel[i]} exceeds the padded input (${size + pads[i]![0] + pads[i]![1]}) on spatial axis ${i}`)
    if (!ceil) return 0
    let out = Math.ceil(span / strides[i]!) + 1
    // as PyTorch: the last window must start inside the input or its begin pad
    if ((out - 1) * strides[i]! >= size + pads[i]![0]) out--
    return Math.max((out - 1) * strides[i]! + kernel[i]! - (size + pads[i]![0] + pads[i]![1]), 0)
  })
  return { kernel, strides, pads: pads.map(([b, e], i) => [b, e + extra[i]!]), extra }
}

/** Pools channels-last `x` ([N, …, C], rank 3–5) with a valid window. */
const pool = (kind: 'max' | 'avg', x: tf.Tensor, kernel: ReadonlyArray<number>, strides: ReadonlyArray<number>): tf.Tensor => {
  if (x.rank === 5)
    return kind === 'max'
      ? tf.maxPool3d(x as tf.Tensor5D, kernel as [number, number, number], strides as [number, number, number], 'valid', undefined, 'NDHWC')
      : tf.avgPool3d(x as tf.Tensor5D, kernel as [number, number, number], strides as [number, number, number], 'valid', undefined, 'NDHWC')
  if (x.rank === 4)
    return kind === 'max'
      ? tf.maxPool(x as tf.Tensor4D, kernel as [number, number], strides as [number, number], 'valid')
      : tf.avgPool(x as tf.Tensor4D, kernel as [number, number], strides as [number, number], 'valid')
  return tf.squeeze(pool(kind, tf.expandDims(x, 1), [1, kernel[0]!], [1, strides[0]!]), [1])
}

/** `t` with no gradient (its value, treated as a constant). */
const constant: (t: tf.Tensor) => tf.Tensor = tf.customGrad((...args) => ({ value: tf.clone(args[0] as tf.Tensor), gradFunc: (dy) => tf.zerosLike(dy) }))

const padded = (x: tf.Tensor, pads: ReadonlyArray<[number, number]>, value: number): tf.Tensor =>
  pads.every(([a, b]) => a === 0 && b === 0) ? x : tf.pad(x, [[0, 0], ...pads, [0, 0]], value)

const checkPool = (node: Node): string | undefined => {
  const d = attrInts(node, 'dilations')
  if (d !== undefined && d.some((v) => v !== 1)) return `dilations [${d.join(', ')}] are not supported in pooling`
  if (attrInt(node, 'storage_order', 0) !== 0) return 'storage_order 1 is not supported'
  if (node.outputs.length > 1 && node.outputs[1] !== '') return 'the Indices output is not supported'
  return undefined
}

/** Input 0 (of rank 3–5) channels-last, with its ONNX shape. */
const pooled = (node: Node, inputs: ReadonlyArray<Value | undefined>): { readonly xl: tf.Tensor; readonly shape: ReadonlyArray<number> } => {
  const v = inputs[0]
  if (v === undefined) throw nodeError(node, 'input 0 is required')
  if (v.shape.length < 3 || v.shape.length > 5) throw nodeError(node, `input of rank ${v.shape.length}: only 1-D, 2-D and 3-D pooling is supported`)
  return { xl: lastOf(v), shape: v.shape }
}

/** Mean or max over the spatial axes, kept as 1s: channels-last in (axes 1 … r − 2), channels-last out. */
const globalPool = (kind: 'mean' | 'max'): OpRule => ({
  layout: 'own',
  run: (node, inputs) => {
    const xl = inputLast(node, inputs, 0)
    const axes = Array.from({ length: xl.rank - 2 }, (_, i) => i + 1)
    return one(channelsLast(kind === 'mean' ? tf.mean(xl, axes, true) : tf.max(xl, axes, true)))
  },
})

export const pools: OpTable = {
  MaxPool: {
    check: checkPool,
    layout: 'own',
    run: (node, inputs) => {
      const { xl, shape } = pooled(node, inputs)
      const g = geometry(node, shape)
      if (tf.getBackend() === 'cpu' || tf.getBackend() === 'tensorflow') return one(channelsLast(pool('max', padded(xl, g.pads, -Infinity), g.kernel, g.strides)))
      // tfjs-backend-wasm 4.22's MaxPool3D starts its max at 0 and its MaxPool/MaxPool3D gradients
      // misroute negative maxima (measured against cpu and a loop): pool x − m + 1 ≥ 1 instead, with
      // m = min(x) held constant, then 0-padding never wins a window
      const shift = tf.sub(constant(tf.min(xl)), 1)
      const y = pool('max', padded(tf.sub(xl, shift), g.pads, 0), g.kernel, g.strides)
      return one(channelsLast(tf.add(y, shift)))
    },
  },
  AveragePool: {
    check: checkPool,
    layout: 'own',
    run: (node, inputs) => {
      const { xl, shape } = pooled(node, inputs)
      const g = geometry(node, shape)
      const y = pool('avg', padded(xl, g.pads, 0), g.kernel, g.strides)
      const includePad = attrInt(node, 'count_include_pad', 0) === 1
      const counted = includePad ? g.pads.map(([, e], i) => [0, g.extra[i]!] as [number, number]) : g.pads
      if (counted.every(([a, b]) => a === 0 && b === 0)) return one(channelsLast(y))
      // the share of each window that counts: the average over a 1/0 mask of what counts
      const spatial = shape.slice(2).map((s, i) => s + (includePad ? g.pads[i]![0] + g.pads[i]![1] - g.extra[i]! : 0))
      const mask = padded(tf.ones([1, ...spatial, 1]), counted, 0)
      return one(channelsLast(tf.div(y, pool('avg', mask, g.kernel, g.strides))))
    },
  },
  GlobalAveragePool: globalPool('mean'),
  GlobalMaxPool: globalPool('max'),
}
