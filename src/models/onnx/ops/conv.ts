/**
 * Conv (1-D, 2-D, 3-D; groups, dilations, pads or auto_pad, any strides). A convolution takes its
 * input channels-last (as the previous Conv, pool or element-wise op left it, else transposed from
 * ONNX's layout), runs `tf.conv2d` (1-D as 2-D of height 1) or multav's `conv3d` (correct input
 * gradients on wasm), and returns a channels-last value (layout.ts) (a bias, and a Relu the graph fused into the node, go into the convolution kernel:
 * fusedConv3d, tf.fused.conv2d); a 3-D filter of temporal size 1 (R(2+1)D's and S3D's spatial halves) is a
 * `tf.conv2d` with time folded into the batch. Dilated filters are made by inserting zeros (exact; tfjs has no gradient for
 * dilated conv2d and multav's conv3d takes none); strides beyond conv3d's 1 and 2 are a stride-1
 * convolution subsampled (pad, reshape, slice). Filters of constant weights are prepared once.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { derived } from '../../../ops/cache.js'
import { fusedConv3d, type Pads3 } from '../../../ops/conv3d.js'
import { attrInt, attrInts, attrString, nodeError, type Node } from '../node.js'
import { channelsLast } from '../value.js'
import { input, inputLast, one, optional, padsOf, subsample, type OpTable } from './rule.js'

/** `w` [M, C, k…] with zeros inserted between taps: spatial axis i of size k becomes (k − 1)·d + 1. */
const dilate = (w: tf.Tensor, dilations: ReadonlyArray<number>): tf.Tensor =>
  dilations.reduce((v, d, i) => {
    if (d === 1) return v
    const axis = i + 2
    const k = v.shape[axis]!
    const zeros = tf.zeros([...v.shape.slice(0, axis + 1), d - 1, ...v.shape.slice(axis + 1)])
    const spread = tf.concat([tf.expandDims(v, axis + 1), zeros], axis + 1) // [.., k, d, ..]
    const flat = tf.reshape(spread, v.shape.map((s, j) => (j === axis ? k * d : s)))
    return tf.slice(flat, flat.shape.map(() => 0), flat.shape.map((s, j) => (j === axis ? (k - 1) * d + 1 : s)))
  }, w)

/**
 * [M, C, k…] → [k…, C, M]. For constant weights (read once) the permutation is a loop over the data:
 * tfjs's rank-5 transpose takes over a second per 7M-weight filter on cpu and wasm (3D ResNet-18's
 * last stage), this ~50 ms.
 */
const filterLast = (w: tf.Tensor, constant: boolean): tf.Tensor => {
  const [M, C, ...k] = w.shape as [number, number, ...number[]]
  if (!constant || w.dtype !== 'float32') return tf.transpose(w, [...k.map((_, i) => i + 2), 1, 0])
  const K = k.reduce((a, b) => a * b, 1)
  const src = w.dataSync() as Float32Array
  const out = new Float32Array(src.length)
  for (let m = 0; m < M; m++)
    for (let c = 0; c < C; c++) {
      const base = (m * C + c) * K
      for (let j = 0; j < K; j++) out[(j * C + c) * M + m] = src[base + j]!
    }
  return tf.tensor(out, [...k, C, M], 'float32')
}

/** Filters per group, channels-last: [k…, C/g, M/g] each (1-D filters as [1, k, C/g, M/g]). */
const prepare = (w: tf.Tensor, group: number, dilations: ReadonlyArray<number>, constant: boolean): tf.Tensor[] => {
  const d = dilate(w, dilations)
  const sp = d.rank - 2
  let last = filterLast(d, constant)
  if (sp === 1) last = tf.expandDims(last, 0)
  const m = w.shape[0]! / group
  return Array.from({ length: group }, (_, g) =>
    group === 1 ? last : tf.slice(last, last.shape.map((_, i) => (i === last.rank - 1 ? g * m : 0)), last.shape.map((s, i) => (i === last.rank - 1 ? m : s))),
  )
}

/**
 * `t` (a filter or bias made from constant weights) as a constant of the attack's filter cache
 * (`withFilterCache`), a view sharing its data: multav's conv3d then records no gradient path to it
 * (which would save a copy of the filter and add a zero tensor the size of the output at every call).
 */
const attackConstant = <T extends tf.Tensor>(t: T, constant: boolean): T => (constant ? derived(t, 'onnx-constant', () => tf.reshape(t, t.shape) as T) : t)

interface Epilogue {
  readonly bias: tf.Tensor1D | undefined
  readonly activation: 'linear' | 'relu'
}

/** fusedConv3d's options of an epilogue (no `bias` key when there is none). */
const defined = (e: Epilogue) => ({ activation: e.activation, ...(e.bias !== undefined ? { bias: e.bias } : {}) })

/**
 * A 2-D convolution with explicit spatial pads, then its bias and ReLU: in tfjs's fused kernel when no
 * gradient is being recorded (tf.fused.conv2d's gradient computes the filter's too, and wasm has no
 * Conv2DBackpropFilter), else as separate ops.
 */
