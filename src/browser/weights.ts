/**
 * Loading a model folder's weights over HTTP (the TensorFlow.js weights format `multav train` writes:
 * model.json with a `weightsManifest`, and binary shards), with the checks the Node loader makes
 * (src/models/weights.ts) in the browser's terms: model.json is strict UTF-8 JSON of at most 64 MiB;
 * every weight's name, shape and dtype is checked against the architecture before a shard is fetched;
 * a shard's URL must stay inside the folder's URL (no absolute URL, no `..`, no other origin); the
 * shards must hold exactly the bytes the weights need (a response that runs longer is cut off and
 * refused, never read to its end); no value may be NaN or ±Inf. A wrong, truncated or hostile folder
 * gives one InputError naming the URL or the weight, and no tensor is made before all checks pass.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { InputError, UnavailableError } from '../core/errors.js'

/** What an architecture expects: each weight's shape (float32). */
export type WeightSpec = Readonly<Record<string, ReadonlyArray<number>>>

/** The `fetch` to use: the page's by default; a test or an app with its own transport passes another. */
export type Fetch = (url: string) => Promise<Response>

export interface FetchOptions {
  readonly fetch?: Fetch
}

/** model.json beyond this is taken as a corrupt file rather than read (a manifest lists weights, not values). */
const MAX_MANIFEST = 64 * 1024 * 1024

/** A value from a file, for a message, cut short (a hostile file's field may be huge). */
const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/** A name from a file, for a message: as is when plain, else quoted. */
const nameOf = (name: string): string => (/^[\w.:/-]{1,200}$/.test(name) ? name : JSON.stringify(name.length > 200 ? `${name.slice(0, 197)}...` : name))

const fetcher = (o: FetchOptions): Fetch => {
  if (o.fetch) return o.fetch
  if (typeof globalThis.fetch !== 'function') throw new UnavailableError('loading weights by URL needs fetch (none here): pass { fetch }')
  return (url) => globalThis.fetch(url)
}

/** The folder URL, absolute and ending in `/` (relative URLs resolve against the page). */
export const folderUrl = (url: string): URL => {
  const base = (globalThis as { document?: { baseURI?: string } }).document?.baseURI ?? (globalThis as { location?: { href?: string } }).location?.href
  let resolved: URL
  try {
    resolved = base === undefined ? new URL(url) : new URL(url, base)
  } catch {
    throw new InputError(`${show(url)}: not a URL${base === undefined ? ' (and there is no page to resolve a relative one against: give an absolute URL)' : ''}`)
  }
  if (!resolved.pathname.endsWith('/')) resolved.pathname += '/'
  resolved.search = ''
  resolved.hash = ''
  return resolved
}

/**
 * The bytes of `url`, at most `limit` of them (more is refused as soon as it arrives: the rest is not
 * downloaded); `exact`: the limit is what the weights still need (the message says so).
 */
const fetchBytes = async (get: Fetch, url: string, where: string, limits: { readonly limit: number; readonly exact?: boolean }): Promise<Uint8Array> => {
  const response = await get(url).catch((e: unknown) => {
    throw new InputError(`${where}: cannot fetch (${(e as Error).message})`)
  })
  if (!response.ok) throw new InputError(`${where}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`)
  const declared = Number(response.headers.get('content-length') ?? NaN)
  const tooLong = (size: number) =>
    new InputError(
      limits.exact
        ? `${where}: ${size} bytes or more, but the weights need only ${limits.limit} more (wrong or extra file)`
        : `${where}: ${size} bytes, larger than the ${limits.limit}-byte limit`,
    )
  if (Number.isFinite(declared) && declared > limits.limit) {
    await response.body?.cancel()
    throw tooLong(declared)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  if (response.body) {
    const reader = response.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.length
      if (size > limits.limit) {
        await reader.cancel()
        throw tooLong(size)
      }
      chunks.push(value)
    }
  } else {
    const whole = new Uint8Array(await response.arrayBuffer())
    if (whole.length > limits.limit) throw tooLong(whole.length)
    chunks.push(whole)
    size = whole.length
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const c of chunks) bytes.set(c, (offset += c.length) - c.length)
  return bytes
}

export interface Manifest {
  /** The folder's URL (ending in `/`): shards must lie under it. */
  readonly base: URL
  /** model.json's URL, for messages. */
  readonly where: string
  readonly json: Readonly<Record<string, unknown>>
}

