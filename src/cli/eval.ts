/** `multav eval`: clean accuracy and accuracy under each attack, with Wilson 95% intervals. */
import cliProgress from 'cli-progress'
import * as E from 'fp-ts/lib/Either.js'
import { join } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import { encodeAttack } from '../dsl/codec.js'
import type { Attack } from '../dsl/types.js'
import { resolveData } from '../eval/data.js'
import { writeRunBudgetCurve } from '../eval/budget-curve.js'
import { sweepPlot, type Series } from '../eval/pictures.js'
import { parseShard, type RunPlan, type Summary } from '../eval/results.js'
import { runEval, type EvalProgress } from '../eval/run.js'
import { evalPool } from '../eval/pool.js'
import { loadAttackList, sweepAttacks } from '../eval/specs.js'
import { initBackend } from '../backend/backend.js'
import { defineCommand, type Io } from './command.js'
import { checkOutFolder, UsageError, withContext } from './errors.js'
import { boolean, enumeration, integer, parsed, string, type Values } from './options.js'
import { backendOf, BACKEND_OPTIONS, capWorkers, checkData, checkFit, jsonIo, modelFacts, printSummary, stoppable, workersOption } from './shared.js'

/** The attacks `eval` runs without --attacks: the paper's ten, masked regions scaled to the model's frames. */
export const DEFAULT_ATTACKS = 'all-scaled'

const shard = (text: string): E.Either<string, { index: number; count: number }> => {
  const s = parseShard(text)
  return typeof s === 'string' ? E.left(s) : E.right(s)
}

const EVAL_OPTIONS = {
  model: string({ metavar: 'default|DIR', default: 'default', description: 'the model: a shipped one by name (multav list models) or a model folder' }),
  data: string({ metavar: 'benchmark|DIR', default: 'benchmark', description: 'the clips: the shipped benchmark, a UCF-101 root (with ucfTrainTestlist/) or <class>/<video file | frame folder>' }),
  split: enumeration(['train', 'test'], { default: 'test', description: 'the split of the data' }),
  limit: integer({ min: 1, description: 'evaluate the first N clips only (default: all)' }),
  attacks: string({
    metavar: 'all-scaled|all|name[:key=value…],spec.json,…',
    default: DEFAULT_ATTACKS,
    description:
      "all-scaled: the paper's ten with the masked attacks' regions scaled to the model's frames; all: the ten exactly as in the paper (regions for 112x112 frames); or a list of built-ins with overrides (mult-linf:eps=1.04:steps=10) and spec files",
  }),
  sweep: string({ metavar: 'key=v1,v2,…', description: 'run each listed built-in per value and plot accuracy against it (sweep.svg)' }),
  batch: integer({ min: 1, default: 8, description: 'clips per chunk; results depend on it (random starts are seeded per chunk), not on --workers or --shard' }),
  workers: workersOption('chunks'),
  shard: parsed(shard, { metavar: 'i/n', description: 'run shard i of n (0-based), to merge with multav merge' }, (s) => `${s.index}/${s.count}`),
  pictures: integer({ min: 0, default: 1, description: 'clips to draw pictures of (clean | adversarial | difference x15)' }),
  'budget-curve': integer({
    min: 0,
    default: 0,
    description: 'also measure accuracy against the budget of the four Lp attacks (5 budgets each, the step scaled with the budget) on the first N clips: budget-curve.{svg,png,csv}; 0: none',
  }),
  'on-error': enumeration(['skip', 'stop'], {
    default: 'skip',
    description: 'a clip that cannot be read: skip it (recorded as failed rows with its error, left out of every figure) or stop the run (exit 2; --resume after fixing it)',
  }),
  out: string({ metavar: 'DIR', default: join('multav-out', 'eval'), description: 'the run folder' }),
  resume: boolean({ description: 'continue the run in --out' }),
  json: boolean({ description: 'print the summary as JSON on stdout instead of the table (everything else goes to stderr)' }),
  ...BACKEND_OPTIONS,
} as const

export type EvalArgs = Values<typeof EVAL_OPTIONS>

export const evalCommand = defineCommand({
  name: 'eval',
  options: EVAL_OPTIONS,
  summary: 'clean accuracy and accuracy under each attack with Wilson 95% intervals',
  details: `Writes a table (terminal and results.md), results.json (plan, versions and argv, summary, one
    row per clip and attack), results.csv (the rows) and pictures. Every attack is checked against the
    model's clip size and classes before anything is written. Rows are saved per chunk: Ctrl-C stops
    after the chunks in flight; --resume continues.`,
  run: (v, _p, { io, argv }) => stoppable(io, 'chunks', (signal) => runEvalCommand(v, io, argv, signal)),
})

