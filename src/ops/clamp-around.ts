/**
 * The L∞ projections of an attack step, x' clamped to an interval around the clean clip x, per value:
 *
 *   ball:  min(max(x', x − ε), x + ε)   (additive, Π_∞(ε))
 *   ratio: min(max(x', x / ε), x · ε)   (multiplicative, Π_ratio∞(ε); 0 where x = 0)
 *
 * each an exact no-op where x' already lies inside (min and max return x' itself). With tf ops that is
 * four kernels over the clip (the two bounds, then max and min; wasm's binary max and min take ~4x
 * as long as an add). On wasm, outside a gradient tape, one pass of multav's own kernel
 * (`MultavClampAround`: the SIMD module of simd.ts, the last n mod 4 values in JavaScript) gives the
 * same values bit for bit: each bound is the float32 result of one float32 operation (f32x4
 * arithmetic; in JavaScript the double result of two float32 operands, rounded once by Math.fround),
 * and max and min are C++'s std::max and std::min, as in tfjs (a NaN x' stays NaN).
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { runWasmKernel, wasmKernelCanRun, simdPart, wasmOutput } from './wasm-kernel.js'

/** Which interval: x ± ε (ball) or [x / ε, x · ε] (ratio). */
export type Around = 'ball' | 'ratio'

interface ClampAttrs {
  readonly around: Around
  readonly eps: number
}

const clampWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { xAdv, x } = inputs as { xAdv: tf.TensorInfo; x: tf.TensorInfo }
  const { around, eps } = attrs as unknown as ClampAttrs
  const e = Math.fround(eps)
  const { out, size, heap, from, to } = wasmOutput(backend, [...xAdv.shape], [xAdv, x])
  const [v0, x0] = from as [number, number]
  // in JavaScript, (a < b) ? b : a as pick[+(a < b)]: V8 compiles a float ?: to a branch, which
  // mispredicts on pixel data (2 ms against 1 ms on 196,608 values, where SIMD cannot run)
  const pick = new Float64Array(2)
  const ball = around === 'ball'
  const start = simdPart(backend, size, (simd) => simd[ball ? 'ball' : 'ratioBall'](4 * v0, 4 * x0, 4 * to, size, e))
  // the last n mod 4 values (all of them where the SIMD module cannot run)
  for (let i = start; i < size; i++) {
    const c = heap[x0 + i]!
    const lo = Math.fround(ball ? c - e : c / e)
    const hi = Math.fround(ball ? c + e : c * e)
    const v = heap[v0 + i]!
    pick[0] = v
    pick[1] = lo
    const m = pick[+(v < lo)]! // std::max(v, lo) = (v < lo) ? lo : v
    pick[0] = m
    pick[1] = hi
    heap[to + i] = pick[+(hi < m)]! // std::min(m, hi) = (hi < m) ? hi : m
  }
  return out
}

/** The same with tf ops. */
const clampOps = (x: tf.Tensor, xAdv: tf.Tensor, { around, eps }: ClampAttrs): tf.Tensor =>
  around === 'ball'
    ? tf.minimum(tf.maximum(xAdv, tf.sub(x, eps)), tf.add(x, eps))
    : tf.minimum(tf.maximum(xAdv, tf.div(x, eps)), tf.mul(x, eps))

/** How the clamp is computed: 'auto' (the wasm kernel where it can run) or 'ops'. For tests and benchmarks. */
export const clampTuning: { path: 'auto' | 'ops' } = { path: 'auto' }

/** x' (`xAdv`) clamped to the interval `around` x with radius (or ratio) ε, x and x' of one shape. Call inside a tidy. */
export const clampAround = <T extends tf.Tensor>(around: Around, eps: number, x: T, xAdv: T): T => {
  const attrs: ClampAttrs = { around, eps }
  if (clampTuning.path === 'ops' || !wasmKernelCanRun([x, xAdv]) || x.shape.join() !== xAdv.shape.join()) return clampOps(x, xAdv, attrs) as T
  return runWasmKernel('MultavClampAround', clampWasm, { xAdv, x }, attrs) as T
}
