/**
 * Saving and loading named weights in the TensorFlow.js weights format: a `model.json` whose
 * `weightsManifest` lists binary shards and, per weight, its name, shape and dtype (encoded and decoded
 * with tfjs-core's own `tf.io.encodeWeights` / `tf.io.decodeWeights`).
 *
 * Loading never reads outside the model's folder (no absolute paths, no `..`, no links that lead out),
 * opens only regular files (a FIFO or device among the shards is refused, never waited on), checks every
 * weight's name, shape and dtype against what the architecture expects (names from the file are looked
 * up as own keys only, so `__proto__` or `toString` is just an unknown name), compares the shards' sizes
 * with the manifest before reading them and refuses NaN or ±Inf values, all before a single tensor is
 * made: a wrong, truncated or hostile folder gives one clear error naming the offending file or tensor,
 * never a half-loaded model.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import writeFileAtomic from 'write-file-atomic'
import { constants, type Stats } from 'node:fs'
import { mkdir, open, realpath, stat, type FileHandle } from 'node:fs/promises'
import { isAbsolute, join, relative, sep } from 'node:path'
import { InputError } from '../core/errors.js'
import { checkEntry, checkFinite, checkSpecs, decodeUtf8, MAX_MANIFEST, nameOf, oneLine, show, type WeightSpec } from './manifest.js'

// the checks every loader shares (src/models/manifest.ts), for the modules that import them from here
export { decodeUtf8, nameOf, oneLine, show, type WeightSpec } from './manifest.js'

export interface SaveOptions {
  /** Anything that describes the model (architecture, classes, training command), stored in model.json. */
  readonly config?: unknown
  /** Shard size in bytes (default 4 MiB, as TensorFlow.js does). */
  readonly shardBytes?: number
}

const MANIFEST = 'model.json'

/** Writes `weights` to `dir` (shards first, then model.json, each atomically). */
export const saveWeights = async (dir: string, weights: Readonly<Record<string, tf.Tensor>>, o: SaveOptions = {}): Promise<void> => {
  const { data, specs } = await tf.io.encodeWeights(weights as tf.NamedTensorMap)
  const bytes = Buffer.from(data)
  const shardBytes = o.shardBytes ?? 4 * 1024 * 1024
  const count = Math.max(1, Math.ceil(bytes.length / shardBytes))
  const paths = Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`)
  await mkdir(dir, { recursive: true })
  for (const [i, path] of paths.entries()) await writeFileAtomic(join(dir, path), bytes.subarray(i * shardBytes, (i + 1) * shardBytes))
  const manifest = { format: 'multav-weights', generatedBy: 'multav', config: o.config ?? null, weightsManifest: [{ paths, weights: specs }] }
  await writeFileAtomic(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n')
}

export interface Loaded {
  readonly weights: tf.NamedTensorMap
  readonly config: unknown
}

/** model.json beyond this is taken as a corrupt file rather than read (a manifest lists weights, not values). */

/** A failed file operation's reason: its code (ENOENT, EISDIR, ELOOP, …) or else its message. */
export const reasonOf = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message

/** What a file that is not a regular one is, for messages. */
const kindOf = (s: Stats): string =>
  s.isDirectory() ? 'a directory' : s.isFIFO() ? 'a FIFO' : s.isSocket() ? 'a socket' : s.isCharacterDevice() || s.isBlockDevice() ? 'a device' : 'a special file'

/** A file that is not there (the message names it); callers tell it from other failures by class. */
export class MissingFileError extends InputError {
  override readonly name = 'MissingFileError'
}

/**
 * Opens `path` for reading if it is a regular file, with its size. O_NONBLOCK keeps the open of a FIFO
 * from waiting for a writer (for a regular file it changes nothing); anything else is refused.
 */
export const openRegularFile = async (path: string, where: string = path): Promise<{ handle: FileHandle; size: number }> => {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)).catch((e: unknown) => {
    const message = `${where}: cannot open (${reasonOf(e)})`
    throw reasonOf(e) === 'ENOENT' ? new MissingFileError(message) : new InputError(message)
  })
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) throw new InputError(`${where}: is ${kindOf(stats)}, expected a regular file`)
    return { handle, size: stats.size }
  } catch (e) {
    await handle.close()
    throw e
  }
}

/** Fills `into` from `position` of an open file, failing if the file ends (or shrank) first. */
export const readExactly = async (handle: FileHandle, into: Uint8Array, position: number, where: string): Promise<void> => {
  for (let done = 0; done < into.length; ) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done).catch((e: unknown) => {
      throw new InputError(`${where}: cannot read (${reasonOf(e)})`)
    })
    if (bytesRead === 0) throw new InputError(`${where}: ended after ${position + done} bytes while being read (changed on disk?)`)
    done += bytesRead
  }
}

/** A regular file's bytes, refusing one larger than `maxBytes` or of another size than `size`. */
const readRegularFile = async (path: string, where: string, limits: { readonly maxBytes?: number; readonly size?: number }): Promise<Uint8Array> => {
  const { handle, size } = await openRegularFile(path, where)
  try {
    if (limits.maxBytes !== undefined && size > limits.maxBytes) throw new InputError(`${where}: ${size} bytes, larger than the ${limits.maxBytes}-byte limit`)
    if (limits.size !== undefined && size !== limits.size) throw new InputError(`${where}: ${size} bytes, was ${limits.size} when checked (changed on disk?)`)
    const bytes = new Uint8Array(size)
    await readExactly(handle, bytes, 0, where)
    return bytes
  } finally {
    await handle.close()
  }
}

export interface Manifest {
  /** The model folder with its links resolved (shards must lie inside it). */
  readonly root: string
  /** model.json as the user named it, for messages. */
  readonly where: string
  /** model.json's top-level object. */
  readonly json: Readonly<Record<string, unknown>>
}

/** Reads and parses `dir/model.json` (strict UTF-8, BOM dropped), naming the folder or file on any failure. */
export const readManifest = async (dir: string): Promise<Manifest> => {
  const where = join(dir, MANIFEST)
  const root = await realpath(dir).catch((e: unknown) => {
    const code = reasonOf(e)
    throw new InputError(code === 'ENOENT' ? `${dir}: not a model folder (it does not exist)` : `${dir}: cannot open the model folder (${code})`)
  })
  const folder = await stat(root).catch((e: unknown) => {
    throw new InputError(`${dir}: cannot open the model folder (${reasonOf(e)})`)
  })
  if (!folder.isDirectory()) throw new InputError(`${dir}: not a model folder (${folder.isFile() ? 'a file' : kindOf(folder)}, expected a folder holding model.json)`)
  const bytes = await readRegularFile(join(root, MANIFEST), where, { maxBytes: MAX_MANIFEST }).catch((e: Error) => {
    throw e instanceof MissingFileError ? new InputError(`${dir}: not a model folder (no model.json)`) : e
  })
  let json: unknown
  try {
    json = JSON.parse(decodeUtf8(bytes, where))
  } catch (e) {
    throw e instanceof InputError ? e : new InputError(`${where}: not valid JSON: ${oneLine((e as Error).message)}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError(`${where}: expected a JSON object, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`)
  return { root, where, json: json as Record<string, unknown> }
}

