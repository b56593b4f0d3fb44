/**
 * A per-sample choice between two batches: out[n] = a[n] where condition[n], else b[n], for a
 * condition of shape [N, 1, …, 1] (one per sample, as an L2 projection's "‖δ‖ > ε" is).
 *
 * `tf.where` broadcasts such a condition to the batch's shape first, and on wasm that broadcast is
 * a `Tile` that walks the tensor one value at a time (~30 ms for [8, 8, 32, 32, 3], more than the
 * rest of an L2 step's update), followed by a Select over every value. On wasm, outside a gradient
 * tape, multav's own kernel (`MultavSelectSamples`) instead copies each sample's values from a or b
 * (one memmove per sample within the wasm heap): the same values, exactly. Elsewhere, and whenever a
 * tape records, `tf.where` runs.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { runWasmKernel, wasmKernelCanRun, wasmOutput } from './wasm-kernel.js'

const selectWasm: tf.KernelFunc = ({ inputs, backend }) => {
  const { take, a, b } = inputs as { take: tf.TensorInfo; a: tf.TensorInfo; b: tf.TensorInfo }
  const { out, heap, from, to } = wasmOutput(backend, [...a.shape], [take, a, b])
  const [t0, a0, b0] = from as [number, number, number]
  const N = a.shape[0]!
  const perSample = a.shape.reduce((p, d) => p * d, 1) / N
  for (let n = 0; n < N; n++) {
    const src = (heap[t0 + n] !== 0 ? a0 : b0) + n * perSample
    heap.copyWithin(to + n * perSample, src, src + perSample)
  }
  return out
}

/** How the choice is made: 'auto' (the wasm kernel where it can run) or 'ops'. For tests and benchmarks. */
export const selectSamplesTuning: { path: 'auto' | 'ops' } = { path: 'auto' }

/**
 * a[n] where `condition` [N, 1, …, 1] (bool) holds for sample n, else b[n]; a and b of one shape
 * [N, …]. Call inside a tidy.
 */
export const selectSamples = <T extends tf.Tensor>(condition: tf.Tensor, a: T, b: T): T => {
  const N = a.shape[0]
  const perSample = condition.size === N && condition.shape[0] === N && a.shape.join() === b.shape.join()
  if (selectSamplesTuning.path === 'ops' || !perSample || !wasmKernelCanRun([a, b])) return tf.where(condition, a, b) as T
  return runWasmKernel('MultavSelectSamples', selectWasm, { take: tf.cast(tf.reshape(condition, [N!]), 'float32'), a, b }, {}) as T
}
