/**
 * A robustness evaluation run: the chunks of this shard, spread over a pool of worker threads (each
 * with its own TensorFlow.js backend and wasm heap), rows appended per chunk, resumable, stoppable
 * between chunks, with progress and pictures. Results do not depend on the number of workers or
 * shards: a chunk's rows depend only on the plan (see chunk.ts).
 *
 * @since 0.1.0
 */
import { Piscina } from 'piscina'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { workerFile } from './worker-file.js'
import type { BackendChoice } from '../interpreters/backend.js'
import type { ChunkResult, Row } from './chunk.js'
import type { DataRef } from './data.js'
import { writeSheet } from './pictures.js'
import { appendRows, chunkIds, openRun, shardChunks, writeResults, type RunPlan, type Summary } from './results.js'
import { runTask, type ChunkTask } from './task.js'

export interface EvalProgress {
  readonly chunksDone: number
  readonly chunks: number
  readonly clipsDone: number
  readonly clips: number
  /** Clean accuracy and mean accuracy under attack over the rows so far. */
  readonly cleanAccuracy: number
  readonly attackedAccuracy: number
  readonly etaSeconds: number
}

export interface EvalOptions {
  readonly plan: RunPlan & { readonly data: DataRef }
  readonly backend: BackendChoice
  readonly out: string
  readonly resume: boolean
  /** Worker threads (1 runs in this thread). */
  readonly workers: number
  /** Pictures of this many clips (the first ones of the shard; default 1; 0 for none). */
  readonly pictureClips?: number
  /** Stops scheduling chunks when aborted; chunks in flight finish and are saved. */
  readonly signal?: AbortSignal
  readonly onProgress?: (p: EvalProgress) => void
  /** Extra fields for results.json's meta. */
  readonly meta?: Record<string, unknown>
}

export interface EvalOutcome {
  /** False when stopped before every chunk of the shard was done. */
  readonly complete: boolean
  readonly rows: ReadonlyArray<Row>
  readonly summary?: Summary
  readonly pictures: ReadonlyArray<string>
  readonly chunksRun: number
  readonly seconds: number
}


export const runEval = async (o: EvalOptions): Promise<EvalOutcome> => {
  const started = Date.now()
  const { plan } = o
  if (!(Number.isInteger(o.workers) && o.workers >= 1)) throw new Error(`workers must be an integer ≥ 1, got ${o.workers}`)
  const { done, rows: previous } = await openRun(o.out, plan, o.resume)
  const chunks = shardChunks(plan)
  const todo = chunks.filter((c) => !done.has(c))
  const pictureIds = new Set(chunks.flatMap((c) => chunkIds(plan, c)).slice(0, o.pictureClips ?? 1))
  const rows: Row[] = [...previous]
  const pictures: string[] = []
  const clipsTotal = chunks.reduce((s, c) => s + chunkIds(plan, c).length, 0)
  const pool =
    o.workers > 1 && todo.length > 1
      ? new Piscina<ChunkTask, ChunkResult>({ filename: workerFile('worker', 'eval-worker'), minThreads: Math.min(o.workers, todo.length), maxThreads: Math.min(o.workers, todo.length) })
      : undefined
  const run = (task: ChunkTask) => (pool ? pool.run(task) : runTask(task))
  let chunksRun = 0
  let backend: string | undefined
  const onResult = async (r: ChunkResult) => {
    backend ??= r.backend
    await appendRows(o.out, r.rows)
    rows.push(...r.rows)
    chunksRun++
    for (const k of r.kept) {
      await mkdir(join(o.out, 'pictures'), { recursive: true })
      const file = join(o.out, 'pictures', `${safeName(k.attack)}-clip${k.clip}.png`)
      await writeSheet(file, k)
      pictures.push(file)
    }
    if (o.onProgress) {
      const clipsDone = new Set(rows.map((row) => row.clip)).size
      const elapsed = (Date.now() - started) / 1000
      const attacked = rows.filter((row) => row.attack !== 'clean' || plan.attackNames.length === 0)
      o.onProgress({
        chunksDone: chunks.length - todo.length + chunksRun,
        chunks: chunks.length,
        clipsDone,
        clips: clipsTotal,
        cleanAccuracy: fraction(rows, (row) => row.clean === row.label),
        attackedAccuracy: fraction(attacked, (row) => row.adversarial === row.label),
        etaSeconds: (elapsed / chunksRun) * (todo.length - chunksRun),
      })
    }
  }
  try {
    // `workers` lanes, each taking the next chunk until none is left or the run is stopped; a chunk's
    // rows are saved as soon as it finishes, whatever the order.
    let next = 0
    const lane = async () => {
      while (next < todo.length && !o.signal?.aborted) {
        const c = todo[next++]!
        const ids = chunkIds(plan, c)
        const task: ChunkTask = { backend: o.backend, model: plan.model, data: plan.data, attacks: plan.attacks, chunk: c, ids, keep: ids.filter((i) => pictureIds.has(i)) }
        await onResult(await run(task))
      }
    }
    await Promise.all(Array.from({ length: pool ? Math.min(o.workers, todo.length) : 1 }, lane))
  } finally {
    await pool?.destroy()
  }
  const complete = rows.length === clipsTotal * Math.max(1, plan.attackNames.length)
  const seconds = (Date.now() - started) / 1000
  const summary = complete
    ? await writeResults(o.out, plan, rows, { ...o.meta, backend: backend ?? o.backend, workers: o.workers, seconds })
    : undefined
  return { complete, rows, ...(summary ? { summary } : {}), pictures, chunksRun, seconds }
}

const fraction = <A>(xs: ReadonlyArray<A>, p: (a: A) => boolean): number => (xs.length === 0 ? Number.NaN : xs.filter(p).length / xs.length)

/** An attack name as a file name. */
export const safeName = (name: string): string => name.replace(/[^A-Za-z0-9._-]+/g, '_')
