/**
 * sign(v): exactly +1 for every v > 0, −1 for every v < 0, 0 at ±0 and NaN at NaN, on every backend.
 *
 * `tf.sign` is not that on wasm: tfjs-backend-wasm 4.22.0 returns 0 for every |v| < 1.19e-7 (float32's
 * machine epsilon), and real models' input gradients of a batch-mean loss are routinely that small, so a
 * sign step would leave those values unmoved (docs/correctness.md).
 *
 * Computed as step(v) − step(−v), step(u) = [u > 0]: exact for every float32 down to the smallest
 * denormal, NaN kept (a NaN gradient is not silently turned into "no step"; on wasm a clip would
 * turn it into −1). On wasm, outside a gradient tape, one pass of multav's own kernel
 * (`MultavSign`, wasm-kernel.ts) gives the same values instead of those four kernels. No gradient is
 * defined through it (an attack's direction is not differentiated).
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { runWasmKernel, wasmKernelCanRun, simdPart, wasmOutput } from './wasm-kernel.js'

/** v > 0 → 1, v < 0 → −1, ±0 → 0, NaN → NaN, in one pass over the wasm heap. */
const signWasm: tf.KernelFunc = ({ inputs, backend }) => {
  const v = (inputs as { v: tf.TensorInfo }).v
  const { out, size, heap, from, to } = wasmOutput(backend, [...v.shape], [v])
  const src = from[0]!
  const start = simdPart(backend, size, (simd) => simd.sign(4 * src, 4 * to, size))
  // the last n mod 4 values (all of them where the SIMD module cannot run): [u > 0] − [u < 0] from
  // the comparisons' 0/1, not a branch (which mispredicts on gradients); NaN kept
  for (let i = start; i < size; i++) {
    const u = heap[src + i]!
    heap[to + i] = u === u ? +(u > 0) - +(u < 0) : u
  }
  return out
}

/** How sign is computed: 'auto' (the wasm kernel where it can run) or 'ops'. For tests and benchmarks. */
export const signTuning: { path: 'auto' | 'ops' } = { path: 'auto' }

/** sign(v) ∈ {−1, 0, 1} as float32 (NaN where v is NaN). Call inside a tidy. */
export const sign = <T extends tf.Tensor>(v: T): T =>
  signTuning.path === 'auto' && wasmKernelCanRun([v])
    ? (runWasmKernel('MultavSign', signWasm, { v }, {}) as T)
    : (tf.sub(tf.step(v), tf.step(tf.neg(v))) as T)