/** One shard as the manifest lists it, with the size it has on disk. */
interface Shard {
  readonly path: string
  readonly real: string
  readonly where: string
  readonly size: number
}

/**
 * Loads the weights in `dir`, checked against `expected` (all of them, nothing else, same shapes, float32,
 * finite). The shards' sizes are compared with the manifest before a byte of them is read.
 */
export const loadWeights = async (dir: string, expected: WeightSpec, manifest?: Manifest): Promise<Loaded> => {
  // a caller that has already read model.json (for its config) passes it: one read, and the weights
  // come from the manifest whose config was checked
  const { root, where, json } = manifest ?? (await readManifest(dir))
  const groups = json['weightsManifest']
  if (!Array.isArray(groups) || groups.length === 0) throw new InputError(`${where}: weightsManifest must be a non-empty array`)
  const specs: tf.io.WeightsManifestEntry[] = []
  const listed: Array<{ path: string; where: string }> = []
  for (const [g, group] of groups.entries()) {
    const { paths, weights } = (typeof group === 'object' && group !== null ? group : {}) as { paths?: unknown; weights?: unknown }
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string') || !Array.isArray(weights))
      throw new InputError(`${where}: weightsManifest[${g}] must have "paths" (strings) and "weights" (an array)`)
    specs.push(...weights.map((w, i) => checkEntry(w, `${where}: weightsManifest[${g}].weights[${i}]`)))
    listed.push(...(paths as string[]).map((path, k) => ({ path, where: `${where}: weightsManifest[${g}].paths[${k}]` })))
  }
  checkSpecs(specs, expected, where)
  const shards: Shard[] = []
  for (const s of listed) shards.push(await statShard(root, s.path, s.where))
  const total = shards.reduce((sum, s) => sum + s.size, 0)
  const needed = specs.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1) * 4, 0)
  if (total !== needed) throw new InputError(`${where}: the shards hold ${total} bytes but the weights need ${needed} (truncated or wrong files)`)
  const data = new Uint8Array(total)
  let offset = 0
  for (const s of shards) {
    data.set(await readRegularFile(s.real, s.where, { size: s.size }), offset)
    offset += s.size
  }
  checkFinite(data, specs, (byte) => join(dir, shardAt(shards, byte).path))
  return { weights: tf.io.decodeWeights(data.buffer, specs), config: json['config'] ?? null }
}

/** A shard's path resolved inside the model folder and its size; anything but a regular file is refused. */
const statShard = async (root: string, path: string, where: string): Promise<Shard> => {
  if (path === '' || isAbsolute(path) || path.split(/[\\/]/).includes('..'))
    throw new InputError(`${where}: ${show(path)} must be a relative path inside the model folder`)
  const real = await realpath(join(root, path)).catch((e: unknown) => {
    throw new InputError(`${where}: cannot read ${show(path)} (${reasonOf(e)})`)
  })
  const rel = relative(root, real)
  if (rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) throw new InputError(`${where}: ${show(path)} is a link that leads outside the model folder`)
  const { handle, size } = await openRegularFile(real, `${where}: ${show(path)}`)
  await handle.close()
  return { path, real, where: `${where}: ${show(path)}`, size }
}

/** The shard that holds byte `offset` of the concatenated data. */
const shardAt = (shards: ReadonlyArray<Shard>, offset: number): Shard => {
  let end = 0
  for (const s of shards) if (offset < (end += s.size)) return s
  return shards[shards.length - 1]!
}
