/**
 * An `Identity` for tfjs-backend-wasm 4.22 that shares its input's data instead of copying it, as
 * the cpu backend's does. `Identity` is what `tf.clone` runs, and tfjs clones every tensor a kernel
 * saves for its gradient: a forward + input gradient of 3D ResNet-18 on 1x16x112x112 copied 43
 * activations (up to 12.8 MB each, ~11 ms) for nothing. Sharing is exact: tfjs never writes a
 * tensor's data in place (a `tf.Variable.assign` gives the variable new data), and the backend
 * counts the references (`incRef`; the data is freed with its last tensor).
 *
 * Strings go to the original kernel. test/wasm-kernels.test.ts checks values, disposal and counts.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { replaceKernel } from './replace-kernel.js'

interface RefCounting {
  incRef(dataId: object): void
}

const shareData =
  (original: tf.KernelFunc): tf.KernelFunc =>
  (args) => {
    const x = (args.inputs as { x: tf.TensorInfo }).x
    if (x.dtype === 'string') return original(args)
    ;(args.backend as unknown as RefCounting).incRef(x.dataId)
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype }
  }

/** Replaces wasm's Identity by one that shares its input's data (its package must be imported first). Idempotent. */
export const patchWasmIdentity = (): void => void replaceKernel('Identity', 'wasm', shareData)
