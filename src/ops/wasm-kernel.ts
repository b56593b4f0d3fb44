/**
 * multav's own wasm kernels (copies that tf ops would make in several passes, stack-taps.ts and
 * interleave.ts): registering one, running it, and what it reads of tfjs-backend-wasm's backend.
 * Each is a float32 copy within the wasm heap and has no gradient, so it runs only on 'wasm' and
 * only where no gradient tape records (outside tf.grad, or inside a custom gradient's forward or
 * backward pass); elsewhere its caller runs the same computation as tf ops.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { simdFor, type Simd, type WasmMemory } from './simd.js'

/** What these kernels use of tfjs-backend-wasm's BackendWasm (4.22, the pinned version). */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined }
  wasm: { HEAPF32: Float32Array; wasmMemory?: WasmMemory; asm?: { memory?: WasmMemory } }
}

/** Whether a multav wasm kernel may run on these inputs now: the wasm backend, float32, no tape recording. */
export const wasmKernelCanRun = (inputs: ReadonlyArray<tf.Tensor>): boolean => {
  const { gradientDepth, kernelDepth } = tf.engine().state
  return tf.getBackend() === 'wasm' && !(gradientDepth > 0 && kernelDepth === 0) && inputs.every((t) => t.dtype === 'float32')
}

/**
 * A float32 output of `shape`, its number of values, the heap, and where (in floats) each input's
 * data and the output's begin. The heap is read after makeOutput: growing the heap replaces HEAPF32.
 */
export const wasmOutput = (
  backend: unknown,
  shape: number[],
  inputs: ReadonlyArray<tf.TensorInfo>,
): { out: tf.TensorInfo; size: number; heap: Float32Array; from: number[]; to: number } => {
  const wasm = backend as WasmBackend
  const out = wasm.makeOutput(shape, 'float32')
  const at = (t: tf.TensorInfo) => wasm.dataIdMap.get(t.dataId)!.memoryOffset / 4
  return { out, size: shape.reduce((a, b) => a * b, 1), heap: wasm.wasm.HEAPF32, from: inputs.map(at), to: at(out) }
}

/**
 * Runs `call` on multav's SIMD module, which does the first 4·⌊size/4⌋ values, where it can run;
 * returns the index from which the caller's JavaScript does the rest (all of them without the module).
 */
export const simdPart = (backend: unknown, size: number, call: (simd: Simd) => void): number => {
  const simd = wasmSimd(backend)
  if (simd === undefined) return 0
  call(simd)
  return size & ~3
}

/**
 * multav's SIMD functions on the backend's memory (simd.ts), or undefined where they cannot run. The
 * threaded build keeps its (shared) memory as `wasmMemory`; the single-threaded one exports it from
 * the module.
 */
export const wasmSimd = (backend: unknown): Simd | undefined => {
  const { wasm } = backend as WasmBackend
  return simdFor(wasm.wasmMemory ?? wasm.asm?.memory)
}

const registered = new Set<string>()

/** Runs kernel `name` (registered for 'wasm' on first use) on `inputs` with `attrs`. */
export const runWasmKernel = (name: string, kernelFunc: tf.KernelFunc, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor => {
  if (!registered.has(name)) {
    registered.add(name)
    if (tf.getKernel(name, 'wasm') === undefined) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc })
  }
  return tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor
}
