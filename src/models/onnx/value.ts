/**
 * The values an ONNX graph computes with: a tfjs tensor (float data, on the backend, differentiable),
 * a host tensor (integers, booleans and small shape computations, kept in JavaScript so that
 * `Shape → Gather → Concat → Reshape` chains never touch the backend), or a tensor held
 * channels-last (what convolutions and pools compute, and element-wise ops on it: see layout.ts).
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

/**
 * A value of ONNX shape [N, C, d1, …, dk] (`shape`) held as the tensor [N, d1, …, dk, C], tfjs's
 * channels-last layout: its convolutions and pools take it, so between them no transpose is needed.
 */
export interface ChannelsLast {
  readonly kind: 'last'
  readonly tensor: tf.Tensor
  /** The ONNX (channels-first) shape. */
  readonly shape: ReadonlyArray<number>
  readonly dtype: tf.DataType
}

export type Value = tf.Tensor | Host | ChannelsLast

export const isHost = (v: Value | undefined): v is Host => v !== undefined && !(v instanceof tf.Tensor) && v.kind === 'host'
export const isLast = (v: Value | undefined): v is ChannelsLast => v !== undefined && !(v instanceof tf.Tensor) && v.kind === 'last'

/** [N, …, C] → [N, C, …]: the permutation from channels-last to ONNX's layout (its inverse is `toLastPerm`). */
export const toFirstPerm = (rank: number): number[] => [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)]
export const toLastPerm = (rank: number): number[] => [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1]

/** `t` [N, d…, C] as the channels-last form of the ONNX value [N, C, d…]. */
export const channelsLast = (t: tf.Tensor): ChannelsLast => ({
  kind: 'last',
  tensor: t,
  shape: toFirstPerm(t.rank).map((a) => t.shape[a]!),
  dtype: t.dtype,
})

/**
 * `x` permuted by `perm`; a reshape when the permutation moves no axis longer than 1 past another one
 * longer than 1 (e.g. [N, 1, 1, 1, C] ↔ [N, C, 1, 1, 1] after a global pool): the data order is the same.
 */
export const permute = (x: tf.Tensor, perm: ReadonlyArray<number>): tf.Tensor => {
  const order = perm.filter((a) => x.shape[a]! > 1)
  if (order.every((a, i) => i === 0 || order[i - 1]! < a)) return tf.reshape(x, perm.map((a) => x.shape[a]!))
  return tf.transpose(x, [...perm])
}

export const host = (data: ReadonlyArray<number>, shape: ReadonlyArray<number> = [data.length], dtype: HostDtype = 'int32'): Host => ({
  kind: 'host',
  dtype,
  shape,
  data,
})

export const shapeOf = (v: Value): ReadonlyArray<number> => v.shape

/** A tensor of `v` in ONNX's layout (a host value becomes one on the backend; a channels-last one is permuted). */
export const tensorOf = (v: Value): tf.Tensor =>
  isHost(v)
    ? tf.tensor(v.dtype === 'float32' ? Float32Array.from(v.data) : v.dtype === 'bool' ? Uint8Array.from(v.data, (e) => (e ? 1 : 0)) : Int32Array.from(v.data), [...v.shape], v.dtype)
    : isLast(v)
      ? permute(v.tensor, toFirstPerm(v.tensor.rank))
      : v

/** A channels-last tensor of `v` ([N, C, …] input; a channels-last value as it is). */
export const lastOf = (v: Value): tf.Tensor => (isLast(v) ? v.tensor : permute(tensorOf(v), toLastPerm(v.shape.length)))

/** `t` read back into JavaScript (for shape sub-graphs: small tensors only). */
export const toHost = (t: tf.Tensor): Host =>
  host(Array.from(t.dataSync() as ArrayLike<number>, Number), t.shape, t.dtype === 'float32' ? 'float32' : t.dtype === 'bool' ? 'bool' : 'int32')

/** The numbers of `v` (a host value, or a small constant tensor read synchronously). */
export const numbersOf = (v: Value): ReadonlyArray<number> => (isHost(v) ? v.data : Array.from(tensorOf(v).dataSync() as ArrayLike<number>, Number))

/** The largest magnitude an int64 keeps when narrowed (Slice's INT64_MAX "to the end" and friends). */
export const INT_LIMIT = 2 ** 31 - 1
export const narrow = (v: number): number => (v > INT_LIMIT ? INT_LIMIT : v < -INT_LIMIT ? -INT_LIMIT : v)

export const sizeOf = (shape: ReadonlyArray<number>): number => shape.reduce((a, b) => a * b, 1)
