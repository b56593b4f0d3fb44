/**
 * The pixel ratio r = x'/x of a multiplicative attack, and its masking to the pixels that have one:
 *
 *   ratioOf(x, x'):        r = x'/x where x > 0, 1 where x = 0 (the ratio is taken as 1 there)
 *   wherePositive(x, v):   v where x > 0, 0 elsewhere
 *
 * With tf ops these are a comparison, two or one Selects and a division, and wasm's Greater and
 * Select walk the tensor one value at a time (~1.2–1.6 ms each on [8, 8, 32, 32, 3]). On wasm,
 * outside a gradient tape, each is one pass of multav's SIMD module (simd.ts: a division and a
 * bit-select on x > 0), bit for bit the same values; the last n mod 4 values in JavaScript.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { runWasmKernel, wasmKernelCanRun, simdPart, wasmOutput } from './wasm-kernel.js'

type Which = 'ratio' | 'positive'

const ratioWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { v, x } = inputs as { v: tf.TensorInfo; x: tf.TensorInfo }
  const { which } = attrs as unknown as { which: Which }
  const { out, size, heap, from, to } = wasmOutput(backend, [...v.shape], [v, x])
  const [v0, x0] = from as [number, number]
  const start = simdPart(backend, size, (simd) => simd[which](4 * v0, 4 * x0, 4 * to, size))
  // the last n mod 4 values (all of them where the SIMD module cannot run)
  for (let i = start; i < size; i++) {
    const c = heap[x0 + i]!
    heap[to + i] = c > 0 ? (which === 'ratio' ? Math.fround(heap[v0 + i]! / c) : heap[v0 + i]!) : which === 'ratio' ? 1 : 0
  }
  return out
}

/** How these are computed: 'auto' (the wasm kernel where it can run) or 'ops'. For tests and benchmarks. */
export const ratioTuning: { path: 'auto' | 'ops' } = { path: 'auto' }

const kernelCanRun = (x: tf.Tensor, v: tf.Tensor): boolean => ratioTuning.path === 'auto' && wasmKernelCanRun([x, v]) && x.shape.join() === v.shape.join()

/** x'/x where x > 0, 1 where x = 0, for x and x' of one shape. Call inside a tidy. */
export const ratioOf = <T extends tf.Tensor>(x: T, xAdv: T): T => {
  if (kernelCanRun(x, xAdv)) return runWasmKernel('MultavRatio', ratioWasm, { v: xAdv, x }, { which: 'ratio' }) as T
  const positive = tf.greater(x, 0)
  const ones = tf.onesLike(x)
  return tf.where(positive, tf.div(xAdv, tf.where(positive, x, ones)), ones) as T
}

/** v where x > 0, 0 elsewhere, for x and v of one shape. Call inside a tidy. */
export const wherePositive = <T extends tf.Tensor>(x: tf.Tensor, v: T): T => {
  if (kernelCanRun(x, v)) return runWasmKernel('MultavRatio', ratioWasm, { v, x }, { which: 'positive' }) as T
  return tf.where(tf.greater(x, 0), v, tf.zerosLike(v)) as T
}
