/**
 * `multav eval`, `multav merge` and `multav attack`: the robustness evaluation on the command line.
 */
import cliProgress from 'cli-progress'
import * as E from 'fp-ts/lib/Either.js'
import { availableParallelism } from 'node:os'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import * as tf from '@tensorflow/tfjs-core'
import { encodeAttack } from '../dsl/codec.js'
import type { Attack } from '../dsl/types.js'
import { loadFrameFolder } from '../data/frames.js'
import { loadVideo, writeFramesPng, writeVideoLossless } from '../data/video.js'
import { resolveData, type ClipSize } from '../eval/data.js'
import { quantise } from '../eval/chunk.js'
import { writeSheet, sweepPlot, type Series } from '../eval/pictures.js'
import { mergeRuns, parseShard, terminalTable, type RunPlan, type Summary } from '../eval/results.js'
import { runEval, safeName, type EvalProgress } from '../eval/run.js'
import { initBackend, type BackendChoice } from '../backend/backend.js'
import { runAttack } from '../interpreters/tensor.js'
import { resolveModel } from '../models/pretrained.js'
import { fitsClip } from '../dsl/fit.js'
import { checkOutFolder, UsageError } from './errors.js'
import { loadAttackList, sweepAttacks } from '../eval/specs.js'
import { statSync } from 'node:fs'

export { UsageError } from './errors.js'

export interface Io {
  readonly log: (line: string) => void
  readonly warn: (line: string) => void
  /** True when progress may redraw a bar (stderr is a terminal). */
  readonly tty: boolean
}

const int = (name: string, text: string | undefined, fallback: number, min: number): number => {
  if (text === undefined) return fallback
  const v = Number(text)
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${text}"`)
  return v
}

/** `--workers`: at most the machine's cores (each worker loads its own model and backend, so more only slow the run down). */
export const capWorkers = (requested: number, io: Pick<Io, 'warn'>, cores = availableParallelism()): number => {
  if (requested <= cores) return requested
  io.warn(`multav: --workers ${requested} is more than this machine's ${cores} cores; using ${cores}`)
  return cores
}

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1

