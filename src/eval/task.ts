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
import { initBackend, type BackendChoice } from '../backend/backend.js'
import type { LoadedModel } from '../models/folder/load.js'
import { resolveModel } from '../models/pretrained.js'
import { wasmThreads } from '../backend/wasm-threads.js'
import { evaluateChunk, failedRows, type ChunkResult, type Row } from './chunk.js'
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
const cache: { backend?: string; model?: { ref: string; model: LoadedModel }; data?: { key: string; set: Dataset } } = {}

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
  const { clips, failed } = await set.loadReadable(task.ids)
  const labels = task.ids.map((i) => set.labels[i]!)
  const keep = new Set(task.keep.filter((i) => !failed.has(i)))
  // unreadable clips were left black in their places (the others' results do not move); their rows say why
  const result =
    failed.size === task.ids.length
      ? { index: task.chunk, rows: [], kept: [] }
      : await evaluateChunk(cache.model.model.model, attacks, { index: task.chunk, ids: task.ids, labels, clips }, (c) => keep.has(c))
  const threads = cache.backend === 'wasm' ? wasmThreads() : undefined
  return { ...result, rows: withFailures(result.rows, task, labels, attacks.map((a) => a.name), failed), backend: cache.backend, ...(threads !== undefined ? { threads } : {}) }
}

/** The chunk's rows with each unreadable clip's rows replaced by failed rows, in the chunk's order (attack, then clip). */
const withFailures = (rows: ReadonlyArray<Row>, task: ChunkTask, labels: ReadonlyArray<number>, names: ReadonlyArray<string>, failed: ReadonlyMap<number, string>): ReadonlyArray<Row> => {
  if (failed.size === 0) return rows
  const failedRowsOf = new Map([...failed].map(([id, error]) => [id, failedRows(id, labels[task.ids.indexOf(id)]!, names, error)]))
  const byKey = new Map(rows.map((r) => [`${r.attack}\u0000${r.clip}`, r]))
  return (names.length > 0 ? names : ['clean']).flatMap((attack, a) =>
    task.ids.map((clip) => failedRowsOf.get(clip)?.[a] ?? byKey.get(`${attack}\u0000${clip}`)!),
  )
}
