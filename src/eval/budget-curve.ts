/**
 * The accuracy-vs-budget curve of the four Lp attacks (Add-L∞, Mult-L∞, Add-L2, Mult-L2): accuracy on
 * the 8-bit quantised adversarial clips, as the evaluation table measures it, at a few budgets each.
 *
 * Budgets are multiples m ("levels") of the paper's default: an additive attack's radius is m·ε₀ and a
 * multiplicative attack's ratio bound is 1 + m·(ε₀ − 1), so that at each level the additive and
 * multiplicative attacks of one norm are paired as the paper pairs its defaults (4/255 ↔ 1.04 for L∞:
 * at a pixel of 0.4, the benchmark's mean, a ratio of 1.04 moves it by 0.016 ≈ 4/255). Level 0 is no
 * attack: the clean accuracy (the table's, on the float clip).
 *
 * The step is chosen per budget so that the step budget does not cap the curve: α = ε/q for the
 * additive attacks and α = ε^(1/q) for the multiplicative ones (a log-step of ln ε / q), q = 4 by
 * default, with `steps` = 8 = q + 4 iterations — four steps reach the boundary from the clean clip and
 * the others move along it. The paper's defaults (α = 1/255 with 5 steps, and an L2 step of 1/1227 rms
 * against a radius of 0.13 rms) do not scale with the budget: with them a curve flattens where the 5
 * steps run out, not where the model resists.
 *
 * @since 0.2.0
 */
import writeFileAtomic from 'write-file-atomic'
import { access, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ClipData } from '../core/clip.js'
import { InputError } from '../core/errors.js'
import type { Model } from '../core/model.js'
import { addL2, addLinf, multL2, multLinf } from '../dsl/attacks.js'
import type { Attack } from '../dsl/types.js'
import { budgetChart, type BudgetChartOptions } from './budget-chart.js'
import { svgToPng } from './svg-png.js'
import { evaluateChunk } from './chunk.js'
import { withFilterCache } from '../ops/conv3d.js'
import { openDataset, type DataRef } from './data.js'
import { csvField } from './results.js'
import { resolveModel } from '../models/pretrained.js'
import { wilson } from './wilson.js'
import { pooledBudgetCurve } from './budget-pool.js'
import type { BackendChoice } from '../backend/backend.js'
import type { EvalPool } from './pool.js'

/** The four Lp attacks, by their CLI names. */
export type LpAttackName = 'add-linf' | 'mult-linf' | 'add-l2' | 'mult-l2'
export type LpNorm = 'linf' | 'l2'

/** How one Lp attack's budget, step and value are made from a level. */
interface LpBudget {
  readonly norm: LpNorm
  readonly kind: 'additive' | 'multiplicative'
  /** The paper's default budget ε₀ (radius, or ratio bound), in the attack's own units. */
  readonly paper: number
  /** The units ε is given in, for labels. */
  readonly units: string
  readonly make: (eps: number, alpha: number, steps: number) => Attack
}

/** The four attacks' budgets (their defaults in src/dsl/attacks.ts; the L2 radii in rms units: ε_abs = ε·√N). */
export const LP_BUDGETS: Readonly<Record<LpAttackName, LpBudget>> = {
  'add-linf': { norm: 'linf', kind: 'additive', paper: 4 / 255, units: 'ε, ‖x′−x‖∞', make: (eps, alpha, steps) => addLinf({ eps, alpha, steps }) },
  'mult-linf': { norm: 'linf', kind: 'multiplicative', paper: 1.04, units: 'ratio bound, max(x′/x, x/x′)', make: (eps, alpha, steps) => multLinf({ eps, alpha, steps }) },
  'add-l2': { norm: 'l2', kind: 'additive', paper: 0.13, units: 'ε, rms per value (‖x′−x‖₂/√N)', make: (eps, alpha, steps) => addL2({ eps, alpha, steps }) },
  'mult-l2': { norm: 'l2', kind: 'multiplicative', paper: 1.32, units: 'ratio bound, rms per value (log reading)', make: (eps, alpha, steps) => multL2({ eps, alpha, steps }) },
}

export const LP_ATTACKS: ReadonlyArray<LpAttackName> = ['add-linf', 'mult-linf', 'add-l2', 'mult-l2']

/**
 * The default levels (multiples of the paper's budget), per norm. L∞: 0 to 4x (16/255, ratio 1.16).
 * L2: 0 to a quarter (0.0325 rms, ratio 1.08), because on the benchmark's 8x32x32 clips the paper's L2
 * radius of 0.13 rms per value (a ball that holds the L∞ ball of radius 33/255) leaves no clip
 * correct once the step scales with it (measured: 0 of 48 down to 0.03 rms).
 */
