/**
 * The paper's experiment on the shipped benchmark: does a model adversarially trained on an
 * additive attack lose robustness to its multiplicative twin?
 *
 * Models: the clean model, and for each network (plain 3D ResNet-18, + 3D denoising, + 2D denoising)
 * and each of the five attack families (L∞, L2, ROA, AF, SPA) one model trained on the MultAV attack
 * and one on its additive twin — 31 in all. Adversarial models are fine-tuned from the clean model
 * (Madry: every minibatch replaced by its adversarial version; denoising blocks start as the identity),
 * with the same attack settings as the evaluation. Every model is evaluated on clean clips and on all
 * ten attacks, with the masked attacks' regions scaled to the benchmark's frames.
 *
 * Jobs (train, then evaluate, one model each) run on a pool of worker threads, each with its own
 * backend. Everything is seeded and resumable: a finished model is not retrained, an interrupted
 * training resumes from its last epoch's checkpoint, an interrupted evaluation from its last chunk.
 *
 * @since 0.1.0
 */
import { Piscina } from 'piscina'
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { workerFile } from './worker-file.js'
import writeFileAtomic from 'write-file-atomic'
import { tableChart } from './table-chart.js'
import * as E from 'fp-ts/lib/Either.js'
import { builtInWith, scaledRegionOverrides } from './specs.js'
import { encodeAttack } from '../dsl/codec.js'
import type { Attack } from '../dsl/types.js'
import type { BackendChoice } from '../backend/backend.js'
import type { DenoiseKind } from '../models/denoise.js'
import { pretrainedDir } from '../models/pretrained.js'
import { RunFolderError, type Summary } from './results.js'
import { runJob, type JobResult, type JobTask } from './reproduce-job.js'

export const NETWORKS = ['plain', '3d', '2d'] as const
export type Network = (typeof NETWORKS)[number]
export const FAMILIES = ['linf', 'l2', 'roa', 'af', 'spa'] as const
export type Family = (typeof FAMILIES)[number]

/** Each family's MultAV attack and its additive twin, by built-in name, and the paper's column label. */
export const TWINS: Readonly<Record<Family, { readonly mult: string; readonly add: string; readonly label: string }>> = {
  linf: { mult: 'mult-linf', add: 'add-linf', label: 'L∞' },
  l2: { mult: 'mult-l2', add: 'add-l2', label: 'L2' },
  roa: { mult: 'mult-roa', add: 'roa', label: 'ROA' },
  af: { mult: 'mult-af', add: 'af', label: 'AF' },
  spa: { mult: 'mult-spa', add: 'spa', label: 'SPA' },
}

const NETWORK_LABEL: Readonly<Record<Network, string>> = { plain: '3D ResNet-18', '3d': '+ 3D Denoise', '2d': '+ 2D Denoise' }
const DENOISE: Readonly<Record<Network, DenoiseKind>> = { plain: 'none', '3d': '3d', '2d': '2d' }

export interface TrainingSettings {
  readonly epochs: number
  readonly lr: number
  readonly batch: number
  readonly trainClips: number
}

export interface ReproduceConfig {
  readonly clip: { readonly T: number; readonly H: number; readonly W: number }
  readonly widths: readonly [number, number, number, number]
  /** The clean model: the shipped default (clip and widths must match it) or one trained here. */
  readonly clean: 'default' | TrainingSettings
  /** Adversarial fine-tuning of the clean model. */
  readonly adversarial: TrainingSettings
  /** Test clips every model is evaluated on (the first ones of the test split, class-balanced in 6s). */
  readonly testClips: number
  /** Steps of every attack, for training and evaluation (default: each attack's own, 5). */
  readonly steps?: number
  /** Clips per evaluation chunk. */
  readonly evalBatch: number
  readonly seed: number
}

/**
 * The full run (about two and a half hours on the 2-core development machine): the shipped default model as the clean model; one epoch
 * of adversarial fine-tuning over 480 training clips (60 steps of 8) per model; 96 test clips.
 */
