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
import type { ClipSize } from '../eval/data.js'
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

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1

/** The model's clip size and classes, from its model.json. */
export const modelFacts = async (ref: string): Promise<{ clip: ClipSize; classes: ReadonlyArray<string> }> => {
  const model = await resolveModel(ref).catch(withContext(`--model ${ref}: `))
  model.dispose()
  const clip = model.info['clip'] as Partial<Record<keyof ClipSize, unknown>> | undefined
  const classes = model.info['classes'] as ReadonlyArray<string>
  if (!clip) throw new UsageError(`--model ${ref}: its model.json does not say its clip size (config.clip {T, H, W})`)
  if (!(isCount(clip.T) && isCount(clip.H) && isCount(clip.W)))
    throw new UsageError(`--model ${ref}: its model.json's config.clip must be {T, H, W}, three integers ≥ 1, got ${JSON.stringify(clip)}`)
  return { clip: clip as ClipSize, classes }
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