export const DEFAULT_LEVELS: Readonly<Record<LpNorm, ReadonlyArray<number>>> = {
  linf: [0, 0.5, 1, 2, 4],
  l2: [0, 1 / 32, 1 / 16, 1 / 8, 1 / 4],
}

/** One point of the curve: one attack at one budget. */
export interface BudgetPoint {
  readonly attack: LpAttackName
  readonly norm: LpNorm
  readonly kind: 'additive' | 'multiplicative'
  /** The budget as a multiple of the paper's default (0: no attack). */
  readonly level: number
  /** The attack's parameter that is varied (always `eps`: a radius, or a ratio bound). */
  readonly parameter: 'eps'
  /** ε at this level in the attack's own units (0, or a ratio of 1, at level 0). */
  readonly value: number
  /** The step (α; a factor for the multiplicative attacks) and the iterations (0 and 0 at level 0). */
  readonly alpha: number
  readonly steps: number
  readonly clips: number
  readonly correct: number
  /** correct / clips, and its Wilson 95% interval. */
  readonly accuracy: number
  readonly low: number
  readonly high: number
}

export interface BudgetProgress {
  readonly done: number
  readonly total: number
  /** The point just measured, and the seconds it took. */
  readonly point: BudgetPoint
  readonly seconds: number
}

export interface BudgetCurveOptions {
  /** Which attacks (default: the four). */
  readonly attacks?: ReadonlyArray<LpAttackName>
  /** Levels per norm (default DEFAULT_LEVELS); 0 is the clean accuracy, each other level one run of the attack. */
  readonly levels?: Partial<Record<LpNorm, ReadonlyArray<number>>>
  /** Iterations per budget (default 8). */
  readonly steps?: number
  /** q of the step rule α = ε/q, α = ε^(1/q) (default 4). */
  readonly stepFraction?: number
  /** Clips per batch (default: all in one). Random starts are seeded by the attack's seed + the batch's index, as in `eval`. */
  readonly batch?: number
  readonly onProgress?: (p: BudgetProgress) => void
  /** Stops before the next point when aborted (an InputError-free early return: the points so far). */
  readonly signal?: AbortSignal
}

/** ε and α of `attack` at `level` under the step rule q. */
export const budgetAt = (attack: LpAttackName, level: number, q: number): { eps: number; alpha: number } => {
  const b = LP_BUDGETS[attack]
  if (b.kind === 'additive') {
    const eps = level * b.paper
    return { eps, alpha: eps / q }
  }
  const eps = 1 + level * (b.paper - 1)
  return { eps, alpha: Math.exp(Math.log(eps) / q) }
}

const checkOptions = (clips: ClipData, labels: ReadonlyArray<number>, o: BudgetCurveOptions): string[] => {
  const problems: string[] = []
  const n = clips.shape[0]
  if (labels.length !== n) problems.push(`budgetCurve: ${n} clips but ${labels.length} labels`)
  if (n === 0) problems.push('budgetCurve: no clips')
  for (const a of o.attacks ?? []) if (!Object.hasOwn(LP_BUDGETS, a)) problems.push(`budgetCurve: attacks: unknown attack "${a}" (expected one of ${LP_ATTACKS.join(', ')})`)
  for (const [norm, levels] of Object.entries(o.levels ?? {}))
    for (const m of levels ?? [])
      if (!(Number.isFinite(m) && m >= 0)) problems.push(`budgetCurve: levels.${norm}: expected numbers ≥ 0 (multiples of the paper's budget), got ${m}`)
  if (o.steps !== undefined && !(Number.isInteger(o.steps) && o.steps >= 1)) problems.push(`budgetCurve: steps: expected an integer ≥ 1, got ${o.steps}`)
  if (o.stepFraction !== undefined && !(Number.isFinite(o.stepFraction) && o.stepFraction >= 1))
    problems.push(`budgetCurve: stepFraction: expected a number ≥ 1 (α = ε/q), got ${o.stepFraction}`)
  if (o.batch !== undefined && !(Number.isInteger(o.batch) && o.batch >= 1)) problems.push(`budgetCurve: batch: expected an integer ≥ 1, got ${o.batch}`)
  if (problems.length === 0)
    for (const { attack, level } of budgetPlan(o))
      if (level > 0 && LP_BUDGETS[attack].kind === 'multiplicative' && !(budgetAt(attack, level, 1).eps > 1))
        problems.push(`budgetCurve: levels.${LP_BUDGETS[attack].norm}: ${level} is too small for ${attack} (its ratio bound rounds to 1)`)
  return problems
}

