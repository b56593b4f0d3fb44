/**
 * The checks on a model folder's model.json (the TensorFlow.js weights format `multav train` writes)
 * that do not depend on where the folder is: its entries, the weights an architecture expects, and
 * finite values. Shared by the file loader (weights.ts) and the URL loader (src/browser/weights.ts);
 * no Node built-in here.
 */
import type * as tf from '@tensorflow/tfjs-core'
import { InputError } from '../core/errors.js'

/** What an architecture expects: each weight's shape (float32). */
export type WeightSpec = Readonly<Record<string, ReadonlyArray<number>>>

/** model.json beyond this is taken as a corrupt file rather than read (a manifest lists weights, not values). */
export const MAX_MANIFEST = 64 * 1024 * 1024

/** A name from a file, for a message: as is when plain, else quoted (an empty name or a newline stays visible). */
export const nameOf = (name: string): string => (/^[\w.:/-]{1,200}$/.test(name) ? name : JSON.stringify(name.length > 200 ? `${name.slice(0, 197)}...` : name))

/** A value from a file, for a message, cut short (a hostile file's field may be huge). */
export const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/** A parser's message on one line (V8 quotes the offending text, newlines included). */
export const oneLine = (message: string): string => message.replace(/\s+/g, ' ')

/** Strict UTF-8 (a BOM is dropped, as TextDecoder does by default; invalid bytes are an error). */
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Decodes strict UTF-8, failing with `where: not valid UTF-8 text`. */
export const decodeUtf8 = (bytes: Uint8Array, where: string): string => {
  try {
    return utf8.decode(bytes)
  } catch {
    throw new InputError(`${where}: not valid UTF-8 text`)
  }
}

/** A manifest entry's own fields: a string name, a dtype, an array shape, no quantization. */
export const checkEntry = (w: unknown, where: string): tf.io.WeightsManifestEntry => {
  if (typeof w !== 'object' || w === null || Array.isArray(w)) throw new InputError(`${where}: expected {name, shape, dtype}, got ${show(w)}`)
  const { name, shape, dtype } = w as Record<string, unknown>
  if (typeof name !== 'string') throw new InputError(`${where}: name must be a string, got ${show(name)}`)
  if (!Array.isArray(shape)) throw new InputError(`${where}: weight ${nameOf(name)} needs a shape (an array), got ${show(shape)}`)
  if (Object.hasOwn(w, 'quantization')) throw new InputError(`${where}: weight ${nameOf(name)} is quantized; multav reads float32 weights only`)
  return { name, shape: shape as number[], dtype: dtype as tf.io.WeightsManifestEntry['dtype'] }
}

/** Every expected weight once, float32, with its shape; nothing unexpected (names looked up as own keys only). */
export const checkSpecs = (specs: ReadonlyArray<tf.io.WeightsManifestEntry>, expected: WeightSpec, where: string): void => {
  const shapes = new Map(Object.entries(expected))
  const seen = new Set<string>()
  for (const w of specs) {
    if (seen.has(w.name)) throw new InputError(`${where}: weight ${nameOf(w.name)} is listed twice`)
    seen.add(w.name)
    const shape = shapes.get(w.name)
    if (shape === undefined) throw new InputError(`${where}: weight ${nameOf(w.name)} is not part of this architecture`)
    if (w.dtype !== 'float32') throw new InputError(`${where}: weight ${nameOf(w.name)} has dtype ${show(w.dtype)}, expected float32`)
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i]))
      throw new InputError(`${where}: weight ${nameOf(w.name)} has shape ${show(w.shape)}, expected [${shape.join(', ')}]`)
  }
  const missing = [...shapes.keys()].filter((name) => !seen.has(name))
  if (missing.length > 0) throw new InputError(`${where}: missing weight${missing.length > 1 ? 's' : ''} ${missing.map(nameOf).join(', ')}`)
}

/**
 * Every weight value finite: NaN or ±Inf is refused, naming the weight and the shard that holds it.
 * `shardOf(byte)` names the shard holding that byte of the concatenated data (a path or a URL).
 */
export const checkFinite = (data: Uint8Array, specs: ReadonlyArray<tf.io.WeightsManifestEntry>, shardOf: (byte: number) => string): void => {
  const values = new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4)
  let start = 0
  for (const w of specs) {
    const count = w.shape.reduce((a, b) => a * b, 1)
    for (let i = 0; i < count; i++) {
      const v = values[start + i]!
      if (!Number.isFinite(v)) throw new InputError(`${shardOf((start + i) * 4)}: weight ${nameOf(w.name)} holds ${v} at element ${i} (weights must be finite)`)
    }
    start += count
  }
}
