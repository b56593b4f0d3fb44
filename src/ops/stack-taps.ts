/**
 * The image of conv3d's stacked temporal taps (conv3d.ts, `stackedTaps`) built in one pass on wasm.
 *
 * For output frame t and tap k0 + i (i < K), row h·K + i of image n·T' + t is row h of input frame
 * f = st·t + k0 + i − front of clip n, or zeros where f lies outside the clip:
 *
 *   image[n·T' + t, h·K + i, :, :] = x[n, f, h, :, :]  (0 ≤ f < T), else 0;  image: [N·T', K·H, W, C].
 *
 * Written with tf ops this is a time pad of x (a copy), K frame slices (K copies) and a concat along
 * height (another copy, in chunks of W·C values from JavaScript): K + 2 kernel calls. The wasm kernel
 * registered here (`MultavStackTaps`) copies each row of W·C values once, straight from x, within
 * the wasm heap (`copyWithin`, a memmove), and zero-fills the rows of frames outside the clip.
 * Elsewhere (and whenever a gradient tape records, since the kernel has no gradient) the tf-op path
 * runs; both give the same values exactly (test/fold.test.ts).
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { runWasmKernel, wasmKernelCanRun, wasmOutput } from './wasm-kernel.js'

const KERNEL = 'MultavStackTaps'

interface StackTapsAttrs {
  readonly k0: number
  readonly K: number
  readonly st: number
  readonly outT: number
  readonly front: number
}

const stackTapsWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = (inputs as { x: tf.TensorInfo }).x
  const { k0, K, st, outT, front } = attrs as unknown as StackTapsAttrs
  const [N, T, H, W, C] = x.shape as [number, number, number, number, number]
  const { out, heap, from, to: dst } = wasmOutput(backend, [N * outT, K * H, W, C], [x])
  const src = from[0]!
  const row = W * C
  for (let n = 0; n < N; n++)
    for (let t = 0; t < outT; t++) {
      const image = dst + (n * outT + t) * K * H * row
      for (let i = 0; i < K; i++) {
        const f = st * t + k0 + i - front
        const inside = f >= 0 && f < T
        const frame = src + (n * T + f) * H * row
        for (let h = 0; h < H; h++) {
          const at = image + (h * K + i) * row
          if (inside) heap.copyWithin(at, frame + h * row, frame + (h + 1) * row)
          else heap.fill(0, at, at + row)
        }
      }
    }
  return out
}

/** `x` [N, T, H, W, C] with `front` and `back` zero frames, padded through a rank-3 view (wasm's fast path). */
export const padTime = (x: tf.Tensor5D, front: number, back: number): tf.Tensor5D => {
  const [N, T, H, W, C] = x.shape
  const v = tf.pad(tf.reshape(x, [N, T, H * W * C]) as tf.Tensor3D, [[0, 0], [front, back], [0, 0]])
  return tf.reshape(v, [N, T + front + back, H, W, C])
}

/**
 * Frames k, k+st, …, k+st·(outT−1) of `xp` [N, Tp, H, W, C] (Tp ≥ k + st·outT), time folded into the
 * batch: [N·outT, H, W, C]. Slices go through a rank-3 view, the fast path on wasm.
 */
export const frames = (xp: tf.Tensor5D, k: number, st: number, outT: number): tf.Tensor4D => {
  const [N, Tp, H, W, C] = xp.shape
  const hwc = H * W * C
  let v = tf.reshape(xp, [N, Tp, hwc]) as tf.Tensor3D
  if (k !== 0 || Tp !== st * outT) v = tf.slice(v, [0, k, 0], [N, st * outT, hwc])
  if (st > 1) v = tf.slice(tf.reshape(v, [N, outT, st * hwc]) as tf.Tensor3D, [0, 0, 0], [N, outT, hwc])
  return tf.reshape(v, [N * outT, H, W, C])
}

/** The same image from tf ops: x padded in time, each tap's frames sliced, concatenated along height. */
const stackTapsOps = (x: tf.Tensor5D, { k0, K, st, outT, front }: StackTapsAttrs): tf.Tensor4D => {
  const [N, T, H, W, C] = x.shape
  // tap k reads frame st·t + k − front: pad x in time so that frames(xp, k, st, outT) is that
  const back = Math.max(0, k0 + K - 1 + st * outT - front - T)
  const xp = front === 0 && back === 0 ? x : padTime(x, front, back)
  const parts = Array.from({ length: K }, (_, i) => tf.reshape(frames(xp, k0 + i, st, outT), [N * outT, H, 1, W * C]) as tf.Tensor4D)
  return tf.reshape(tf.concat(parts, 2), [N * outT, K * H, W, C]) as tf.Tensor4D
}

/** How the image is built: 'auto' (the wasm kernel where it can run) or 'ops'. For tests and benchmarks. */
export const stackTapsTuning: { path: 'auto' | 'ops' } = { path: 'auto' }

/**
 * The stacked-taps image [N·outT, K·H, W, C] of `x` [N, T, H, W, C] for taps k0 … k0 + K − 1 at
 * temporal stride `st` with `front` zero frames before the clip (see the module comment).
 */
export const stackTaps = (x: tf.Tensor5D, attrs: StackTapsAttrs): tf.Tensor4D => {
  if (stackTapsTuning.path === 'ops' || !wasmKernelCanRun([x])) return stackTapsOps(x, attrs)
  return runWasmKernel(KERNEL, stackTapsWasm, { x }, attrs) as tf.Tensor4D
}