export const FULL: ReproduceConfig = {
  clip: { T: 8, H: 32, W: 32 },
  widths: [8, 16, 32, 64],
  clean: 'default',
  adversarial: { epochs: 1, lr: 0.01, batch: 8, trainClips: 480 },
  testClips: 96,
  evalBatch: 8,
  seed: 0,
}

/** `--quick`: the whole pipeline on a tiny network and tiny clips, in minutes (CI). */
export const QUICK: ReproduceConfig = {
  clip: { T: 4, H: 16, W: 16 },
  widths: [2, 4, 4, 8],
  clean: { epochs: 2, lr: 0.05, batch: 12, trainClips: 48 },
  adversarial: { epochs: 1, lr: 0.01, batch: 12, trainClips: 24 },
  testClips: 12,
  steps: 2,
  evalBatch: 6,
  seed: 0,
}

/** The attacks of a run: the paper's ten (regions scaled to the clip), with the run's step count. */
export const reproduceAttacks = (c: ReproduceConfig): Readonly<Record<string, Attack>> => {
  const regions = scaledRegionOverrides(c.clip.H, c.clip.W)
  return Object.fromEntries(
    FAMILIES.flatMap((f) => [TWINS[f].mult, TWINS[f].add]).map((name) => {
      const attack = builtInWith(name, { ...regions[name], ...(c.steps !== undefined ? { steps: c.steps } : {}) })
      if (E.isLeft(attack)) throw new Error(`reproduce: ${attack.left.join('; ')}`)
      return [name, attack.right]
    }),
  )
}

export interface ModelJob {
  /** Folder name under models/ and eval/: clean, or <network>-<mult|add>-<family>. */
  readonly name: string
  readonly network: Network
  readonly training: 'clean' | { readonly kind: 'mult' | 'add'; readonly family: Family }
}

/** The 31 models: clean first, then every network x family x kind. */
export const modelJobs = (): ModelJob[] => [
  { name: 'clean', network: 'plain', training: 'clean' },
  ...NETWORKS.flatMap((network) =>
    FAMILIES.flatMap((family) => (['mult', 'add'] as const).map((kind): ModelJob => ({ name: `${network}-${kind}-${family}`, network, training: { kind, family } }))),
  ),
]

export interface ReproduceOptions {
  readonly out: string
  readonly config: ReproduceConfig
  readonly workers: number
  readonly backend: BackendChoice
  /** Progress lines (one per finished job, with an ETA). */
  readonly log: (line: string) => void
  /** Stops scheduling jobs when aborted; jobs in flight finish. */
  readonly signal?: AbortSignal
  /** What to write as the command in the results. */
  readonly command?: string
}

export interface ReproduceOutcome {
  readonly complete: boolean
  readonly markdown?: string
  readonly table?: ReproduceTable
  readonly seconds: number
}

const PLAN = 'reproduce.json'