/** Fetches and parses `<folder>/model.json` (strict UTF-8, BOM dropped), naming the URL on any failure. */
export const fetchManifest = async (url: string, o: FetchOptions = {}): Promise<Manifest> => {
  const base = folderUrl(url)
  const where = new URL('model.json', base).href
  const bytes = await fetchBytes(fetcher(o), where, where, { limit: MAX_MANIFEST })
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new InputError(`${where}: not valid UTF-8 text`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new InputError(`${where}: not valid JSON: ${(e as Error).message.replace(/\s+/g, ' ')}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError(`${where}: expected a JSON object, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`)
  return { base, where, json: json as Record<string, unknown> }
}

/** A shard path of the manifest as a URL under the folder's; anything that would leave it is refused. */
const shardUrl = (base: URL, path: string, where: string): string => {
  if (path === '' || path.startsWith('/') || path.startsWith('\\') || /^[a-z][a-z0-9+.-]*:/i.test(path) || path.split(/[\\/]/).some((s) => s === '..' || s.toLowerCase() === '%2e%2e'))
    throw new InputError(`${where}: ${show(path)} must be a relative path inside the model folder`)
  const resolved = new URL(path, base)
  if (resolved.origin !== base.origin || !resolved.pathname.startsWith(base.pathname)) throw new InputError(`${where}: ${show(path)} leads outside the model folder`)
  return resolved.href
}

/** A manifest entry's own fields: a string name, a dtype, an array shape, no quantization. */
const checkEntry = (w: unknown, where: string): tf.io.WeightsManifestEntry => {
  if (typeof w !== 'object' || w === null || Array.isArray(w)) throw new InputError(`${where}: expected {name, shape, dtype}, got ${show(w)}`)
  const { name, shape, dtype } = w as Record<string, unknown>
  if (typeof name !== 'string') throw new InputError(`${where}: name must be a string, got ${show(name)}`)
  if (!Array.isArray(shape)) throw new InputError(`${where}: weight ${nameOf(name)} needs a shape (an array), got ${show(shape)}`)
  if (Object.hasOwn(w, 'quantization')) throw new InputError(`${where}: weight ${nameOf(name)} is quantized; multav reads float32 weights only`)
  return { name, shape: shape as number[], dtype: dtype as tf.io.WeightsManifestEntry['dtype'] }
}

/** Every expected weight once, float32, with its shape; nothing unexpected (names looked up as own keys only). */
const checkSpecs = (specs: ReadonlyArray<tf.io.WeightsManifestEntry>, expected: WeightSpec, where: string): void => {
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

/** One shard: its URL and where the manifest lists it. */
interface Shard {
  readonly url: string
  readonly where: string
}

/**
 * Loads the weights of the folder at `manifest.base`, checked against `expected` (all of them,
 * nothing else, same shapes, float32, finite), as tensors the caller disposes.
 */
export const fetchWeights = async (manifest: Manifest, expected: WeightSpec, o: FetchOptions = {}): Promise<tf.NamedTensorMap> => {
  const { base, where, json } = manifest
  const groups = json['weightsManifest']
  if (!Array.isArray(groups) || groups.length === 0) throw new InputError(`${where}: weightsManifest must be a non-empty array`)
  const specs: tf.io.WeightsManifestEntry[] = []
  const shards: Shard[] = []
  for (const [g, group] of groups.entries()) {
    const { paths, weights } = (typeof group === 'object' && group !== null ? group : {}) as { paths?: unknown; weights?: unknown }
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string') || !Array.isArray(weights))
      throw new InputError(`${where}: weightsManifest[${g}] must have "paths" (strings) and "weights" (an array)`)
    specs.push(...weights.map((w, i) => checkEntry(w, `${where}: weightsManifest[${g}].weights[${i}]`)))
    for (const [k, path] of (paths as string[]).entries()) {
      const at = `${where}: weightsManifest[${g}].paths[${k}]`
      shards.push({ url: shardUrl(base, path, at), where: `${at}: ${show(path)}` })
    }
  }
  checkSpecs(specs, expected, where)
  if (shards.length === 0) throw new InputError(`${where}: weightsManifest lists no shard`)
  const needed = specs.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1) * 4, 0)
  const data = new Uint8Array(needed)
  const starts: number[] = []
  const get = fetcher(o)
  let offset = 0
  for (const s of shards) {
    // a shard may hold at most what is still missing; the last must fill it
    const bytes = await fetchBytes(get, s.url, s.where, { limit: needed - offset, exact: true })
    starts.push(offset)
    data.set(bytes, offset)
    offset += bytes.length
  }
  if (offset !== needed) throw new InputError(`${where}: the shards hold ${offset} bytes but the weights need ${needed} (truncated or wrong files)`)
  checkFinite(data, specs, shards, starts)
  return tf.io.decodeWeights(data.buffer, specs)
}

/** Every weight value finite: NaN or ±Inf is refused, naming the weight and the shard that holds it. */
const checkFinite = (data: Uint8Array, specs: ReadonlyArray<tf.io.WeightsManifestEntry>, shards: ReadonlyArray<Shard>, starts: ReadonlyArray<number>): void => {
  const values = new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4)
  let start = 0
  for (const w of specs) {
    const count = w.shape.reduce((a, b) => a * b, 1)
    for (let i = 0; i < count; i++) {
      const v = values[start + i]!
      if (Number.isFinite(v)) continue
      const byte = (start + i) * 4
      let k = 0
      while (k + 1 < starts.length && starts[k + 1]! <= byte) k++
      throw new InputError(`${shards[k]!.url}: weight ${nameOf(w.name)} holds ${v} at element ${i} (weights must be finite)`)
    }
    start += count
  }
}
