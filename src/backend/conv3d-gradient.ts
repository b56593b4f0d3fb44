/**
 * A correct gradient for tfjs's `Conv3D` kernel on wasm, so that every model that calls `tf.conv3d`
 * (a tfjs-layers `Conv3D`, a graph model's Conv3D) gets right input and filter gradients there.
 *
 * tfjs-backend-wasm 4.22's `Conv3DBackpropInputV2` fills only the first depth slice of dx, and its
 * `Conv3DBackpropFilterV2` is wrong at stride 2 (docs/correctness.md), and tfjs-core's `Conv3D`
 * gradient calls both. tfjs's gradient registry is global (one gradient per kernel name, for every
 * backend), so the gradient registered here checks the backend when it runs: on 'wasm' it
 * differentiates multav's `conv3d` (conv2d taps with conv2d-built gradients) at the same geometry;
 * on every other backend it calls tfjs-core's own gradient, unchanged.
 *
 * The geometry is tfjs's: `computeConv3DInfo` gives the explicit pads ('same' or 'valid', dilated
 * filter sizes). Dilations d > 1 are a filter with d − 1 zeros inserted between taps (exact); strides
 * other than 1 and 2 (multav's conv3d takes those) a stride-1 convolution subsampled. tfjs-core's own
 * gradient refuses dilations > 1, so on wasm such a model now gets a gradient where cpu has none.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { conv3d, type Pads3, type Triple } from '../ops/conv3d.js'

const KERNEL = 'Conv3D'

/** tfjs-core's gradient, saved when ours replaces it (undefined: ours is not registered). */
let tfjsGradient: tf.GradConfig | undefined

interface Conv3dAttrs {
  readonly strides: number | Triple
  readonly pad: 'same' | 'valid'
  readonly dilations: number | Triple
  readonly dataFormat: string
}

const triple = (v: number | Triple | undefined): Triple => (v === undefined ? [1, 1, 1] : typeof v === 'number' ? [v, v, v] : v)

/** `w` [kd, kh, kw, Ci, Co] with d − 1 zeros between taps on each of its first three axes. */
const dilate = (w: tf.Tensor, dilations: Triple): tf.Tensor =>
  dilations.reduce((v, d, axis) => {
    if (d === 1) return v
    const k = v.shape[axis]!
    const zeros = tf.zeros([...v.shape.slice(0, axis + 1), d - 1, ...v.shape.slice(axis + 1)])
    const spread = tf.reshape(tf.concat([tf.expandDims(v, axis + 1), zeros], axis + 1), v.shape.map((s, j) => (j === axis ? k * d : s)))
    return tf.slice(spread, spread.shape.map(() => 0), spread.shape.map((s, j) => (j === axis ? (k - 1) * d + 1 : s)))
  }, w)

/** Elements 0, s, 2s, … (`count` of them) of `x` along `axis`: pad or crop to count·s, reshape, slice. */
const subsample = (x: tf.Tensor, axis: number, s: number, count: number): tf.Tensor => {
  const need = count * s
  const len = x.shape[axis]!
  let v = x
  if (len < need) v = tf.pad(v, v.shape.map((_, i) => (i === axis ? [0, need - len] : [0, 0])) as Array<[number, number]>)
  else if (len > need) v = tf.slice(v, v.shape.map(() => 0), v.shape.map((d, i) => (i === axis ? need : d)))
  const split = v.shape.flatMap((d, i) => (i === axis ? [count, s] : [d]))
  const picked = tf.slice(tf.reshape(v, split), split.map(() => 0), split.map((d, i) => (i === axis + 1 ? 1 : d)))
  return tf.reshape(picked, v.shape.map((d, i) => (i === axis ? count : d)))
}

/** tfjs's conv3d (this geometry) written with multav's conv3d, differentiable in x and w. */
const multavConv3d = (attrs: Conv3dAttrs, xShape: ReadonlyArray<number>, wShape: ReadonlyArray<number>) => {
  const strides = triple(attrs.strides)
  const dilations = triple(attrs.dilations)
  const info = tf.backend_util.computeConv3DInfo(xShape as never, wShape as never, [...strides] as [number, number, number], [...dilations] as [number, number, number], attrs.pad)
  const p = info.padInfo
  const signed = [[p.front, p.back], [p.top, p.bottom], [p.left, p.right]] as const
  // tfjs's 'same' pads are negative where the kernel is smaller than the stride: a crop of the input
  const pads = signed.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)]) as unknown as Pads3
  const crop = signed.map(([a, b]) => [Math.max(-a, 0), Math.max(-b, 0)] as const)
  const cropped = crop.some(([a, b]) => a > 0 || b > 0)
  const native = strides.every((s) => s === 1 || s === 2)
  const out = [info.outDepth, info.outHeight, info.outWidth]
  return (x: tf.Tensor, w: tf.Tensor): tf.Tensor => {
    const filter = dilations.every((d) => d === 1) ? w : dilate(w, dilations)
    const xc = cropped
      ? tf.slice(x, [0, ...crop.map(([a]) => a), 0], x.shape.map((d, i) => (i === 0 || i === 4 ? d : d - crop[i - 1]![0] - crop[i - 1]![1])))
      : x
    const y = conv3d(xc, filter, { strides: native ? strides : 1, pad: pads })
    return native ? y : strides.reduce<tf.Tensor>((v, s, i) => (s === 1 ? v : subsample(v, i + 1, s, out[i]!)), y)
  }
}

/**
 * dy's pullback through `f` at `at`: tf.grad(f)(at, dy). Run from inside a gradient function, whose
 * backward pass is not itself recorded (gradientDepth 0), a nested tf.grad would replace the engine's
 * active tape and null it when done, which the outer tf.grad reads afterwards to free its saved
 * tensors: that tape is put back.
 */
const pullback = (f: (v: tf.Tensor) => tf.Tensor, at: tf.Tensor, dy: tf.Tensor): tf.Tensor => {
  const state = tf.engine().state
  const outer = state.activeTape
  try {
    return tf.grad(f)(at, dy)
  } finally {
    state.activeTape = outer
  }
}

const gradient: tf.GradConfig = {
  kernelName: KERNEL,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const a = attrs as unknown as Conv3dAttrs
    if (tf.getBackend() !== 'wasm' || (a.dataFormat !== undefined && a.dataFormat !== 'NDHWC')) return tfjsGradient!.gradFunc(dy, saved, attrs)
    const [x, w] = saved as [tf.Tensor5D, tf.Tensor5D]
    const conv = multavConv3d(a, x.shape, w.shape)
    const d = dy as tf.Tensor5D
    return {
      x: () => pullback((v) => conv(v, w), x, d),
      filter: () => pullback((v) => conv(x, v), w, d),
    }
  },
}

/**
 * Registers the wasm-correct `Conv3D` gradient (idempotent; the other backends keep tfjs-core's).
 * Resolves to false where tfjs-core registered no Conv3D gradient to fall back on (nothing is changed).
 */
export const registerConv3dGradient = (): boolean => {
  if (tfjsGradient !== undefined) return true
  const current = tf.getGradient(KERNEL)
  if (current === undefined) return false
  tfjsGradient = current
  tf.registerGradient(gradient)
  return true
}

/** Puts tfjs-core's own `Conv3D` gradient back (to measure what the fix changes). */
export const unregisterConv3dGradient = (): void => {
  if (tfjsGradient === undefined) return
  tf.registerGradient(tfjsGradient)
  tfjsGradient = undefined
}
