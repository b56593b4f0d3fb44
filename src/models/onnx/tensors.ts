/**
 * ONNX TensorProtos (initializers, Constant values) into values, read once: float32, float16,
 * bfloat16 and double become float32 tfjs tensors; integer and boolean tensors stay in JavaScript
 * (int64 narrowed to the int32 range). Raw data is little-endian; the typed fields are read too.
 * Every size is checked against the data actually present: a short or over-long buffer, a negative
 * or absurd dimension, or external data outside the model's folder is an InputError.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { endianness } from 'node:os'
import type { onnx } from 'onnx-proto'
import { InputError } from '../../core/errors.js'
import { num } from './node.js'
import { host, sizeOf, narrow, type Host } from './value.js'

/** TensorProto.DataType values multav reads. */
export const DTYPE = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16 } as const

const NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(DTYPE).map(([k, v]) => [v, k.toLowerCase()]))
export const dtypeName = (d: number): string => NAMES[d] ?? `data type ${d}`

const BYTES: Readonly<Record<number, number>> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 }
export const isFloat = (d: number): boolean => d === DTYPE.FLOAT || d === DTYPE.FLOAT16 || d === DTYPE.DOUBLE || d === DTYPE.BFLOAT16

const LITTLE_ENDIAN = endianness() === 'LE'

/** More elements than this in one tensor is taken as a corrupt file (2^28 floats = 1 GiB). */
export const MAX_ELEMENTS = 2 ** 28

/** Where external data may be read from: the model's folder, or nowhere (bytes given). */
export interface TensorSource {
  readonly folder: string | undefined
  /** What to call the model in messages. */
  readonly where: string
}

const half = (h: number): number => {
  const s = h & 0x8000 ? -1 : 1
  const e = (h >> 10) & 0x1f
  const f = h & 0x3ff
  if (e === 0) return s * 2 ** -14 * (f / 1024)
  if (e === 31) return f === 0 ? s * Infinity : NaN
  return s * 2 ** (e - 15) * (1 + f / 1024)
}

/** The dims of `t`, checked. */
export const dimsOf = (t: onnx.ITensorProto, what: string, where: string): number[] => {
  const dims = (t.dims ?? []).map(num)
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw new InputError(`${where}: ${what} has dims [${dims.join(', ')}]: each must be a non-negative integer`)
  if (dims.length > 8) throw new InputError(`${where}: ${what} has rank ${dims.length}; multav reads tensors of rank 8 at most`)
  const n = dims.reduce((a, b) => a * b, 1)
  if (n > MAX_ELEMENTS) throw new InputError(`${where}: ${what} claims ${n} elements (dims [${dims.join(', ')}]), more than the ${MAX_ELEMENTS}-element limit (corrupt file?)`)
  return dims
}

/** The bytes of an external-data tensor, read from a file inside the model's folder. */
const externalBytes = (t: onnx.ITensorProto, what: string, src: TensorSource): Uint8Array => {
  const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']))
  const location = entries.get('location') ?? ''
  if (src.folder === undefined)
    throw new InputError(`${src.where}: ${what} is stored in an external file (${JSON.stringify(location)}); load the model from its path, not bytes, to read it`)
  if (location === '' || isAbsolute(location) || location.includes('\0'))
    throw new InputError(`${src.where}: ${what} has external data at ${JSON.stringify(location)}: it must be a relative path inside the model's folder`)
  const folder = realpathSync(src.folder)
  const file = resolve(folder, location)
  const inside = (p: string) => {
    const r = relative(folder, p)
    return r !== '' && !r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r)
  }
  let real: string
  try {
    real = realpathSync(file)
  } catch {
    throw new InputError(`${src.where}: ${what}'s external data file ${JSON.stringify(location)} does not exist`)
  }
  if (!inside(file) || !inside(real))
    throw new InputError(`${src.where}: ${what} has external data at ${JSON.stringify(location)}, outside the model's folder (refused)`)
  const offset = Number(entries.get('offset') ?? '0')
  const size = statSync(real).size
  const length = entries.has('length') ? Number(entries.get('length')) : size - offset
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size)
    throw new InputError(`${src.where}: ${what}'s external data (offset ${entries.get('offset') ?? 0}, length ${entries.get('length') ?? 'rest'}) lies outside ${location} (${size} bytes)`)
  const out = new Uint8Array(length)
  const fd = openSync(real, 'r')
  try {
    readSync(fd, out, 0, length, offset)
  } finally {
    closeSync(fd)
  }
  return out
}

