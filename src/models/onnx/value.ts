/**
 * The values an ONNX graph computes with: a tfjs tensor (float data, on the backend, differentiable)
 * or a host tensor (integers, booleans and small shape computations, kept in JavaScript so that
 * `Shape → Gather → Concat → Reshape` chains never touch the backend).
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'

export type HostDtype = 'float32' | 'int32' | 'bool'

/** A tensor held in JavaScript: row-major data, ONNX's int64 narrowed to int32 range. */
export interface Host {
  readonly kind: 'host'
  readonly dtype: HostDtype
  readonly shape: ReadonlyArray<number>
  readonly data: ReadonlyArray<number>
}

export type Value = tf.Tensor | Host

export const isHost = (v: Value | undefined): v is Host => v !== undefined && !(v instanceof tf.Tensor)

export const host = (data: ReadonlyArray<number>, shape: ReadonlyArray<number> = [data.length], dtype: HostDtype = 'int32'): Host => ({
  kind: 'host',
  dtype,
  shape,
  data,
})

export const shapeOf = (v: Value): ReadonlyArray<number> => v.shape

/** A tensor of `v` (a host value becomes one on the backend). */
export const tensorOf = (v: Value): tf.Tensor =>
  isHost(v)
    ? tf.tensor(v.dtype === 'float32' ? Float32Array.from(v.data) : v.dtype === 'bool' ? Uint8Array.from(v.data, (e) => (e ? 1 : 0)) : Int32Array.from(v.data), [...v.shape], v.dtype)
    : v

/** `t` read back into JavaScript (for shape sub-graphs: small tensors only). */
export const toHost = (t: tf.Tensor): Host =>
  host(Array.from(t.dataSync() as ArrayLike<number>, Number), t.shape, t.dtype === 'float32' ? 'float32' : t.dtype === 'bool' ? 'bool' : 'int32')

/** The numbers of `v` (a host value, or a small constant tensor read synchronously). */
export const numbersOf = (v: Value): ReadonlyArray<number> => (isHost(v) ? v.data : Array.from(v.dataSync() as ArrayLike<number>, Number))

/** The largest magnitude an int64 keeps when narrowed (Slice's INT64_MAX "to the end" and friends). */
export const INT_LIMIT = 2 ** 31 - 1
export const narrow = (v: number): number => (v > INT_LIMIT ? INT_LIMIT : v < -INT_LIMIT ? -INT_LIMIT : v)

export const sizeOf = (shape: ReadonlyArray<number>): number => shape.reduce((a, b) => a * b, 1)
