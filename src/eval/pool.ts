/**
 * A pool of evaluation worker threads (`runTask`, one wasm thread each), started at its first task.
 * An `eval` run shares one between its table and its budget curve, so that each thread keeps the
 * backend, model and clips it set up for the table (task.ts's cache).
 *
 * @since 0.3.0
 */
import { Piscina } from 'piscina'
import type { ChunkResult } from './chunk.js'
import type { ChunkTask } from './task.js'
import { workerFile } from './worker-file.js'

export interface EvalPool {
  /** Runs the task in a pool thread (the threads start with the first task). */
  readonly run: (task: ChunkTask) => Promise<ChunkResult>
  /** Ends the threads (a later task starts them again). */
  readonly destroy: () => Promise<void>
}

/** A pool of `threads` worker threads, started at its first task. */
export const evalPool = (threads: number): EvalPool => {
  let pool: Piscina<ChunkTask, ChunkResult> | undefined
  return {
    run: (task) => (pool ??= new Piscina<ChunkTask, ChunkResult>({ filename: workerFile('worker', 'eval-worker'), minThreads: threads, maxThreads: threads })).run(task),
    destroy: async () => {
      const p = pool
      pool = undefined
      await p?.destroy()
    },
  }
}

/**
 * `f` on each item in order, `lanes` at a time: each lane takes the next item until none is left or
 * `signal` is aborted (items in flight finish).
 */
export const inLanes = async <T>(items: ReadonlyArray<T>, lanes: number, f: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> => {
  let next = 0
  const lane = async () => {
    while (next < items.length && !signal?.aborted) await f(items[next++]!)
  }
  await Promise.all(Array.from({ length: lanes }, lane))
}
