/**
 * A robustness evaluation run: the chunks of this shard, spread over a pool of worker threads (each
 * with its own TensorFlow.js backend and wasm heap), rows appended per chunk, resumable, stoppable
 * between chunks, with progress and pictures. Results do not depend on the number of workers or
 * shards: a chunk's rows depend only on the plan (see chunk.ts).
 *
 * @since 0.1.0
 */
import { evalPool, inLanes, type EvalPool } from './pool.js'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { resolveThreads, type BackendChoice } from '../backend/backend.js'
import { wasmThreads } from '../backend/wasm-threads.js'
import type { ChunkResult, Kept, Row } from './chunk.js'
import type { DataRef } from './data.js'
import * as E from 'fp-ts/lib/Either.js'
import writeFileAtomic from 'write-file-atomic'
import { decodeAttack } from '../dsl/codec.js'
import { explain } from '../interpreters/pretty.js'
import { labelledSheet, sheetRow, TWIN_PAIRS, type SheetLabels } from './labelled.js'
import { svgToPng } from './svg-png.js'
import { writeSheet, type Sheet } from './pictures.js'
import { InputError } from '../core/errors.js'
import { acquireLock } from './lock.js'
import { appendRows, checkPlan, chunkIds, makeFolder, openRun, provenance, rowAttacks, shardChunks, writeResults, type RunPlan, type Summary } from './results.js'
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
  /** The worker pool to use when `workers` > 1 (the caller ends it); default: one of this run's own. */
  readonly pool?: EvalPool
  /** Pictures of this many clips (the first ones of the shard; default 1; 0 for none). */
  readonly pictureClips?: number
  /** Stops scheduling chunks when aborted; chunks in flight finish and are saved. */
  readonly signal?: AbortSignal
  readonly onProgress?: (p: EvalProgress) => void
  /**
   * Extra fields for results.json's meta (e.g. `command`, and `argv`, which defaults to this process's
   * arguments). runEval adds the multav, tfjs-core and Node versions, the platform, the backend, its
   * wasm threads, the workers and the run's seconds.
   */
  readonly meta?: Record<string, unknown>
  /** Told one line per clip that could not be read (it is skipped and recorded as failed rows). */
  readonly onWarning?: (line: string) => void
  /**
   * A clip that cannot be read: 'skip' (default) records it as failed rows with its error, left out of
   * every figure; 'stop' ends the run with an InputError naming it, before its chunk's rows are saved
   * (so that --resume, once it is fixed, redoes that chunk).
   */
  readonly onUnreadable?: 'skip' | 'stop'
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


/**
 * Runs (or resumes) the evaluation in `o.out`, holding the folder's lock throughout: a second run on
 * the same folder is refused with a RunFolderError naming the first.
 */
export const runEval = async (o: EvalOptions): Promise<EvalOutcome> => {
  if (!(Number.isInteger(o.workers) && o.workers >= 1)) throw new Error(`workers must be an integer ≥ 1, got ${o.workers}`)
  checkPlan(o.plan)
  await makeFolder(o.out)
  const lock = await acquireLock(o.out)
  try {
    return await evaluate(o)
  } finally {
    await lock.release()
  }
}

