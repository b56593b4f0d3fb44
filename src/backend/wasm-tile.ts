/**
 * A fast `Tile` for tfjs-backend-wasm 4.22, whose own runs in JavaScript one value at a time through
 * index arithmetic (~30 ms to broadcast an [8, 1, 1, 1, 1] condition to [8, 8, 32, 32, 3]). `Tile`
 * is what `tf.broadcastTo` and every broadcasting `tf.where` run, in multav's code and in the models
 * researchers bring (ONNX graphs broadcast with it), so the kernel itself is replaced, as rank5.ts
 * does for the GPU backends.
 *
 * The replacement only copies bytes within the wasm heap (so it is exact for every dtype it takes:
 * float32, int32, bool), in two phases on the output y = tile(x, reps), of shape o_i = s_i·r_i:
 *
 * 1. x is placed where every repetition index is 0, in runs of the trailing axes that are not
 *    repeated (they are contiguous in x and in y);
 * 2. from the innermost repeated axis a outwards, each filled block of s_a·B_a values (B_a = the
 *    values of one index of axis a in y) is copied along the axis until it fills o_a·B_a, doubling
 *    the copied length each time (`copyWithin`, a memmove).
 *
 * Other dtypes (string, complex64) go to the original kernel. Gradients are unchanged (registered by
 * kernel name). test/wasm-kernels.test.ts compares it with the original on generated shapes, reps and
 * dtypes.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { originalKernel, replaceKernel } from './replace-kernel.js'

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined }
  wasm: { HEAPU8: Uint8Array }
}

const BYTES: Partial<Record<tf.DataType, number>> = { float32: 4, int32: 4, bool: 1 }

/**
 * Where in y (in values) the p-th index of x's first `axes` axes lands with every repetition index
 * 0: p read as (i_0, …, i_axes−1) in x's shape `s`, then Σ i_j·B_j.
 */
const placeOf = (p: number, axes: number, s: ReadonlyArray<number>, B: ReadonlyArray<number>): number => {
  let rest = p
  let offset = 0
  for (let i = axes - 1; i >= 0; i--) {
    offset += (rest % s[i]!) * B[i]!
    rest = Math.floor(rest / s[i]!)
  }
  return offset
}

/** y = tile(x, reps) by copies within the heap (see the module comment). */
const tileByCopies = (original: tf.KernelFunc): tf.KernelFunc => (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo }
  const reps = (args.attrs as unknown as { reps: number[] }).reps
  const bytes = BYTES[x.dtype]
  const s = x.shape
  const R = s.length
  if (bytes === undefined || R === 0 || reps.length !== R) return original(args)
  const backend = args.backend as unknown as WasmBackend
  const o = s.map((d, i) => d * reps[i]!)
  const out = backend.makeOutput(o, x.dtype)
  const size = o.reduce((a, b) => a * b, 1)
  if (size === 0) return out
  const heap = backend.wasm.HEAPU8 // read after makeOutput: growing the heap replaces it
  const at = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId)!.memoryOffset
  const [src, dst] = [at(x), at(out)]
  // B[i]: values of y per index of axis i
  const B = new Array<number>(R).fill(1)
  for (let i = R - 2; i >= 0; i--) B[i] = B[i + 1]! * o[i + 1]!
  // 1. x where every repetition index is 0, in runs of the trailing axes that are not repeated
  let k = R
  while (k > 0 && reps[k - 1] === 1) k--
  const run = s.slice(k).reduce((a, b) => a * b, 1)
  const runs = s.slice(0, k).reduce((a, b) => a * b, 1)
  for (let p = 0; p < runs; p++) heap.copyWithin(dst + placeOf(p, k, s, B) * bytes, src + p * run * bytes, src + (p + 1) * run * bytes)
  // 2. each repeated axis, innermost first: copy the filled s_a·B_a values along it
  for (let a = k - 1; a >= 0; a--) {
    if (reps[a] === 1) continue
    const filledAtStart = s[a]! * B[a]!
    const full = o[a]! * B[a]!
    const prefixes = s.slice(0, a).reduce((x1, x2) => x1 * x2, 1)
    for (let p = 0; p < prefixes; p++) {
      const start = dst + placeOf(p, a, s, B) * bytes
      for (let filled = filledAtStart; filled < full; ) {
        const n = Math.min(filled, full - filled)
        heap.copyWithin(start + filled * bytes, start, start + n * bytes)
        filled += n
      }
    }
  }
  return out
}

/** Replaces wasm's Tile by tileByCopies (its package must be imported first). Idempotent. */
export const patchWasmTile = (): void => void replaceKernel('Tile', 'wasm', tileByCopies)

/** The replaced kernel, for tests that compare with it (undefined before patchWasmTile). */
export const originalWasmTile = (): tf.KernelFunc | undefined => originalKernel('Tile', 'wasm')
