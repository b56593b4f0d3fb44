/**
 * Replacing a registered tfjs kernel, by name for one backend, with a function of the original.
 * Gradients are registered by kernel name, so they carry over. multav replaces wasm's `Tile` and
 * `Identity` (wasm-tile.ts, wasm-identity.ts) and the GPU backends' rank-5-deficient kernels
 * (rank5.ts).
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'

/** The replaced kernels' originals, by 'backend/Kernel'. */
const originals = new Map<string, tf.KernelFunc>()

/**
 * Registers `wrap(original)` as `kernel` on `backend` in place of the one registered there (the
 * backend's package must be imported first). Idempotent: a kernel is replaced once. True when this
 * call replaced it.
 */
export const replaceKernel = (kernel: string, backend: string, wrap: (original: tf.KernelFunc) => tf.KernelFunc): boolean => {
  const key = `${backend}/${kernel}`
  const config = tf.getKernel(kernel, backend)
  if (originals.has(key) || config === undefined) return false
  tf.unregisterKernel(kernel, backend)
  tf.registerKernel({ ...config, kernelFunc: wrap(config.kernelFunc) })
  originals.set(key, config.kernelFunc)
  return true
}

/** The original of a kernel `replaceKernel` replaced (undefined before), for tests that compare with it. */
export const originalKernel = (kernel: string, backend: string): tf.KernelFunc | undefined => originals.get(`${backend}/${kernel}`)