const evaluate = async (o: EvalOptions): Promise<EvalOutcome> => {
  const started = Date.now()
  const { plan } = o
  const { done, rows: previous } = await openRun(o.out, plan, o.resume)
  const chunks = shardChunks(plan)
  const todo = chunks.filter((c) => !done.has(c))
  const pictureIds = new Set(chunks.flatMap((c) => chunkIds(plan, c)).slice(0, o.pictureClips ?? 1))
  const pictureFile = pictureNames(plan.attackNames)
  const formulas = formulasOf(plan)
  const rows: Row[] = [...previous]
  const pictures: string[] = []
  const clipsTotal = chunks.reduce((s, c) => s + chunkIds(plan, c).length, 0)
  const pooled = o.workers > 1 && todo.length > 1
  const own = pooled && o.pool === undefined ? evalPool(Math.min(o.workers, todo.length)) : undefined
  const pool = pooled ? (o.pool ?? own) : undefined
  const run = (task: ChunkTask) => (pool ? pool.run(task) : runTask(task))
  let chunksRun = 0
  let backend: string | undefined
  let threads: number | undefined
  // one append at a time: two lanes finishing together must not interleave their writes
  let appended: Promise<void> = Promise.resolve()
  const append = (r: ReadonlyArray<Row>) => (appended = appended.then(() => appendRows(o.out, r)))
  const onResult = async (r: ChunkResult) => {
    const unreadable = r.rows.find((row) => row.error !== undefined)
    if (unreadable !== undefined && o.onUnreadable === 'stop')
      throw new InputError(`clip ${unreadable.clip} cannot be read: ${unreadable.error} (--on-error stop; the rows of the chunks before it are saved: fix it and continue with --resume, or pass --on-error skip)`)
    backend ??= r.backend
    threads ??= r.threads
    await append(r.rows)
    rows.push(...r.rows)
    chunksRun++
    for (const row of r.rows) if (row.error !== undefined && row.attack === rowAttacks(plan)[0]) o.onWarning?.(`skipped clip ${row.clip}: ${row.error} (recorded as unreadable, not counted)`)
    pictures.push(...(await drawPictures(o.out, r, pictureFile, formulas)))
    if (o.onProgress) {
      const measured = rows.filter((row) => row.error === undefined)
      const clipsDone = new Set(rows.map((row) => row.clip)).size
      const elapsed = (Date.now() - started) / 1000
      const attacked = measured.filter((row) => row.attack !== 'clean' || plan.attackNames.length === 0)
      o.onProgress({
        chunksDone: chunks.length - todo.length + chunksRun,
        chunks: chunks.length,
        clipsDone,
        clips: clipsTotal,
        cleanAccuracy: fraction(measured, (row) => row.clean === row.label),
        attackedAccuracy: fraction(attacked, (row) => row.adversarial === row.label),
        etaSeconds: (elapsed / chunksRun) * (todo.length - chunksRun),
      })
    }
  }
  try {
    // `workers` lanes, each taking the next chunk until none is left or the run is stopped; a chunk's
    // rows are saved as soon as it finishes, whatever the order.
    await inLanes(
      todo,
      pool ? Math.min(o.workers, todo.length) : 1,
      async (c) => {
        const ids = chunkIds(plan, c)
        const task: ChunkTask = { backend: o.backend, model: plan.model, data: plan.data, attacks: plan.attacks, chunk: c, ids, keep: ids.filter((i) => pictureIds.has(i)) }
        await onResult(await run(task))
      },
      o.signal,
    )
  } finally {
    await own?.destroy()
  }
  const complete = rows.length === clipsTotal * rowAttacks(plan).length
  const seconds = (Date.now() - started) / 1000
  const used = backend ?? o.backend
  const meta = { ...provenance(), ...o.meta, backend: used, wasmThreads: used === 'wasm' ? (threads ?? threadsOf(pool !== undefined)) : null, workers: o.workers, seconds }
  const summary = complete ? await writeResults(o.out, plan, rows, meta) : undefined
  return { complete, rows, ...(summary ? { summary } : {}), pictures, chunksRun, seconds }
}

/**
 * The wasm backend's threads: this thread's when the chunks ran here; a pool thread's (MULTAV_THREADS,
 * else 1: initBackend's default off the main thread) when they ran in a pool.
 */
const threadsOf = (pooled: boolean): number => (pooled ? (process.env['MULTAV_THREADS'] ? resolveThreads() : 1) : wasmThreads())

const fraction = <A>(xs: ReadonlyArray<A>, p: (a: A) => boolean): number => (xs.length === 0 ? Number.NaN : xs.filter(p).length / xs.length)

/** An attack name as a file name. */
export const safeName = (name: string): string => name.replace(/[^A-Za-z0-9._-]+/g, '_')