/** The model's clip size and classes, from its model.json. */
const modelFacts = async (ref: string): Promise<{ clip: ClipSize; classes: ReadonlyArray<string> }> => {
  const model = await resolveModel(ref).catch((e: Error) => {
    throw new UsageError(`--model ${ref}: ${e.message}`)
  })
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
 * every attack, one line each, naming the attack and the field.
 */
export const checkFit = (attacks: ReadonlyArray<Attack>, clip: ClipSize, classes: number, flag: string): void => {
  const problems = attacks.flatMap((a) => fitsClip(a, clip, classes).map((p) => `${flag} "${a.name}" on the model's ${clip.T}x${clip.H}x${clip.W} clips: ${p}`))
  if (problems.length > 0) throw new UsageError(problems.join('\n'))
}

export interface EvalArgs {
  readonly model?: string
  readonly data?: string
  readonly split?: string
  readonly limit?: string
  readonly attacks?: string
  readonly sweep?: string
  readonly batch?: string
  readonly workers?: string
  readonly shard?: string
  readonly out?: string
  readonly resume?: boolean
  readonly pictures?: string
  /** Print the summary as JSON on stdout (everything else goes to stderr). */
  readonly json?: boolean
  /** The command line's arguments, recorded in results.json. */
  readonly argv?: ReadonlyArray<string>
}

/** With --json, stdout holds the JSON alone: the other lines go to stderr. */
const jsonIo = (io: Io, json: boolean | undefined): Io => (json ? { ...io, log: io.warn } : io)

/** The attacks `eval` runs without --attacks: the paper's ten, masked regions scaled to the model's frames. */
export const DEFAULT_ATTACKS = 'all-scaled'

export const evalCommand = async (a: EvalArgs, backend: BackendChoice, stdio: Io, signal?: AbortSignal): Promise<number> => {
  const io = jsonIo(stdio, a.json)
  const modelRef = a.model ?? 'default'
  const split = a.split ?? 'test'
  if (split !== 'train' && split !== 'test') throw new UsageError(`--split must be train or test, got "${split}"`)
  const batch = int('batch', a.batch, 8, 1)
  const workers = capWorkers(int('workers', a.workers, availableParallelism(), 1), io)
  const pictureClips = int('pictures', a.pictures, 1, 0)
  const shard = a.shard === undefined ? { index: 0, count: 1 } : parseShard(a.shard)
  if (typeof shard === 'string') throw new UsageError(shard)
  const out = a.out ?? join('multav-out', 'eval')
  checkOutFolder(out)
  await initBackend(backend) // this thread loads the model once, to check it and read its clip size
  const { clip, classes } = await modelFacts(modelRef)
  const attackList = a.attacks ?? DEFAULT_ATTACKS
  const listed = await loadAttackList(attackList, clip)
  if (E.isLeft(listed)) throw new UsageError(listed.left.join('\n'))
  let attacks: Attack[] = listed.right
  let sweep: { parameter: string; attacks: { base: string; value: number; attack: Attack }[] } | undefined
  if (a.sweep !== undefined) {
    const names = ['all', 'all-scaled'].includes(attackList) ? ['add-linf', 'mult-linf'] : attackList.split(',').map((s) => s.trim())
    const swept = sweepAttacks(names, a.sweep)
    if (E.isLeft(swept)) throw new UsageError(swept.left.join('\n'))
    sweep = swept.right
    attacks = sweep.attacks.map((s) => s.attack)
  }
  checkFit(attacks, clip, classes.length, a.sweep === undefined ? '--attacks' : '--sweep')
  const data = await resolveData(a.data ?? 'benchmark', { clip, classes, split }).catch((e: Error) => {
    throw new UsageError(e.message)
  })
  const size = data.kind === 'benchmark' ? (split === 'train' ? 600 : 240) : data.items.length
  const clips = Math.min(size, int('limit', a.limit, size, 1))
  const plan: RunPlan & { data: typeof data } = {
    model: modelRef,
    classes,
    data,
    clips,
    attacks: attacks.map(encodeAttack),
    attackNames: attacks.map((x) => x.name),
    batch,
    shard,
  }
  io.log(`evaluating ${modelRef} on ${clips} clips of ${a.data ?? 'benchmark'} (${split}) against ${attacks.length} attacks, ${workers} worker(s)${shard.count > 1 ? `, shard ${shard.index}/${shard.count}` : ''} → ${out}`)
  const progress = progressReporter(io)
  let outcome
  try {
    outcome = await runEval({ plan, backend, out, resume: a.resume ?? false, workers, pictureClips, ...(signal ? { signal } : {}), onProgress: progress.update, onWarning: progress.warn, meta: { command: 'multav eval', ...(a.argv ? { argv: [...a.argv] } : {}) } })
  } finally {
    progress.stop()
  }
  if (!outcome.complete) {
    io.warn(`stopped after ${outcome.chunksRun} chunk(s) this run; the rows so far are in ${join(out, 'rows.jsonl')}: continue with --resume`)
    return 130
  }
  printSummary(io, outcome.summary!, out, a.json === true)
  if (a.json) stdio.log(JSON.stringify(outcome.summary!, null, 1))
  for (const p of outcome.pictures) io.log(`picture: ${p}`)
  if (sweep) {
    const file = join(out, 'sweep.svg')
    await writeFileAtomic(file, sweepPlot(sweepSeries(sweep, outcome.summary!), { parameter: sweep.parameter }))
    io.log(`plot: ${file}`)
  }
  return 0
}

const sweepSeries = (sweep: { attacks: { base: string; value: number; attack: Attack }[] }, summary: Summary): Series[] =>
  [...new Set(sweep.attacks.map((s) => s.base))].map((base) => ({
    name: base,
    points: sweep.attacks
      .filter((s) => s.base === base)
      .map((s) => ({ x: s.value, accuracy: summary.attacks.find((x) => x.attack === s.attack.name)?.accuracy ?? Number.NaN })),
  }))

/** The table and where the results are; with --json only where they are (on stderr, as io.log is then). */
const printSummary = (io: Io, s: Summary, out: string, json: boolean) => {
  if (!json) {
    io.log('')
    io.log(terminalTable(s))
    io.log('')
  }
  io.log(
    `${s.clips} clips; accuracy and success measured on 8-bit quantised clips; 95% CI: Wilson score interval. Results: ${['results.json', 'results.md', 'results.csv'].map((f) => join(out, f)).join(', ')}`,
  )
}

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

export const mergeCommand = async (
  dirs: ReadonlyArray<string>,
  out: string | undefined,
  stdio: Io,
  options: { readonly json?: boolean; readonly argv?: ReadonlyArray<string> } = {},
): Promise<number> => {
  const io = jsonIo(stdio, options.json)
  if (out === undefined) throw new UsageError('merge needs --out DIR (where the combined results go)')
  if (dirs.length === 0) throw new UsageError('merge needs the shard folders, e.g. multav merge out/shard-0 out/shard-1 --out out/all')
  checkOutFolder(out)
  // a bad shard is a RunFolderError, reported in one line by the command line
  const { summary, pictures } = await mergeRuns(dirs, out, { command: 'multav merge', ...(options.argv ? { argv: [...options.argv] } : {}) })
  printSummary(io, summary, out, options.json === true)
  if (options.json) stdio.log(JSON.stringify(summary, null, 1))
  for (const p of pictures) io.log(`picture: ${p}`)
  return 0
}

export interface AttackArgs {
  readonly video?: string
  readonly model?: string
  readonly attack?: string
  readonly label?: string
  readonly out?: string
}

/** Attacks one clip (a video file or a frame folder) and writes it losslessly, with its picture. */
export const attackCommand = async (a: AttackArgs, io: Io): Promise<number> => {
  if (a.video === undefined) throw new UsageError('attack needs --video FILE|FRAME_DIR')
  const modelRef = a.model ?? 'default'
  const { clip, classes } = await modelFacts(modelRef)
  const listed = await loadAttackList(a.attack ?? 'mult-linf', undefined, '--attack')
  if (E.isLeft(listed)) throw new UsageError(listed.left.join('\n'))
  if (listed.right.length !== 1) throw new UsageError(`--attack takes one attack, got ${listed.right.length}`)
  const attack = listed.right[0]!
  checkFit([attack], clip, classes.length, '--attack')
  if (a.label !== undefined && !classes.includes(a.label)) throw new UsageError(`--label must be one of the model's classes (${classes.join(', ')}), got "${a.label}"`)
  const out = a.out ?? join('multav-out', 'attack')
  checkOutFolder(out)
  let isDir: boolean
  try {
    isDir = statSync(a.video).isDirectory()
  } catch {
    throw new UsageError(`--video ${a.video}: no such file or folder`)
  }
  if (clip.H !== clip.W) throw new UsageError(`--model ${modelRef}: takes ${clip.H}x${clip.W} frames; videos are centre-cropped to squares`)
  const o = { T: clip.T, size: clip.H, crop: clip.H }
  const data = await (isDir ? loadFrameFolder(a.video, o) : loadVideo(a.video, o)).catch((e: Error) => {
    throw new UsageError(e.message)
  })
  const model = await resolveModel(modelRef)
  const x = tf.tensor5d(data.data, [...data.shape])
  try {
    const clean = tf.tidy(() => tf.argMax(model.model(x), 1))
    const cleanClass = (await clean.data())[0]!
    clean.dispose()
    const label = a.label === undefined ? cleanClass : classes.indexOf(a.label)
    const r = await runAttack(attack, model.model, x, [label])
    const q = quantise(r.adversarial)
    r.adversarial.dispose()
    try {
      const after = tf.tidy(() => tf.argMax(model.model(q), 1))
      const advClass = (await after.data())[0]!
      after.dispose()
      const adversarial = { shape: data.shape, data: (await q.data()) as Float32Array }
      await mkdir(out, { recursive: true })
      const frames = await writeFramesPng(adversarial, join(out, 'frames'))
      io.log(`clean: "${classes[cleanClass]}"; attacked with ${attack.name} (as "${classes[label]}"): "${classes[advClass]}"${advClass === label ? ' (attack failed)' : ''}`)
      io.log(`achieved: ‖x'−x‖∞ ${r.sanity.linf[0]!.toFixed(4)}, max ratio ${r.sanity.ratioLinf[0]!.toFixed(4)}`)
      io.log(`adversarial frames (lossless PNG): ${join(out, 'frames')} (${frames.length} files)`)
      try {
        await writeVideoLossless(adversarial, join(out, 'adversarial.mkv'))
        io.log(`adversarial video (lossless FFV1): ${join(out, 'adversarial.mkv')}`)
      } catch (e) {
        io.warn(`no lossless video written: ${(e as Error).message.split('\n')[0]}`)
      }
      const sheet = join(out, `${safeName(attack.name)}.png`)
      await writeSheet(sheet, { clip: 0, attack: attack.name, clean: data.data, adversarial: adversarial.data, shape: [clip.T, clip.H, clip.W, 3] })
      io.log(`picture: ${sheet}`)
      io.warn('note: re-encoding the adversarial clip with a lossy codec (H.264, MPEG-4, JPEG) changes it and may undo the attack; keep the PNG frames or the FFV1 video')
      return 0
    } finally {
      q.dispose()
    }
  } finally {
    x.dispose()
    model.dispose()
  }
}