const runEvalCommand = async (a: EvalArgs, stdio: Io, argv: ReadonlyArray<string>, signal: AbortSignal): Promise<number> => {
  const io = jsonIo(stdio, a.json)
  const backend = backendOf(a)
  const workers = capWorkers(a.workers, io)
  checkOutFolder(a.out)
  await initBackend(backend) // this thread loads the model once, to check it and read its clip size
  const { clip, classes } = await modelFacts(a.model)
  const listed = await loadAttackList(a.attacks, clip)
  if (E.isLeft(listed)) throw new UsageError(listed.left.join('\n'))
  let attacks: Attack[] = listed.right
  let sweep: { parameter: string; attacks: { base: string; value: number; attack: Attack }[] } | undefined
  if (a.sweep !== undefined) {
    const names = ['all', 'all-scaled'].includes(a.attacks) ? ['add-linf', 'mult-linf'] : a.attacks.split(',').map((s) => s.trim())
    const swept = sweepAttacks(names, a.sweep)
    if (E.isLeft(swept)) throw new UsageError(swept.left.join('\n'))
    sweep = swept.right
    attacks = sweep.attacks.map((s) => s.attack)
  }
  checkFit(attacks, clip, classes.length, a.sweep === undefined ? '--attacks' : '--sweep')
  const data = await resolveData(a.data, { clip, classes, split: a.split }).catch(withContext(''))
  checkData(data, a.model, clip, classes, io)
  const size = data.kind === 'benchmark' ? (a.split === 'train' ? 600 : 240) : data.items.length
  const clips = Math.min(size, a.limit ?? size)
  const shardOf = a.shard ?? { index: 0, count: 1 }
  const plan: RunPlan & { data: typeof data } = {
    model: a.model,
    classes,
    data,
    clips,
    attacks: attacks.map(encodeAttack),
    attackNames: attacks.map((x) => x.name),
    batch: a.batch,
    shard: shardOf,
  }
  io.log(
    `evaluating ${a.model} on ${clips} clips of ${a.data} (${a.split}) against ${attacks.length} attacks, ${workers} worker(s)${shardOf.count > 1 ? `, shard ${shardOf.index}/${shardOf.count}` : ''} → ${a.out}`,
  )
  // one pool for the table and the budget curve: its threads keep their backend, model and clips
  const pool = workers > 1 ? evalPool(workers) : undefined
  try {
    const progress = progressReporter(io)
    let outcome
    try {
      outcome = await runEval({
        plan,
        backend,
        out: a.out,
        resume: a.resume,
        workers,
        ...(pool ? { pool } : {}),
        pictureClips: a.pictures,
        signal,
        onProgress: progress.update,
        onWarning: progress.warn,
        onUnreadable: a['on-error'],
        meta: { command: 'multav eval', argv: [...argv] },
      })
    } finally {
      progress.stop()
    }
    if (!outcome.complete) {
      io.warn(`stopped after ${outcome.chunksRun} chunk(s) this run; the rows so far are in ${join(a.out, 'rows.jsonl')}: continue with --resume`)
      return 130
    }
    printSummary(io, outcome.summary!, a.out, a.json)
    if (a.json) stdio.log(JSON.stringify(outcome.summary!, null, 1))
    for (const p of outcome.pictures) io.log(`picture: ${p}`)
    if (a['budget-curve'] > 0 && shardOf.count === 1) {
      const n = Math.min(a['budget-curve'], clips)
      io.log(`budget curve: the four Lp attacks at 5 budgets each on ${n} clips`)
      const curve = await writeRunBudgetCurve(a.out, a.model, data, n, {
        workers,
        backend,
        ...(pool ? { pool } : {}),
        signal,
        onProgress: (p) => io.warn(`budget curve ${p.done}/${p.total}: ${p.point.attack} ε ${+p.point.value.toPrecision(3)}: ${(100 * p.point.accuracy).toFixed(1)}%`),
      })
      if (curve.stopped) {
        io.warn('stopped during the budget curve; --resume measures the rest')
        return 130
      }
      for (const f of curve.files) io.log(`plot: ${f}`)
      if (curve.pngMissing !== undefined) io.warn(curve.pngMissing)
    } else if (a['budget-curve'] > 0) io.warn('--budget-curve: not measured in a shard (run it once, unsharded, or on the merged folder\'s model)')
    if (sweep) {
      const file = join(a.out, 'sweep.svg')
      await writeFileAtomic(file, sweepPlot(sweepSeries(sweep, outcome.summary!), { parameter: sweep.parameter }))
      io.log(`plot: ${file}`)
    }
    return 0
  } finally {
    await pool?.destroy()
  }
}

const sweepSeries = (sweep: { attacks: { base: string; value: number; attack: Attack }[] }, summary: Summary): Series[] =>
  [...new Set(sweep.attacks.map((s) => s.base))].map((base) => ({
    name: base,
    points: sweep.attacks
      .filter((s) => s.base === base)
      .map((s) => ({ x: s.value, accuracy: summary.attacks.find((x) => x.attack === s.attack.name)?.accuracy ?? Number.NaN })),
  }))

/** A bar with ETA and accuracy on a terminal; a plain line every 10 s (and at the end) otherwise. */
const progressReporter = (io: Io) => {
  const pct = (v: number) => (Number.isNaN(v) ? '–' : `${(100 * v).toFixed(1)}%`)
  if (io.tty) {
    const bar = new cliProgress.SingleBar(
      { format: '{bar} {value}/{total} chunks | ETA {eta_formatted} | clean {clean} | attacked {attacked}', stream: process.stderr, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    )
    let started = false
    return {
      update: (p: EvalProgress) => {
        if (!started) bar.start(p.chunks, 0, { clean: '–', attacked: '–' })
        started = true
        bar.update(p.chunksDone, { clean: pct(p.cleanAccuracy), attacked: pct(p.attackedAccuracy) })
      },
      stop: () => started && bar.stop(),
      // a warning on its own line: the bar's line is cleared first, and redrawn by the next update
      warn: (line: string) => {
        if (started) process.stderr.write('\r\x1b[2K')
        io.warn(line)
      },
    }
  }
  let last = 0
  return {
    update: (p: EvalProgress) => {
      if (Date.now() - last < 10_000 && p.chunksDone < p.chunks) return
      last = Date.now()
      io.warn(`chunk ${p.chunksDone}/${p.chunks} (${p.clipsDone}/${p.clips} clips), clean ${pct(p.cleanAccuracy)}, attacked ${pct(p.attackedAccuracy)}, ETA ${Math.round(p.etaSeconds)} s`)
    },
    stop: () => undefined,
    warn: io.warn,
  }
}