/**
 * Picture file names for a run's attacks, distinct even where two names map to one safe name
 * (`my attack`, `my_attack`) or differ only in case (one file on macOS and Windows): those get the
 * attack's place in the plan as a suffix (`my_attack-a0`, `my_attack-a1`).
 */
export const pictureNames = (attackNames: ReadonlyArray<string>): ((attack: string) => string) => {
  const key = (name: string) => safeName(name).toLowerCase()
  const uses = new Map<string, number>()
  for (const n of attackNames) uses.set(key(n), (uses.get(key(n)) ?? 0) + 1)
  return (attack) => {
    const k = attackNames.indexOf(attack)
    return (uses.get(key(attack)) ?? 0) > 1 ? `${safeName(attack)}-a${k}` : safeName(attack)
  }
}

/** Each attack's formula (the first line of `explain`), by name, for the pictures' titles. */
const formulasOf = (plan: Pick<RunPlan, 'attacks' | 'attackNames'>): ReadonlyMap<string, string> =>
  new Map(
    plan.attackNames.flatMap((name, k) => {
      const decoded = decodeAttack(plan.attacks[k])
      return E.isRight(decoded) ? [[name, explain(decoded.right).split('\n')[0]!] as const] : []
    }),
  )

/**
 * A chunk's pictures: for each kept clip and attack the PNG sheet and its labelled SVG (title,
 * formula, column titles, frame numbers, classes); and for each additive/multiplicative pair of the
 * run's attacks (add-linf and mult-linf, …, by the name before any override) both side by side on the
 * same clip (SVG, and PNG where svg-png.ts can render it). Returns the files written.
 */
const drawPictures = async (out: string, r: ChunkResult, fileOf: (attack: string) => string, formulas: ReadonlyMap<string, string>): Promise<string[]> => {
  if (r.kept.length === 0) return []
  await mkdir(join(out, 'pictures'), { recursive: true })
  const written: string[] = []
  const drawn: Array<{ readonly kept: Kept; readonly sheet: Sheet; readonly labels: SheetLabels }> = []
  for (const k of r.kept) {
    const base = join(out, 'pictures', `${fileOf(k.attack)}-clip${k.clip}`)
    const sheet = await writeSheet(`${base}.png`, k)
    const row = r.rows.find((x) => x.clip === k.clip && x.attack === k.attack)
    const formula = formulas.get(k.attack)
    const labels: SheetLabels = {
      attack: k.attack,
      ...(formula === undefined ? {} : { formula }),
      ...(row === undefined ? {} : { label: row.label, cleanPrediction: row.clean, adversarialPrediction: row.adversarial }),
    }
    await writeFileAtomic(`${base}.svg`, labelledSheet(sheet, labels))
    written.push(`${base}.png`, `${base}.svg`)
    drawn.push({ kept: k, sheet, labels })
  }
  const family = (name: string) => name.split(' ')[0]!
  for (const [additive, multiplicative] of TWIN_PAIRS)
    for (const a of drawn.filter((d) => family(d.kept.attack) === additive)) {
      const m = drawn.find((d) => d.kept.clip === a.kept.clip && family(d.kept.attack) === multiplicative)
      if (m === undefined) continue
      const file = join(out, 'pictures', `pair-${fileOf(a.kept.attack)}-vs-${fileOf(m.kept.attack)}-clip${a.kept.clip}.svg`)
      const svg = sheetRow([a, m], `clip ${a.kept.clip}: the additive attack moves pixels by the same amounts whatever their brightness; the multiplicative one in proportion to each pixel, so a black pixel never changes`)
      await writeFileAtomic(file, svg)
      written.push(file)
      // and as PNG, where a renderer and a font are available (svg-png.ts)
      const png = await svgToPng(svg)
      if (typeof png !== 'string') {
        await writeFileAtomic(file.replace(/\.svg$/, '.png'), png)
        written.push(file.replace(/\.svg$/, '.png'))
      }
    }
  return written
}