export const reproduce = async (o: ReproduceOptions): Promise<ReproduceOutcome> => {
  const started = Date.now()
  const { config } = o
  if (!(Number.isInteger(o.workers) && o.workers >= 1)) throw new Error(`reproduce: workers must be an integer ≥ 1, got ${o.workers}`)
  await openPlan(o.out, config)
  const attacks = reproduceAttacks(config)
  const cleanDir = config.clean === 'default' ? await checkedDefault(config) : join(o.out, 'models', 'clean')
  const encoded = Object.values(attacks).map(encodeAttack)
  const taskOf = (job: ModelJob): JobTask => {
    const base = {
      name: job.name,
      backend: o.backend,
      evalDir: join(o.out, 'eval', job.name),
      attacks: encoded,
      testClips: config.testClips,
      evalBatch: config.evalBatch,
    }
    if (job.training === 'clean')
      return config.clean === 'default'
        ? { ...base, modelDir: cleanDir }
        : { ...base, modelDir: cleanDir, train: { ...config.clean, widths: config.widths, clip: config.clip, seed: config.seed, denoise: 'none' } }
    const attack = attacks[TWINS[job.training.family][job.training.kind]]!
    return {
      ...base,
      modelDir: join(o.out, 'models', job.name),
      train: { ...config.adversarial, widths: config.widths, clip: config.clip, seed: config.seed, denoise: DENOISE[job.network], init: cleanDir, adversarial: encodeAttack(attack) },
    }
  }
  const jobs = modelJobs()
  const pool = o.workers > 1 ? new Piscina<JobTask, JobResult>({ filename: workerFile('reproduce-worker', 'reproduce-worker'), minThreads: o.workers, maxThreads: o.workers }) : undefined
  const run = (task: JobTask) => (pool ? pool.run(task) : runJob(task))
  const results: Record<string, JobResult> = {}
  let done = 0
  const record = (r: JobResult) => {
    results[r.name] = r
    done++
    const elapsed = (Date.now() - started) / 1000
    // wall time per job run so far (the pool's parallelism included) times the jobs left
    const ran = Object.values(results).filter((x) => !x.reused).length
    const eta = ran === 0 ? 0 : (elapsed / ran) * (jobs.length - done)
    o.log(`${done}/${jobs.length} ${r.name}: clean ${pct(r.summary.cleanAccuracy)}%${r.reused ? ' (already done)' : `, ${r.seconds.toFixed(0)} s`}${done < jobs.length ? `, ETA ${Math.round(eta)} s` : ''}`)
  }
  try {
    // a clean model trained here comes first: every adversarial model starts from it
    let next = 0
    if (config.clean !== 'default') record(await run(taskOf(jobs[next++]!)))
    const lane = async () => {
      while (next < jobs.length && !o.signal?.aborted) record(await run(taskOf(jobs[next++]!)))
    }
    await Promise.all(Array.from({ length: Math.min(o.workers, jobs.length - next) }, lane))
  } finally {
    await pool?.destroy()
  }
  const seconds = (Date.now() - started) / 1000
  if (Object.keys(results).length < jobs.length) return { complete: false, seconds }
  const table = reproduceTable(results)
  const markdown = tableMarkdown(table)
  const meta = { command: o.command ?? 'multav reproduce', backend: o.backend, workers: o.workers, seconds, jobSeconds: Object.fromEntries(jobs.map((j) => [j.name, results[j.name]!.seconds])) }
  await writeFileAtomic(join(o.out, 'table.json'), `${JSON.stringify({ config, meta, table }, null, 1)}\n`)
  await writeFileAtomic(join(o.out, 'table.md'), `${markdown}\n`)
  await writeFileAtomic(join(o.out, 'table.svg'), tableChart(table))
  return { complete: true, markdown, table, seconds }
}

/** Writes the plan, or checks that a folder's existing plan is this one (so resuming is safe). */
const openPlan = async (out: string, config: ReproduceConfig): Promise<void> => {
  const file = join(out, PLAN)
  const text = `${JSON.stringify({ format: 'multav-reproduce', config }, null, 1)}\n`
  if (existsSync(file)) {
    const previous = await readFile(file, 'utf8')
    if (previous !== text)
      throw new RunFolderError(`${out} holds a reproduce run with other settings (${file}); use another --out, or the same settings to continue it`)
    return
  }
  await mkdir(out, { recursive: true })
  await writeFileAtomic(file, text)
}

/** The shipped default model's folder, after checking it is the network this run is sized for. */
const checkedDefault = async (config: ReproduceConfig): Promise<string> => {
  const dir = pretrainedDir('default')
  const info = (JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { config: { clip: unknown; widths: unknown } }).config
  if (JSON.stringify(info.clip) !== JSON.stringify(config.clip) || JSON.stringify(info.widths) !== JSON.stringify(config.widths))
    throw new RunFolderError(`reproduce: the default model takes ${JSON.stringify(info.clip)} clips with widths ${JSON.stringify(info.widths)}, the run is set for ${JSON.stringify(config.clip)} and ${JSON.stringify(config.widths)}`)
  return dir
}

// -------------------------------------------------------------------------------------------------
// the table
// -------------------------------------------------------------------------------------------------

export interface TableRow {
  readonly network: Network
  readonly training: 'clean' | 'mult' | 'add'
  readonly model: string
  /** Accuracies in [0, 1]: on clean clips, under each family's MultAV attack, under its additive twin. */
  readonly clean: number
  readonly mult: Readonly<Record<Family, number>>
  readonly add: Readonly<Record<Family, number>>
}