const conv2d = (x: tf.Tensor4D, f: tf.Tensor4D, strides: [number, number], pads: ReadonlyArray<[number, number]>, e: Epilogue): tf.Tensor4D => {
  const pad = [[0, 0], pads[0]!, pads[1]!, [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]
  const bias = e.bias !== undefined ? { bias: e.bias } : {}
  if (tf.engine().state.gradientDepth === 0) return tf.fused.conv2d({ x, filter: f, strides, pad, dataFormat: 'NHWC', ...bias, activation: e.activation })
  let y = tf.conv2d(x, f, strides, pad, 'NHWC')
  if (e.bias !== undefined) y = tf.add(y, e.bias)
  return e.activation === 'relu' ? tf.relu(y) : y
}

export const conv: OpTable = {
  Conv: {
    check: (node) => {
      const s = attrString(node, 'auto_pad', 'NOTSET')
      if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(s)) return `auto_pad ${JSON.stringify(s)} is not supported`
      const k = attrInts(node, 'kernel_shape')
      if (k !== undefined && (k.length < 1 || k.length > 3)) return `${k.length}-D convolutions are not supported (1-D, 2-D and 3-D are)`
      return undefined
    },
    layout: 'own',
    run: (node, inputs, ctx) => {
      let xl = inputLast(node, inputs, 0) // [N, d…, C]
      const xShape = inputs[0]!.shape // ONNX's [N, C, d…]
      const w = input(node, inputs, 1)
      const sp = xl.rank - 2
      if (sp < 1 || sp > 3) throw nodeError(node, `input of rank ${xl.rank}: only 1-D, 2-D and 3-D convolutions are supported`)
      if (w.rank !== xl.rank) throw nodeError(node, `weight of rank ${w.rank} for an input of rank ${xl.rank}`)
      const group = attrInt(node, 'group', 1)
      const C = xShape[1]!
      const M = w.shape[0]!
      if (group < 1 || C % group !== 0 || M % group !== 0 || w.shape[1]! * group !== C)
        throw nodeError(node, `group ${group} does not fit ${C} input channels and a weight of shape [${w.shape.join(', ')}]`)
      const ones = Array.from({ length: sp }, () => 1)
      const dilations = attrInts(node, 'dilations') ?? ones
      const strides = attrInts(node, 'strides') ?? ones
      if (dilations.length !== sp || strides.length !== sp || [...dilations, ...strides].some((v) => !Number.isInteger(v) || v < 1))
        throw nodeError(node, `dilations [${dilations.join(', ')}] and strides [${strides.join(', ')}] must be ${sp} positive integers each`)
      const kernel = w.shape.slice(2).map((k, i) => (k - 1) * dilations[i]! + 1)
      const pads = padsOf(node, attrString(node, 'auto_pad', 'NOTSET'), attrInts(node, 'pads'), xShape.slice(2), kernel, strides)
      const filters = ctx.constant[1] ? ctx.memo('filters', () => prepare(w, group, dilations, true)) : prepare(w, group, dilations, false)
      if (sp === 1) xl = tf.expandDims(xl, 1) // [N, 1, L, C]
      const cg = C / group
      // one group: the bias and a fused Relu go into the convolution kernel itself
      const b = optional(inputs, 2)
      if (b !== undefined && (b.rank !== 1 || b.shape[0] !== M)) throw nodeError(node, `bias of shape [${b.shape.join(', ')}] for ${M} output channels`)
      const inKernel = group === 1
      const bias = b === undefined ? undefined : attackConstant(b as tf.Tensor1D, ctx.constant[2] === true)
      const fused = inKernel ? { bias, activation: ctx.activation } : { bias: undefined, activation: 'linear' as const }
      const parts = filters.map((f, g) => {
        const xg = group === 1 ? xl : tf.slice(xl, xl.shape.map((_, i) => (i === xl.rank - 1 ? g * cg : 0)), xl.shape.map((s, i) => (i === xl.rank - 1 ? cg : s)))
        if (sp === 3 && f.shape[0] === 1) {
          // a 1×kh×kw filter is a 2-D convolution of the frames it meets: time folded into the batch
          const [pt0, pt1] = pads[0]!
          let v = pt0 > 0 || pt1 > 0 ? tf.pad(xg, [[0, 0], [pt0, pt1], [0, 0], [0, 0], [0, 0]]) : xg
          const frames = Math.floor((v.shape[1]! - 1) / strides[0]!) + 1
          v = subsample(v, 1, strides[0]!, frames)
          const [n, , h, w2, c] = v.shape as [number, number, number, number, number]
          const y = conv2d(tf.reshape(v, [n * frames, h, w2, c]) as tf.Tensor4D, tf.reshape(f, f.shape.slice(1) as [number, number, number, number]) as tf.Tensor4D, [strides[1]!, strides[2]!], [pads[1]!, pads[2]!], fused)
          return tf.reshape(y, [n, frames, ...y.shape.slice(1)])
        }
        if (sp === 3) {
          const native = strides.every((s) => s === 1 || s === 2)
          const filter = attackConstant(f, ctx.constant[1] === true)
          if (native) return fusedConv3d(xg, filter, { strides: strides as [number, number, number], pad: pads as unknown as Pads3, ...defined(fused) })
          // stride-1 convolution subsampled: the ReLU commutes with the subsampling
          const y = fusedConv3d(xg, filter, { strides: 1, pad: pads as unknown as Pads3, ...defined(fused) })
          return strides.reduce<tf.Tensor>((v, s, i) => {
            const size = xShape[i + 2]! + pads[i]![0] + pads[i]![1]
            return subsample(v, i + 1, s, Math.floor((size - kernel[i]!) / s) + 1)
          }, y)
        }
        const [sh, sw] = sp === 1 ? [1, strides[0]!] : [strides[0]!, strides[1]!]
        const [ph, pw] = sp === 1 ? [[0, 0] as [number, number], pads[0]!] : [pads[0]!, pads[1]!]
        return conv2d(xg as tf.Tensor4D, f as tf.Tensor4D, [sh, sw], [ph, pw], fused)
      })
      let y = parts.length === 1 ? parts[0]! : tf.concat(parts, parts[0]!.rank - 1)
      if (!inKernel) {
        if (b !== undefined) y = tf.add(y, b)
        if (ctx.activation === 'relu') y = tf.relu(y)
      }
      if (sp === 1) y = tf.squeeze(y, [1])
      return one(channelsLast(y))
    },
  },
}
