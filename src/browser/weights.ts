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
import { checkEntry, checkFinite, checkSpecs, decodeUtf8, MAX_MANIFEST, oneLine, show, type WeightSpec } from '../models/manifest.js'

export type { WeightSpec } from '../models/manifest.js'

/** The `fetch` to use: the page's by default; a test or an app with its own transport passes another. */
export type Fetch = (url: string) => Promise<Response>

export interface FetchOptions {
  readonly fetch?: Fetch
}

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
  const text = decodeUtf8(bytes, where)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new InputError(`${where}: not valid JSON: ${oneLine((e as Error).message)}`)
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
  checkFinite(data, specs, (byte) => {
    let k = 0
    while (k + 1 < starts.length && starts[k + 1]! <= byte) k++
    return shards[k]!.url
  })
  return tf.io.decodeWeights(data.buffer, specs)
}