/** The points `budgetCurve` measures, in order: each attack's distinct levels, ascending. */
export const budgetPlan = (o: Pick<BudgetCurveOptions, 'attacks' | 'levels'> = {}): Array<{ readonly attack: LpAttackName; readonly level: number }> =>
  (o.attacks ?? LP_ATTACKS).flatMap((attack) =>
    [...new Set(o.levels?.[LP_BUDGETS[attack].norm] ?? DEFAULT_LEVELS[LP_BUDGETS[attack].norm])].sort((a, b) => a - b).map((level) => ({ attack, level })),
  )

/** Whether `points` (read from a CSV) are the measurement `o` asks for on `clips` clips. */
const measures = (points: ReadonlyArray<BudgetPoint>, clips: number, o: BudgetCurveOptions): boolean => {
  const plan = budgetPlan(o)
  const steps = o.steps ?? 8
  const q = o.stepFraction ?? 4
  return (
    points.length === plan.length &&
    plan.every(({ attack, level }, k) => {
      const p = points[k]!
      const alpha = level === 0 ? 0 : budgetAt(attack, level, q).alpha
      return p.attack === attack && p.level === level && p.clips === clips && p.steps === (level === 0 ? 0 : steps) && Math.abs(p.alpha - alpha) <= 1e-12 * Math.max(1, alpha)
    })
  )
}

/** The clips `[from, to)` of a batch as its own ClipData. */
const slice = (clips: ClipData, from: number, to: number): ClipData => {
  const [, T, H, W, C] = clips.shape
  const size = T * H * W * C
  return { shape: [to - from, T, H, W, C], data: clips.data.subarray(from * size, to * size) }
}

/**
 * Measures the curve: for each attack and level, the clips still classified correctly after the
 * attack (8-bit quantised, as `eval`); at level 0 the clean clips. Points come in attack order, then
 * level order. Bad options are one InputError naming each problem. The model's weights are constants
 * for the curve: its attacks share one `withFilterCache` scope (derived filters made once).
 */
export const budgetCurve = async (model: Model, clips: ClipData, labels: ReadonlyArray<number>, o: BudgetCurveOptions = {}): Promise<BudgetPoint[]> => {
  const problems = checkOptions(clips, labels, o)
  if (problems.length > 0) throw new InputError(problems.join('\n'), problems)
  return withFilterCache(() => measureCurve(model, clips, labels, o))
}

const measureCurve = async (model: Model, clips: ClipData, labels: ReadonlyArray<number>, o: BudgetCurveOptions): Promise<BudgetPoint[]> => {
  const steps = o.steps ?? 8
  const q = o.stepFraction ?? 4
  const n = clips.shape[0]
  const batches = curveBatches(n, o)
  /** Clips correct under `attack` (none: the clean clips), over every batch. */
  const correctUnder = async (attack: Attack | undefined): Promise<number> => {
    let correct = 0
    for (const b of batches) {
      const ids = Array.from({ length: b.to - b.from }, (_, k) => b.from + k)
      const r = await evaluateChunk(model, attack ? [attack] : [], { index: b.index, ids, labels: labels.slice(b.from, b.to), clips: slice(clips, b.from, b.to) })
      correct += r.rows.filter((row) => row.adversarial === row.label).length
    }
    return correct
  }
  const plan = budgetPlan(o)
  const points: BudgetPoint[] = []
  let clean: number | undefined
  for (const { attack, level } of plan) {
    if (o.signal?.aborted) break
    const started = performance.now()
    const { eps, alpha } = budgetAt(attack, level, q)
    const correct = level === 0 ? (clean ??= await correctUnder(undefined)) : await correctUnder(LP_BUDGETS[attack].make(eps, alpha, steps))
    const point = pointOf(attack, level, correct, n, o)
    points.push(point)
    o.onProgress?.({ done: points.length, total: plan.length, point, seconds: (performance.now() - started) / 1000 })
  }
  return points
}

/** The curve's batches of `o.batch` clips (all `n` in one by default): chunk index c holds clips [from, to). */
export const curveBatches = (n: number, o: Pick<BudgetCurveOptions, 'batch'>): Array<{ readonly index: number; readonly from: number; readonly to: number }> => {
  const batch = o.batch ?? n
  return Array.from({ length: Math.ceil(n / batch) }, (_, c) => ({ index: c, from: c * batch, to: Math.min(n, (c + 1) * batch) }))
}

