/**
 * The multiplicative update x' ⊙ exp(λ·d) for a direction d whose values are −1, 0 or 1 (sign(g),
 * masked or not; NaN where the gradient was NaN): each value is multiplied by e^λ, e^−λ or 1.
 *
 * With tf ops that is three kernels over the clip (λ·d, exp, the product), and wasm's exp takes ~5x
 * as long as a multiply. On wasm, outside a gradient tape, one pass of multav's own kernel
 * (`MultavPowerStep`: the SIMD module of simd.ts, the last n mod 4 values in JavaScript) gives the
 * same values bit for bit: e^λ and e^−λ come from the backend's own exp
 * (tf.exp of the two float32 values ±λ, as the tf-op path computes them), each product is the float32
 * product (Math.fround of JavaScript's exact double product of two float32 values), x'·1 = x', and a
 * NaN direction gives NaN as exp(NaN) does.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { runWasmKernel, wasmKernelCanRun, simdPart, wasmOutput } from './wasm-kernel.js'

interface PowerAttrs {
  /** e^λ and e^−λ (float32). */
  readonly up: number
  readonly down: number
}

const powerWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { xAdv, d } = inputs as { xAdv: tf.TensorInfo; d: tf.TensorInfo }
  const { up, down } = attrs as unknown as PowerAttrs
  const { out, size, heap, from, to } = wasmOutput(backend, [...xAdv.shape], [xAdv, d])
  const [v0, d0] = from as [number, number]
  // in JavaScript, the factor by d + 1 ∈ {0, 1, 2} (−0 + 1 = 1), not by a branch: V8 compiles a float
  // ?: to a branch, which mispredicts on a sign's values (1.7 ms against 0.6 ms on 196,608 values)
  const factor = new Float64Array([down, 1, up])
  const start = simdPart(backend, size, (simd) => simd.power(4 * v0, 4 * d0, 4 * to, size, up, down))
  // the last n mod 4 values (all of them where the SIMD module cannot run)
  for (let i = start; i < size; i++) {
    const s = heap[d0 + i]!
    const v = heap[v0 + i]!
    // x'·1 = x' exactly; a NaN d gives NaN
    heap[to + i] = s === s ? Math.fround(v * factor[s + 1]!) : s
  }
  return out
}

/** e^λ and e^−λ as the backend's exp gives them, for the λ of recent steps (one per schedule value). */
const factors = new Map<number, PowerAttrs>()

const factorsOf = (lambda: number): PowerAttrs => {
  const known = factors.get(lambda)
  if (known !== undefined) return known
  const [up, down] = tf.tidy(() => tf.exp(tf.mul(tf.tensor1d([1, -1]), lambda)).dataSync())
  if (factors.size >= 64) factors.clear()
  const made = { up: up!, down: down! }
  factors.set(lambda, made)
  return made
}

/** How the update is computed: 'auto' (the wasm kernel where it can run) or 'ops'. For tests and benchmarks. */
export const powerStepTuning: { path: 'auto' | 'ops' } = { path: 'auto' }

/**
 * x' ⊙ exp(λ·d) for d ∈ {−1, 0, 1} (or NaN), d and x' of one shape. Call inside a tidy. For other
 * directions use the tf ops (the kernel reads only the sign of d).
 */
export const powerStep = <T extends tf.Tensor>(xAdv: T, d: tf.Tensor, lambda: number): T => {
  if (powerStepTuning.path === 'ops' || !wasmKernelCanRun([xAdv, d]) || xAdv.shape.join() !== d.shape.join())
    return tf.mul(xAdv, tf.exp(tf.mul(d, lambda))) as T
  return runWasmKernel('MultavPowerStep', powerWasm, { xAdv, d }, factorsOf(lambda)) as T
}