export interface ReproduceTable {
  readonly rows: ReadonlyArray<TableRow>
  /** Per network and family: accuracy under MultAV of the Add-trained minus the Mult-trained model. */
  readonly gaps: Readonly<Record<Network, Readonly<Record<Family, number>>>>
}

/** Accuracy under a built-in attack, found by its (possibly renamed) name's first word. */
const accuracyUnder = (s: Summary, builtIn: string): number => {
  const a = s.attacks.find((x) => x.attack.split(' ')[0] === builtIn)
  if (!a) throw new Error(`reproduce: no result for ${builtIn}`)
  return a.accuracy
}

export const reproduceTable = (results: Readonly<Record<string, { readonly summary: Summary }>>): ReproduceTable => {
  const rowOf = (network: Network, training: TableRow['training'], model: (f: Family) => string): TableRow => {
    // the clean row is one model; a Mult/Add row has one model per column (family)
    const summaries = Object.fromEntries(FAMILIES.map((f) => [f, results[model(f)]!.summary])) as Record<Family, Summary>
    const per = (pick: (f: Family, s: Summary) => number) => Object.fromEntries(FAMILIES.map((f) => [f, pick(f, summaries[f])])) as Record<Family, number>
    const cleans = FAMILIES.map((f) => summaries[f].cleanAccuracy)
    return {
      network,
      training,
      model: training === 'clean' ? model('linf') : `${network}-${training}-*`,
      clean: cleans.reduce((a, b) => a + b, 0) / cleans.length,
      mult: per((f, s) => accuracyUnder(s, TWINS[f].mult)),
      add: per((f, s) => accuracyUnder(s, TWINS[f].add)),
    }
  }
  const rows: TableRow[] = [rowOf('plain', 'clean', () => 'clean')]
  const gaps = {} as Record<Network, Record<Family, number>>
  for (const network of NETWORKS) {
    const mult = rowOf(network, 'mult', (f) => `${network}-mult-${f}`)
    const add = rowOf(network, 'add', (f) => `${network}-add-${f}`)
    rows.push(mult, add)
    gaps[network] = Object.fromEntries(FAMILIES.map((f) => [f, add.mult[f] - mult.mult[f]])) as Record<Family, number>
  }
  return { rows, gaps }
}

const pct = (v: number) => (100 * v).toFixed(1)
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(1)}`

/**
 * The paper's layout: Network | Clean | Training | MultAV-… columns, a Mult and an Add row per network
 * and the Add − Mult gap under them; then the same rows under the additive attacks. "Clean" is the
 * row's mean clean accuracy over its five models.
 */
export const tableMarkdown = (t: ReproduceTable): string => {
  const labels = FAMILIES.map((f) => TWINS[f].label)
  const training = { clean: 'Clean', mult: 'Mult', add: 'Add' } as const
  const section = (kind: 'mult' | 'add', title: string) => {
    const head = `| Network | Clean | Training | ${labels.map((l) => `${title}-${l}`).join(' | ')} |`
    const rule = `|---|---:|---|${labels.map(() => '---:').join('|')}|`
    const lines: string[] = [head, rule]
    t.rows.forEach((row, k) => {
      const first = k === 0 || t.rows[k - 1]!.network !== row.network
      lines.push(`| ${first ? NETWORK_LABEL[row.network] : ''} | ${pct(row.clean)} | ${training[row.training]} | ${FAMILIES.map((f) => pct(row[kind][f])).join(' | ')} |`)
      if (kind === 'mult' && row.training === 'add')
        lines.push(`|  |  | Add − Mult | ${FAMILIES.map((f) => signed(t.gaps[row.network][f])).join(' | ')} |`)
    })
    return lines.join('\n')
  }
  return [
    '### Accuracy (%) under the MultAV attacks',
    '',
    section('mult', 'MultAV'),
    '',
    '### Accuracy (%) under the additive attacks',
    '',
    section('add', 'Add'),
  ].join('\n')
}
