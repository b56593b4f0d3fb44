/**
 * Saving and loading named weights in the TensorFlow.js weights format: a `model.json` whose
 * `weightsManifest` lists binary shards and, per weight, its name, shape and dtype (encoded and decoded
 * with tfjs-core's own `tf.io.encodeWeights` / `tf.io.decodeWeights`).
 *
 * Loading never reads outside the model's folder (no absolute paths, no `..`, no links that lead out),
 * checks every weight's shape and dtype against what the architecture expects, and checks the shards'
 * sizes, all before a single tensor is made: a wrong or truncated folder gives one clear error naming
 * the offending file or tensor, never a half-loaded model.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import writeFileAtomic from 'write-file-atomic'
import { mkdir, readFile, realpath } from 'node:fs/promises'
import { isAbsolute, join, relative, sep } from 'node:path'

/** What an architecture expects: each weight's shape (float32). */
export type WeightSpec = Readonly<Record<string, ReadonlyArray<number>>>

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

/** Loads the weights in `dir`, checked against `expected` (all of them, nothing else, same shapes). */
export const loadWeights = async (dir: string, expected: WeightSpec): Promise<Loaded> => {
  const root = await realpath(dir).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${dir}: cannot open the model folder (${e.code ?? e.message})`)
  })
  const manifestPath = join(root, MANIFEST)
  const text = await readFile(manifestPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${join(dir, MANIFEST)}: cannot read (${e.code ?? e.message})`)
  })
  const where = join(dir, MANIFEST)
  let manifest: unknown
  try {
    manifest = JSON.parse(text)
  } catch (e) {
    throw new Error(`${where}: not valid JSON: ${(e as Error).message}`)
  }
  const groups = (manifest as { weightsManifest?: unknown })?.weightsManifest
  if (!Array.isArray(groups) || groups.length === 0) throw new Error(`${where}: weightsManifest must be a non-empty array`)
  const buffers: Uint8Array[] = []
  const specs: tf.io.WeightsManifestEntry[] = []
  for (const [g, group] of groups.entries()) {
    const { paths, weights } = (group ?? {}) as { paths?: unknown; weights?: unknown }
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string') || !Array.isArray(weights))
      throw new Error(`${where}: weightsManifest[${g}] must have "paths" (strings) and "weights" (an array)`)
    specs.push(...(weights as tf.io.WeightsManifestEntry[]))
    for (const [k, path] of (paths as string[]).entries()) buffers.push(await readShard(root, path, `${where}: weightsManifest[${g}].paths[${k}]`))
  }
  checkSpecs(specs, expected, where)
  const total = buffers.reduce((s, b) => s + b.length, 0)
  const needed = specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * 4, 0)
  if (total !== needed) throw new Error(`${where}: the shards hold ${total} bytes but the weights need ${needed} (truncated or wrong files)`)
  const data = new Uint8Array(total)
  buffers.reduce((offset, b) => (data.set(b, offset), offset + b.length), 0)
  return { weights: tf.io.decodeWeights(data.buffer, specs), config: (manifest as { config?: unknown }).config ?? null }
}

/** Reads one shard, refusing any path that leads outside the model folder. */
const readShard = async (root: string, path: string, where: string): Promise<Uint8Array> => {
  if (path === '' || isAbsolute(path) || path.split(/[\\/]/).includes('..'))
    throw new Error(`${where}: "${path}" must be a relative path inside the model folder`)
  const real = await realpath(join(root, path)).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${where}: cannot read "${path}" (${e.code ?? e.message})`)
  })
  const rel = relative(root, real)
  if (rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) throw new Error(`${where}: "${path}" is a link that leads outside the model folder`)
  return new Uint8Array(await readFile(real))
}

/** Every expected weight once, float32, with its shape; nothing unexpected. */
const checkSpecs = (specs: ReadonlyArray<tf.io.WeightsManifestEntry>, expected: WeightSpec, where: string): void => {
  const seen = new Set<string>()
  for (const w of specs) {
    if (seen.has(w.name)) throw new Error(`${where}: weight ${w.name} is listed twice`)
    seen.add(w.name)
    const shape = expected[w.name]
    if (shape === undefined) throw new Error(`${where}: weight ${w.name} is not part of this architecture`)
    if (w.dtype !== 'float32') throw new Error(`${where}: weight ${w.name} has dtype ${w.dtype}, expected float32`)
    if (!Array.isArray(w.shape) || w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i]))
      throw new Error(`${where}: weight ${w.name} has shape [${w.shape}], expected [${shape.join(', ')}]`)
  }
  const missing = Object.keys(expected).filter((name) => !seen.has(name))
  if (missing.length > 0) throw new Error(`${where}: missing weight${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`)
}