/** The point of `attack` at `level` where `correct` of `n` clips stayed correct. */
export const pointOf = (attack: LpAttackName, level: number, correct: number, n: number, o: Pick<BudgetCurveOptions, 'steps' | 'stepFraction'>): BudgetPoint => {
  const steps = o.steps ?? 8
  const b = LP_BUDGETS[attack]
  const { eps, alpha } = budgetAt(attack, level, o.stepFraction ?? 4)
  const [low, high] = wilson(correct, n)
  return {
    attack,
    norm: b.norm,
    kind: b.kind,
    level,
    parameter: 'eps',
    value: eps,
    alpha: level === 0 ? 0 : alpha,
    steps: level === 0 ? 0 : steps,
    clips: n,
    correct,
    accuracy: correct / n,
    low,
    high,
  }
}

/** The CSV's columns, in order. */
export const BUDGET_CSV_COLUMNS = ['attack', 'norm', 'kind', 'level', 'parameter', 'value', 'alpha', 'steps', 'clips', 'correct', 'accuracy', 'low', 'high'] as const

/** The points as RFC 4180 CSV (a header line, one line per point, CRLF line ends), as results.csv. */
export const budgetCsv = (points: ReadonlyArray<BudgetPoint>): string =>
  [BUDGET_CSV_COLUMNS.join(','), ...points.map((p) => BUDGET_CSV_COLUMNS.map((c) => csvField(p[c])).join(','))].map((line) => `${line}\r\n`).join('')

/** Reads what `budgetCsv` wrote (its columns, in any order); an InputError names the first bad line. */
export const parseBudgetCsv = (text: string): BudgetPoint[] => {
  const lines = text.split(/\r?\n/).filter((l) => l !== '')
  const header = (lines[0] ?? '').split(',')
  const missing = BUDGET_CSV_COLUMNS.filter((c) => !header.includes(c))
  if (missing.length > 0) throw new InputError(`budget curve CSV: missing column(s) ${missing.join(', ')}`)
  return lines.slice(1).map((line, k) => {
    const cells = line.split(',')
    if (cells.length !== header.length) throw new InputError(`budget curve CSV line ${k + 2}: ${cells.length} fields, expected ${header.length}`)
    const get = (c: string) => cells[header.indexOf(c)]!
    const num = (c: string) => {
      const v = Number(get(c))
      if (get(c) === '' || !Number.isFinite(v)) throw new InputError(`budget curve CSV line ${k + 2}: ${c}: expected a number, got "${get(c)}"`)
      return v
    }
    const attack = get('attack')
    if (!Object.hasOwn(LP_BUDGETS, attack)) throw new InputError(`budget curve CSV line ${k + 2}: unknown attack "${attack}"`)
    const b = LP_BUDGETS[attack as LpAttackName]
    if (get('norm') !== b.norm || get('kind') !== b.kind || get('parameter') !== 'eps')
      throw new InputError(`budget curve CSV line ${k + 2}: norm, kind and parameter must be ${b.norm}, ${b.kind}, eps for ${attack}`)
    return {
      attack: attack as LpAttackName,
      norm: b.norm,
      kind: b.kind,
      level: num('level'),
      parameter: 'eps',
      value: num('value'),
      alpha: num('alpha'),
      steps: num('steps'),
      clips: num('clips'),
      correct: num('correct'),
      accuracy: num('accuracy'),
      low: num('low'),
      high: num('high'),
    }
  })
}

/** The chart's subject for the first `clips` clips of the benchmark's test split on the shipped default model. */
export const benchmarkSubject = (clips: number): string => `${clips} benchmark test clips (${+(clips / 6).toFixed(1)} per class), the default model`

export const BUDGET_FILES = ['budget-curve.svg', 'budget-curve.png', 'budget-curve.csv'] as const

export interface WrittenCurve {
  /** The files there now (written, or found). */
  readonly files: ReadonlyArray<string>
  /** False when the CSV was already there (nothing measured: the pictures missing were drawn from it). */
  readonly measured: boolean
  /** Why there is no PNG, when there is none. */
  readonly pngMissing?: string
  /** Set when `signal` stopped the measurement: nothing was written. */
  readonly stopped?: true
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  )

/**
 * Measures the curve and writes `budget-curve.csv`, `.svg` and `.png` into `dir` (atomically; the PNG
 * where an SVG renderer and a font are available, see `svgToPng`). Resumable: the CSV is the
 * measurement, so when it is there and holds the points `o` asks for on these clips nothing is
 * measured, and a missing SVG or PNG is drawn from it; a CSV of other options or clips is measured
 * again and all three files are replaced.
 */
export const writeBudgetCurve = (
  dir: string,
  model: Model,
  clips: ClipData,
  labels: ReadonlyArray<number>,
  o: BudgetCurveOptions & { readonly chart?: BudgetChartOptions } = {},
): Promise<WrittenCurve> => writeCurve(dir, clips.shape[0], () => budgetCurve(model, clips, labels, o), o)

