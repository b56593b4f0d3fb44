/**
 * The phases of conv3d's input gradient (conv3d.ts, `inputGradient`) woven into dx in one pass on wasm.
 *
 * Along each axis of stride s, input positions split into s residue classes; phase (a, b, c) holds
 * dx at times s_t·i + a, rows s_h·j + b and columns s_w·k + c, each [N, m_t, m_h, m_w, C] with
 * m = ⌈len / s⌉. dx is their interleave, cropped to [T, H, W]:
 *
 *   dx[n, t, h, w] = phase(t mod s_t, h mod s_h, w mod s_w)[n, ⌊t / s_t⌋, ⌊h / s_h⌋, ⌊w / s_w⌋].
 *
 * As tf ops: a stack (or a stack and a transpose) per axis and a crop where s·m > len, seven
 * interleaves of up to three kernels each at stride 2 on every axis. The wasm kernel
 * (`MultavInterleave`) copies each pixel's C values once (a whole row of W·C at s_w = 1).
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { runWasmKernel, wasmKernelCanRun, wasmOutput } from './wasm-kernel.js'

const KERNEL = 'MultavInterleave'

type Triple = readonly [number, number, number]

interface InterleaveAttrs {
  readonly strides: Triple
  /** dx's [T, H, W]. */
  readonly size: Triple
  /** The phases are the channel groups of one tensor [N, m_t, m_h, m_w, P·C] (phase p: channels p·C …). */
  readonly grouped?: boolean
}

/** Below this many values per pixel an element loop beats a copyWithin call per pixel. */
const MIN_COPY = 16

const interleaveWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { strides: [st, sh, sw], size: [T, H, W], grouped = false } = attrs as unknown as InterleaveAttrs
  const P = st * sh * sw
  const parts = grouped ? [(inputs as { p0: tf.TensorInfo }).p0] : Array.from({ length: P }, (_, p) => (inputs as Record<string, tf.TensorInfo>)[`p${p}`]!)
  const [N, mt, mh, mw, depth] = parts[0]!.shape as [number, number, number, number, number]
  const C = grouped ? depth / P : depth
  const { out, heap, from, to } = wasmOutput(backend, [N, T, H, W, C], parts)
  // where phase p's value at pixel (n, i, j, k) begins: its own tensor, or its channel group
  const pixel = grouped ? P * C : C
  const phaseAt = (p: number): number => (grouped ? from[0]! + p * C : from[p]!)
  for (let n = 0; n < N; n++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++) {
        const p = ((t % st) * sh + (h % sh)) * sw
        const src = (((n * mt + Math.floor(t / st)) * mh + Math.floor(h / sh)) * mw) * pixel
        const dst = to + ((n * T + t) * H + h) * W * C
        if (sw === 1 && !grouped) {
          heap.copyWithin(dst, from[p]! + src, from[p]! + src + W * C)
          continue
        }
        for (let w = 0; w < W; w++) {
          const s = phaseAt(p + (w % sw)) + src + Math.floor(w / sw) * pixel
          const d = dst + w * C
          if (C >= MIN_COPY) heap.copyWithin(d, s, s + C)
          else for (let e = 0; e < C; e++) heap[d + e] = heap[s + e]!
        }
      }
  return out
}

/**
 * Interleaves `parts` ([A, m, B] each, one per residue class) along axis 1 and crops it to `len`.
 * wasm's stack along axis 2 copies in chunks of B values from JavaScript; where B is small (channels
 * only) the parts are stacked along axis 0 (s whole copies) and transposed instead.
 */
const interleaveAxis = (parts: ReadonlyArray<tf.Tensor3D>, len: number): tf.Tensor3D => {
  const [A, m, B] = parts[0]!.shape
  const s = parts.length
  const woven: tf.Tensor3D =
    s === 1
      ? parts[0]!
      : B >= MIN_STACK_CHUNK
        ? tf.reshape(tf.stack(parts as tf.Tensor3D[], 2), [A, m * s, B])
        : tf.reshape(tf.transpose(tf.stack(parts as tf.Tensor3D[], 0), [1, 2, 0, 3]), [A, m * s, B])
  return m * s === len ? woven : tf.slice(woven, [0, 0, 0], [A, len, B])
}

/** Values per chunk from which a JavaScript copy per chunk (wasm's concat) beats a transpose. */
const MIN_STACK_CHUNK = 256

/** The same with tf ops: width, then height, then time, each through a rank-3 view. */
const interleaveOps = (parts: ReadonlyArray<tf.Tensor5D>, { strides: [st, sh, sw], size: [T, H, W] }: InterleaveAttrs): tf.Tensor5D => {
  const [N, mt, mh, mw, C] = parts[0]!.shape
  const part = (a: number, b: number, c: number) => parts[(a * sh + b) * sw + c]!
  const range = (s: number) => Array.from({ length: s }, (_, r) => r)
  const byTime = range(st).map((a) => {
    const byHeight = range(sh).map((b) => {
      const byWidth = range(sw).map((c) => tf.reshape(part(a, b, c), [N * mt * mh, mw, C]) as tf.Tensor3D)
      return tf.reshape(interleaveAxis(byWidth, W), [N * mt, mh, W * C]) as tf.Tensor3D
    })
    return tf.reshape(interleaveAxis(byHeight, H), [N, mt, H * W * C]) as tf.Tensor3D
  })
  return tf.reshape(interleaveAxis(byTime, T), [N, T, H, W, C])
}

/** How dx is woven: 'auto' (the wasm kernel where it can run) or 'ops'. For tests and benchmarks. */
export const interleaveTuning: { path: 'auto' | 'ops' } = { path: 'auto' }

/**
 * dx [N, T, H, W, C] from the phases (in the order (a, b, c) with c fastest; each
 * [N, ⌈T/s_t⌉, ⌈H/s_h⌉, ⌈W/s_w⌉, C]) at `strides`, cropped to `size` = [T, H, W].
 */
export const interleavePhases = (parts: ReadonlyArray<tf.Tensor5D>, strides: Triple, size: Triple): tf.Tensor5D => {
  if (parts.length === 1) {
    const [N, mt, mh, mw, C] = parts[0]!.shape
    return mt === size[0] && mh === size[1] && mw === size[2] ? parts[0]! : tf.slice(parts[0]!, [0, 0, 0, 0, 0], [N, size[0], size[1], size[2], C])
  }
  if (interleaveTuning.path === 'ops' || !wasmKernelCanRun(parts)) return interleaveOps(parts, { strides, size })
  return runWasmKernel(KERNEL, interleaveWasm, Object.fromEntries(parts.map((p, i) => [`p${i}`, p])), { strides, size }) as tf.Tensor5D
}

/**
 * The same weave where the phases are the channel groups of `y` [N, m_t, m_h, m_w, P·C] (phase p,
 * in the order of interleavePhases, is channels p·C … (p + 1)·C − 1), as one convolution computes them.
 */
export const interleaveChannelGroups = (y: tf.Tensor5D, strides: Triple, size: Triple): tf.Tensor5D => {
  const P = strides[0] * strides[1] * strides[2]
  if (interleaveTuning.path === 'ops' || !wasmKernelCanRun([y])) return interleavePhases(tf.split(y, P, 4) as tf.Tensor5D[], strides, size)
  return runWasmKernel(KERNEL, interleaveWasm, { p0: y }, { strides, size, grouped: true }) as tf.Tensor5D
}
