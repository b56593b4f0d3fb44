/**
 * A reader for the safetensors format (what PyTorch's `safetensors.torch.save_file` writes):
 * 8 bytes little-endian header length n, n bytes of JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {…} }`, then the data buffer
 * (offsets relative to its start, row-major, little-endian). Every check happens before any value is
 * returned: a wrong or truncated file gives one clear error, never half the tensors.
 *
 * @since 0.1.0
 */
import { decodeUtf8, nameOf, oneLine, openRegularFile, readExactly, show } from './weights.js'
import { InputError } from '../core/errors.js'

/** A tensor read from a safetensors file, converted to float32. */
export interface RawTensor {
  readonly shape: ReadonlyArray<number>
  /** The file's dtype (F32, F16, BF16 or F64 for floats; the values are converted to float32). */
  readonly dtype: string
  readonly data: Float32Array
}

/** Bytes per value of the dtypes multav reads (a Map: a dtype from the file is never a prototype key). */
const BYTES: ReadonlyMap<string, number> = new Map([['F64', 8], ['F32', 4], ['F16', 2], ['BF16', 2]])

/** Headers beyond this are taken as a corrupt file rather than read (100 MB, safetensors' own cap). */
const MAX_HEADER = 100_000_000

/**
 * Reads every tensor of a safetensors file; rejects with `file: what is wrong` otherwise. Only a regular
 * file is opened (a FIFO or device is refused, never waited on); the header must be strict UTF-8 JSON.
 */
export const readSafetensors = async (file: string): Promise<ReadonlyMap<string, RawTensor>> => {
  const { handle, size } = await openRegularFile(file)
  try {
    const fail = (message: string) => new InputError(`${file}: ${message}`)
    if (size < 8) throw fail(`not a safetensors file: ${size} bytes, shorter than its 8-byte header length`)
    const prefix = Buffer.alloc(8)
    await readExactly(handle, prefix, 0, file)
    const claimed = prefix.readBigUInt64LE(0)
    if (claimed > BigInt(MAX_HEADER)) throw fail(`header of ${claimed} bytes is larger than the ${MAX_HEADER}-byte limit (corrupt or not safetensors)`)
    const headerLength = Number(claimed)
    if (8 + headerLength > size) throw fail(`header of ${headerLength} bytes does not fit the file's ${size} bytes (truncated or not safetensors)`)
    const headerBytes = Buffer.alloc(headerLength)
    await readExactly(handle, headerBytes, 8, file)
    const header = parseHeader(decodeUtf8(headerBytes, `${file}: header`), fail)
    const dataStart = 8 + headerLength
    const dataSize = size - dataStart
    // PyTorch's batch-norm step counters (`…num_batches_tracked`, I64 as safetensors.torch saves
    // them) are not weights: skipped, as the loaders ignore them in any dtype
    const entries = Object.entries(header).filter(([name, spec]) => name !== '__metadata__' && !isStepCounter(name, spec))
    const specs = entries.map(([name, spec]) => checkSpec(name, spec, dataSize, fail))
    checkNoOverlap(specs, fail)
    const data = Buffer.alloc(dataSize)
    await readExactly(handle, data, dataStart, file)
    return new Map(specs.map((s) => [s.name, { shape: s.shape, dtype: s.dtype, data: toFloat32(data.subarray(s.begin, s.end), s.dtype) }]))
  } finally {
    await handle.close()
  }
}

/** The header's JSON object. */
const parseHeader = (text: string, fail: (m: string) => Error): Record<string, unknown> => {
  let header: unknown
  try {
    header = JSON.parse(text)
  } catch (e) {
    throw fail(`header is not valid JSON: ${oneLine((e as Error).message)}`)
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('header is not a JSON object')
  return header as Record<string, unknown>
}

/**
 * The data ranges must not overlap. An empty tensor (begin = end) holds no bytes and may sit at any
 * offset, a neighbour's included (PyTorch writes them so).
 */
const checkNoOverlap = (specs: ReadonlyArray<Spec>, fail: (m: string) => Error): void => {
  const sorted = specs.filter((s) => s.end > s.begin).sort((a, b) => a.begin - b.begin)
  sorted.forEach((s, i) => {
    const next = sorted[i + 1]
    if (next && next.begin < s.end) throw fail(`tensors ${nameOf(s.name)} and ${nameOf(next.name)} overlap in the data buffer`)
  })
}

interface Spec {
  readonly name: string
  readonly dtype: string
  readonly shape: ReadonlyArray<number>
  readonly begin: number
  readonly end: number
}

/** A batch norm's step counter in an integer dtype (`bn1.num_batches_tracked`: I64 []). */
const isStepCounter = (name: string, spec: unknown): boolean =>
  name.endsWith('num_batches_tracked') && typeof spec === 'object' && spec !== null && ['I64', 'I32'].includes(String((spec as { dtype?: unknown }).dtype))

const checkSpec = (key: string, spec: unknown, dataSize: number, fail: (m: string) => Error): Spec => {
  const name = nameOf(key)
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw fail(`${name}: expected {dtype, shape, data_offsets}, got ${show(spec)}`)
  const own = (key: string): unknown => (Object.hasOwn(spec, key) ? (spec as Record<string, unknown>)[key] : undefined)
  const [dtype, shape, offsets] = [own('dtype'), own('shape'), own('data_offsets')]
  const width = typeof dtype === 'string' ? BYTES.get(dtype) : undefined
  if (width === undefined) throw fail(`${name}: dtype ${show(dtype)} is not a float type multav reads (${[...BYTES.keys()].join(', ')})`)
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw fail(`${name}: shape must be an array of integers ≥ 0, got ${show(shape)}`)
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1])
    throw fail(`${name}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${show(offsets)}`)
  const [begin, end] = offsets as [number, number]
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * width
  if (end - begin !== expected) throw fail(`${name}: ${dtype} ${show(shape)} needs ${expected} bytes, its offsets span ${end - begin}`)
  if (end > dataSize) throw fail(`${name}: data ends at byte ${end} of a ${dataSize}-byte data buffer (truncated file)`)
  return { name: key, dtype: dtype as string, shape: shape as number[], begin, end }
}

/** Little-endian floats of `dtype` as float32. */
const toFloat32 = (bytes: Buffer, dtype: string): Float32Array => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n = bytes.byteLength / BYTES.get(dtype)!
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++)
    out[i] =
      dtype === 'F32'
        ? view.getFloat32(4 * i, true)
        : dtype === 'F64'
          ? view.getFloat64(8 * i, true)
          : dtype === 'BF16'
            ? bf16(view.getUint16(2 * i, true))
            : f16(view.getUint16(2 * i, true))
  return out
}

/** bfloat16: the top 16 bits of a float32. */
const bf16 = (bits: number): number => new Float32Array(new Uint32Array([bits << 16]).buffer)[0]!

/** IEEE half precision. */
const f16 = (bits: number): number => {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const fraction = bits & 0x3ff
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024)
  if (exponent === 31) return fraction ? Number.NaN : sign * Infinity
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024)
}