/** writeBudgetCurve, the points of `n` clips measured by `measure` unless the CSV holds them. */
const writeCurve = async (
  dir: string,
  n: number,
  measure: () => Promise<BudgetPoint[]>,
  o: BudgetCurveOptions & { readonly chart?: BudgetChartOptions },
): Promise<WrittenCurve> => {
  const [svgFile, pngFile, csvFile] = BUDGET_FILES.map((f) => join(dir, f)) as [string, string, string]
  const previous = (await exists(csvFile)) ? parseBudgetCsv(await readFile(csvFile, 'utf8')) : undefined
  const resumed = previous !== undefined && measures(previous, n, o)
  const points = resumed ? previous : await measure()
  if (o.signal?.aborted && !resumed) return { files: [], measured: false, stopped: true }
  const svg = budgetChart(points, o.chart)
  if (!resumed) {
    await writeFileAtomic(csvFile, budgetCsv(points))
    await rm(pngFile, { force: true })
  }
  if (!resumed || !(await exists(svgFile))) await writeFileAtomic(svgFile, svg)
  if (await exists(pngFile)) return { files: [svgFile, pngFile, csvFile], measured: !resumed }
  const png = await svgToPng(svg)
  if (typeof png === 'string') return { files: [svgFile, csvFile], measured: !resumed, pngMissing: png }
  await writeFileAtomic(pngFile, png)
  return { files: [svgFile, pngFile, csvFile], measured: !resumed }
}

/** Clips of a run's data for its curve: the first `n` of the benchmark (class-balanced in multiples of 6), else `n` spread evenly over the items (sorted by class). */
export const curveIds = (data: Pick<DataRef, 'kind'>, size: number, n: number): number[] =>
  Array.from({ length: n }, (_, k) => (data.kind === 'benchmark' ? k : Math.floor((k * size) / n)))

/**
 * The curve of an evaluation run (what `multav eval --budget-curve N` writes): the model by its
 * reference (a shipped name or a folder), the first N clips of the run's data (see above; clips that
 * cannot be read are left out), on the backend already initialised in this thread, or with
 * `workers` ≥ 2 in that many worker threads on `backend` (`pooledBudgetCurve`: the same points; in
 * `pool` when given, e.g. the one the run's table used).
 */
export const writeRunBudgetCurve = async (
  dir: string,
  modelRef: string,
  data: DataRef,
  clips: number,
  o: BudgetCurveOptions & { readonly chart?: BudgetChartOptions; readonly workers?: number; readonly backend?: BackendChoice; readonly pool?: EvalPool } = {},
): Promise<WrittenCurve & { readonly clips: number }> => {
  if (!(Number.isInteger(clips) && clips >= 1)) throw new InputError(`budget curve: clips must be an integer ≥ 1, got ${clips}`)
  const set = openDataset(data)
  const ids = curveIds(data, set.size, Math.min(clips, set.size))
  const { clips: batch, failed } = await set.loadReadable(ids)
  const readable = ids.flatMap((id, k) => (failed.has(id) ? [] : [k]))
  const [, T, H, W, C] = batch.shape
  const size = T * H * W * C
  const kept: ClipData = { shape: [readable.length, T, H, W, C], data: new Float32Array(readable.length * size) }
  readable.forEach((k, j) => kept.data.set(batch.data.subarray(k * size, (k + 1) * size), j * size))
  const labels = readable.map((k) => set.labels[ids[k]!]!)
  const subject = data.kind === 'benchmark' && data.split === 'test' && modelRef === 'default' ? benchmarkSubject(readable.length) : `${readable.length} clips of ${data.kind === 'benchmark' ? `the benchmark's ${data.split} split` : data.root}, model ${modelRef}`
  const options = { ...o, chart: { subject, ...o.chart } }
  if ((o.workers ?? 1) > 1) {
    const pooled = { backend: o.backend ?? 'auto', model: modelRef, data, ids: readable.map((k) => ids[k]!), workers: o.workers!, ...(o.pool ? { pool: o.pool } : {}) }
    const problems = checkOptions(kept, labels, o)
    if (problems.length > 0) throw new InputError(problems.join('\n'), problems)
    return { ...(await writeCurve(dir, readable.length, () => pooledBudgetCurve(pooled, o), options)), clips: readable.length }
  }
  const net = await resolveModel(modelRef)
  try {
    return { ...(await writeBudgetCurve(dir, net.model, kept, labels, options)), clips: readable.length }
  } finally {
    net.dispose()
  }
}
