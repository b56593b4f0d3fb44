/**
 * One chunk as a self-contained task: everything a worker thread needs to evaluate it (backend, model
 * reference, data reference, attack specs as JSON, the chunk's clip indices). The same function runs
 * in-process (one worker) and in each pool thread, which keeps its backend, model and data between
 * tasks.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { decodeAttack } from '../dsl/codec.js'
import { initBackend, type BackendChoice } from '../interpreters/backend.js'
import { resolveModel, type Pretrained } from '../models/pretrained.js'
import { evaluateChunk, type ChunkResult } from './chunk.js'
import { openDataset, type DataRef, type Dataset } from './data.js'

export interface ChunkTask {
  readonly backend: BackendChoice
  readonly model: string
  readonly data: DataRef
  /** Attack specs (`encodeAttack`), in table order. */
  readonly attacks: ReadonlyArray<unknown>
  readonly chunk: number
  readonly ids: ReadonlyArray<number>
  /** Clip indices whose clean and adversarial clips come back for pictures. */
  readonly keep: ReadonlyArray<number>
}

/** What this thread has set up: one backend, the last model and dataset used. */
const cache: { backend?: string; model?: { ref: string; model: Pretrained }; data?: { key: string; set: Dataset } } = {}

export const runTask = async (task: ChunkTask): Promise<ChunkResult> => {
  cache.backend ??= await initBackend(task.backend)
  if (cache.model?.ref !== task.model) {
    cache.model?.model.dispose()
    cache.model = { ref: task.model, model: await resolveModel(task.model) }
  }
  const key = JSON.stringify(task.data)
  if (cache.data?.key !== key) cache.data = { key, set: openDataset(task.data) }
  const attacks = task.attacks.map((spec, k) => {
    const decoded = decodeAttack(spec)
    if (E.isLeft(decoded)) throw new Error(`attack ${k}: ${decoded.left.join('; ')}`)
    return decoded.right
  })
  const set = cache.data.set
  const clips = await set.load(task.ids)
  const keep = new Set(task.keep)
  const result = await evaluateChunk(cache.model.model.model, attacks, { index: task.chunk, ids: task.ids, labels: task.ids.map((i) => set.labels[i]!), clips }, (c) => keep.has(c))
  return { ...result, backend: cache.backend }
}