/** The elements of `t` as numbers (floats exact to float32; int64 narrowed). */
const elementsOf = (t: onnx.ITensorProto, n: number, what: string, src: TensorSource): Float32Array | number[] => {
  const d = t.dataType ?? 0
  const itemBytes = BYTES[d]
  if (itemBytes === undefined) throw new InputError(`${src.where}: ${what} has ${dtypeName(d)} elements, which multav does not read`)
  const external = (t.dataLocation ?? 0) === 1
  const raw = external ? externalBytes(t, what, src) : t.rawData && t.rawData.length > 0 ? t.rawData : undefined
  if (raw !== undefined) {
    if (raw.length !== n * itemBytes)
      throw new InputError(`${src.where}: ${what} holds ${raw.length} bytes of ${dtypeName(d)}, expected ${n * itemBytes} for ${n} elements (truncated or corrupt)`)
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
    if (d === DTYPE.FLOAT && LITTLE_ENDIAN) return new Float32Array(Uint8Array.prototype.slice.call(raw).buffer)
    if (d === DTYPE.FLOAT) {
      const out = new Float32Array(n)
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true)
      return out
    }
    const out = d === DTYPE.DOUBLE || d === DTYPE.FLOAT16 || d === DTYPE.BFLOAT16 ? new Float32Array(n) : new Array<number>(n)
    for (let i = 0; i < n; i++) {
      const o = i * itemBytes
      out[i] =
        d === DTYPE.DOUBLE ? view.getFloat64(o, true)
        : d === DTYPE.FLOAT16 ? half(view.getUint16(o, true))
        : d === DTYPE.BFLOAT16 ? new Float32Array(new Uint32Array([view.getUint16(o, true) << 16]).buffer)[0]!
        : d === DTYPE.INT64 ? narrow(Number(view.getBigInt64(o, true)))
        : d === DTYPE.UINT64 ? narrow(Number(view.getBigUint64(o, true)))
        : d === DTYPE.INT32 ? view.getInt32(o, true)
        : d === DTYPE.UINT32 ? view.getUint32(o, true)
        : d === DTYPE.INT16 ? view.getInt16(o, true)
        : d === DTYPE.UINT16 ? view.getUint16(o, true)
        : d === DTYPE.INT8 ? view.getInt8(o)
        : view.getUint8(o) // uint8, bool
    }
    return out
  }
  const field: ReadonlyArray<number> =
    d === DTYPE.FLOAT ? t.floatData ?? []
    : d === DTYPE.DOUBLE ? t.doubleData ?? []
    : d === DTYPE.INT64 ? (t.int64Data ?? []).map((v) => narrow(num(v)))
    : d === DTYPE.UINT32 || d === DTYPE.UINT64 ? (t.uint64Data ?? []).map((v) => narrow(num(v)))
    : d === DTYPE.FLOAT16 ? (t.int32Data ?? []).map(half)
    : d === DTYPE.BFLOAT16 ? (t.int32Data ?? []).map((h) => new Float32Array(new Uint32Array([h << 16]).buffer)[0]!)
    : t.int32Data ?? []
  if (field.length !== n)
    throw new InputError(`${src.where}: ${what} holds ${field.length} ${dtypeName(d)} values, expected ${n} (dims [${(t.dims ?? []).map(num).join(', ')}])`)
  return isFloat(d) ? Float32Array.from(field) : [...field]
}

/**
 * A TensorProto as a value: float types as a float32 tf tensor (the caller keeps or disposes it),
 * the others as a host value. Non-finite floats are allowed (ONNX graphs use -inf pads).
 */
export const valueOf = (t: onnx.ITensorProto, what: string, src: TensorSource): tf.Tensor | Host => {
  const dims = dimsOf(t, what, src.where)
  const n = sizeOf(dims)
  const d = t.dataType ?? 0
  if (d === DTYPE.STRING) throw new InputError(`${src.where}: ${what} is a string tensor, which multav does not read`)
  const data = elementsOf(t, n, what, src)
  if (isFloat(d)) return tf.tensor(data as Float32Array, dims, 'float32')
  return host(data as number[], dims, d === DTYPE.BOOL ? 'bool' : 'int32')
}
