/**
 * What several commands share: the backend options, the model's facts, the checks every attack passes
 * before any work, worker counts, Ctrl-C as a stop request, and the summary printout.
 */
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { BACKEND_CHOICES, initBackend, type BackendChoice, type BackendName } from '../backend/backend.js'
import { WASM_MAX_THREADS } from '../backend/wasm-threads.js'
import { fitsClip } from '../dsl/fit.js'
import type { Attack } from '../dsl/types.js'
import { BENCHMARK_CLASSES } from '../data/benchmark.js'
import type { ClipSize, DataRef } from '../eval/data.js'
import { evalRefusals } from '../eval/chunk.js'
import { terminalTable, type Summary } from '../eval/results.js'
import { BUILT_IN } from '../eval/specs.js'
import { PORTED } from '../dsl/attacks.js'
import { resolveModel } from '../models/pretrained.js'
import type { Io } from './command.js'
import { UsageError, withContext } from './errors.js'
import { enumeration, integer, type Values } from './options.js'

/** The built-in attacks' names, for usage and messages. */
export const NAMES = [...Object.keys(BUILT_IN), ...Object.keys(PORTED)].join(', ')

/** `<spec.json | add-linf, …>`: an attack argument. */
export const ATTACK_ARGUMENT = `<spec.json | ${NAMES}>`

/** The backend options of every command that computes. */
export const BACKEND_OPTIONS = {
  backend: enumeration(BACKEND_CHOICES, {
    default: 'auto',
    env: 'MULTAV_BACKEND',
    description: 'the TensorFlow.js backend: auto tries tensorflow (tfjs-node, when installed), then wasm, then cpu',
  }),
  threads: integer({
    min: 1,
    max: WASM_MAX_THREADS,
    env: 'MULTAV_THREADS',
    description: "wasm's threads per backend; when unset, the cores (at most 4) in the main thread and 1 in each worker of a pool",
  }),
} as const

/**
 * The backend asked for. `--threads N` (wasm threads per backend: this process's, and each worker's) is
 * passed on as MULTAV_THREADS, which every thread's initBackend reads.
 */
export const backendOf = (v: Values<typeof BACKEND_OPTIONS>): BackendChoice => {
  if (v.threads !== undefined) process.env['MULTAV_THREADS'] = String(v.threads)
  return v.backend
}

/** Starts the backend asked for in this thread; resolves to its name. */
export const startBackend = (v: Values<typeof BACKEND_OPTIONS>): Promise<BackendName> => initBackend(backendOf(v))

/** `--workers`: at most the machine's cores (each worker loads its own model and backend, so more only slow the run down). */
export const capWorkers = (requested: number, io: Pick<Io, 'warn'>, cores = availableParallelism()): number => {
  if (requested <= cores) return requested
  io.warn(`multav: --workers ${requested} is more than this machine's ${cores} cores; using ${cores}`)
  return cores
}

/** `--workers`, by default the machine's cores. */
export const workersOption = (what: string) =>
  integer({ min: 1, metavar: 'N', computedDefault: { text: "the machine's cores", value: () => availableParallelism() }, description: `${what} in parallel (at most the cores; more are capped, with a warning)` })

/** The model's clip size and classes, from its folder's model.json (the model is loaded once to check it). */
export const modelFacts = async (ref: string): Promise<{ clip: ClipSize; classes: ReadonlyArray<string> }> => {
  const model = await resolveModel(ref).catch(withContext(`--model ${ref}: `))
  model.dispose()
  const { clip, classes } = model.info
  if (clip === null) throw new UsageError(`--model ${ref}: its model.json does not say its clip size (config.clip {T, H, W})`)
  return { clip, classes }
}

/**
 * Refuses data that does not fit the model, before any work: the benchmark has six classes (its labels
 * are class indices, so a model with another number of classes cannot be scored on it) and is made at
 * the model's clip size, which must be one it can draw (at least 2 frames of 12x12). A model with six
 * classes of other names is scored by index, with a warning. Folders of videos are matched by class
 * name (resolveData) and resampled to the model's clip size.
 */
export const checkData = (data: DataRef, model: string, clip: ClipSize, classes: ReadonlyArray<string>, io: Pick<Io, 'warn'>): void => {
  if (data.kind !== 'benchmark') return
  const names = BENCHMARK_CLASSES as ReadonlyArray<string>
  if (classes.length !== names.length)
    throw new UsageError(
      `--data benchmark has ${names.length} classes (${names.join(', ')}) but --model ${model} has ${classes.length} (${classes.slice(0, 8).join(', ')}${classes.length > 8 ? ', …' : ''}): the benchmark's labels would not be the model's classes`,
    )
  if (clip.T < 2 || clip.H < 12 || clip.W < 12)
    throw new UsageError(`--data benchmark: its clips are made at the model's size, at least 2 frames of 12x12; --model ${model} takes ${clip.T}x${clip.H}x${clip.W}`)
  if (classes.some((c, k) => c !== names[k]))
    io.warn(`multav: --model ${model} names its classes ${classes.join(', ')}; the benchmark's are ${names.join(', ')}: labels are matched by index`)
}

/**
 * Refuses, before any work or folder, attacks that cannot run on the model's clips: every problem of
 * every attack, one line each, naming the attack and the field. `batches: 'many'` (eval, training) also
 * refuses what fits one batch only (per-sample targets); `'one'` (one clip) needs them to be one.
 */
export const checkFit = (attacks: ReadonlyArray<Attack>, clip: ClipSize, classes: number, flag: string, batches: 'many' | 'one' = 'many'): void => {
  const problems = attacks.flatMap((a) =>
    [...fitsClip(a, clip, classes), ...evalRefusals(a, batches === 'one' ? 1 : undefined)].map((p) => `${flag} "${a.name}" on the model's ${clip.T}x${clip.H}x${clip.W} clips: ${p}`),
  )
  if (problems.length > 0) throw new UsageError(problems.join('\n'))
}

/** With --json, stdout holds the JSON alone: the other lines go to stderr. */
export const jsonIo = (io: Io, json: boolean | undefined): Io => (json ? { ...io, log: io.warn } : io)

/** The table and where the results are; with --json only where they are (on stderr, as io.log is then). */
export const printSummary = (io: Io, s: Summary, out: string, json: boolean) => {
  if (!json) {
    io.log('')
    io.log(terminalTable(s))
    io.log('')
  }
  io.log(
    `${s.clips} clips; accuracy and success measured on 8-bit quantised clips; 95% CI: Wilson score interval. Results: ${['results.json', 'results.md', 'results.csv'].map((f) => join(out, f)).join(', ')}`,
  )
}

/**
 * Runs `work` with Ctrl-C turned into a stop request: the first SIGINT warns and aborts the signal
 * (work in flight finishes and is saved), a second one exits at once with 130.
 */
export const stoppable = async <A>(io: Io, what: string, work: (signal: AbortSignal) => Promise<A>): Promise<A> => {
  const stop = new AbortController()
  const onSigint = () => {
    io.warn(`stopping after the ${what} in flight (Ctrl-C again to quit at once)…`)
    stop.abort()
    process.once('SIGINT', () => process.exit(130))
  }
  process.once('SIGINT', onSigint)
  try {
    return await work(stop.signal)
  } finally {
    process.removeListener('SIGINT', onSigint)
  }
}
