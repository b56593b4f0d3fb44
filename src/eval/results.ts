/**
 * Evaluation results on disk and as tables.
 *
 * A run folder holds `run.json` (what was evaluated: model, data, attacks, chunking, shard — a resumed
 * run must match it), `rows.jsonl` (one line per clip and attack, appended one chunk at a time, so an
 * interrupted run loses at most the chunk in flight), and when the run is complete `results.json` and
 * `results.md`. `multav merge` combines the rows of shard folders into one result.
 *
 * @since 0.1.0
 */
import { existsSync } from 'node:fs'
import { appendFile, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import type { Row } from './chunk.js'

/** What a run evaluates; two runs (or shards) with equal plans give comparable rows. */
export interface RunPlan {
  readonly model: string
  /** The model's classes, from its model.json. */
  readonly classes: ReadonlyArray<string>
  readonly data: unknown
  /** Clips in the dataset (after --limit). */
  readonly clips: number
  /** The attacks as JSON specs, in table order. */
  readonly attacks: ReadonlyArray<unknown>
  readonly attackNames: ReadonlyArray<string>
  /** Clips per chunk: results depend on it (random starts are seeded per chunk), not on workers. */
  readonly batch: number
  readonly shard: { readonly index: number; readonly count: number }
}

export const ROWS = 'rows.jsonl'
export const PLAN = 'run.json'

/** The chunks of shard i/n: chunk c covers clips [c·batch, (c+1)·batch) and belongs to shard c mod n. */
export const shardChunks = (plan: Pick<RunPlan, 'clips' | 'batch' | 'shard'>): number[] =>
  Array.from({ length: Math.ceil(plan.clips / plan.batch) }, (_, c) => c).filter((c) => c % plan.shard.count === plan.shard.index)

export const chunkIds = (plan: Pick<RunPlan, 'clips' | 'batch'>, c: number): number[] =>
  Array.from({ length: Math.min(plan.batch, plan.clips - c * plan.batch) }, (_, k) => c * plan.batch + k)

/** Parses `--shard i/n` (0-based i < n). */
export const parseShard = (text: string): { index: number; count: number } | string => {
  const m = /^(\d+)\/(\d+)$/.exec(text)
  const [index, count] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN]
  return m && count >= 1 && index < count ? { index, count } : `--shard must be i/n with 0 ≤ i < n (e.g. 0/4), got "${text}"`
}

/** The rows already in a run folder; a last line cut short by a crash is ignored. */
export const readRows = async (dir: string): Promise<Row[]> => {
  const file = join(dir, ROWS)
  if (!existsSync(file)) return []
  const lines = (await readFile(file, 'utf8')).split('\n')
  const rows: Row[] = []
  lines.forEach((line, k) => {
    if (line.trim() === '') return
    try {
      rows.push(JSON.parse(line) as Row)
    } catch {
      // only the final line may be cut short (the run was killed while appending it)
      if (k < lines.length - 1 && lines.slice(k + 1).some((l) => l.trim() !== '')) throw new Error(`${file}:${k + 1}: not a JSON row`)
    }
  })
  return rows
}

/**
 * Prepares a run folder: a new run writes its plan; a resumed one checks that the plan is the same
 * and keeps the rows of complete chunks only (rewritten atomically). Returns the chunks already done.
 */
export const openRun = async (dir: string, plan: RunPlan, resume: boolean): Promise<{ done: Set<number>; rows: Row[] }> => {
  await mkdir(dir, { recursive: true })
  const planFile = join(dir, PLAN)
  if (!existsSync(planFile)) {
    if (existsSync(join(dir, ROWS))) throw new Error(`${dir}: has ${ROWS} but no ${PLAN}; not a multav run folder`)
    await writeFileAtomic(planFile, `${JSON.stringify(plan, null, 2)}\n`)
    return { done: new Set(), rows: [] }
  }
  if (!resume) throw new Error(`${dir}: already holds a run; pass --resume to continue it, or choose another --out`)
  const previous = JSON.parse(await readFile(planFile, 'utf8')) as RunPlan
  const differs = (Object.keys(plan) as (keyof RunPlan)[]).filter((k) => JSON.stringify(previous[k]) !== JSON.stringify(plan[k]))
  if (differs.length > 0) throw new Error(`${dir}: cannot resume, the run there differs in ${differs.join(', ')}`)
  const all = await readRows(dir)
  const expected = (c: number) => chunkIds(plan, c).length * Math.max(1, plan.attackNames.length)
  const byChunk = new Map<number, Row[]>()
  for (const r of all) {
    const c = Math.floor(r.clip / plan.batch)
    byChunk.set(c, [...(byChunk.get(c) ?? []), r])
  }
  const done = new Set([...byChunk].filter(([c, rs]) => rs.length === expected(c)).map(([c]) => c))
  const rows = all.filter((r) => done.has(Math.floor(r.clip / plan.batch)))
  if (rows.length !== all.length) await writeFileAtomic(join(dir, ROWS), rows.map((r) => `${JSON.stringify(r)}\n`).join(''))
  return { done, rows }
}

/** Appends one chunk's rows in a single write. */
export const appendRows = (dir: string, rows: ReadonlyArray<Row>): Promise<void> =>
  appendFile(join(dir, ROWS), rows.map((r) => `${JSON.stringify(r)}\n`).join(''))

/** Rows in table order: by attack (the plan's order), then clip. */
export const sortRows = (rows: ReadonlyArray<Row>, attackNames: ReadonlyArray<string>): Row[] =>
  [...rows].sort((a, b) => attackNames.indexOf(a.attack) - attackNames.indexOf(b.attack) || a.clip - b.clip)

export interface AttackSummary {
  readonly attack: string
  readonly clips: number
  /** Accuracy on the quantised adversarial clips, in [0, 1]. */
  readonly accuracy: number
  /** Fraction of the clips the model classified correctly that the attack flipped. */
  readonly successOnCorrect: number
  readonly maxLinf: number
  readonly meanL2: number
  /** Largest achieved ratio (null: some positive pixel went to 0). */
  readonly maxRatio: number | null
  readonly secondsPerClip: number
}

export interface Summary {
  readonly clips: number
  readonly cleanAccuracy: number
  readonly attacks: ReadonlyArray<AttackSummary>
}

export const summarise = (rows: ReadonlyArray<Row>, attackNames: ReadonlyArray<string>): Summary => {
  const clipsSeen = new Map(rows.map((r) => [r.clip, r]))
  const cleanAccuracy = mean([...clipsSeen.values()].map((r) => (r.clean === r.label ? 1 : 0)))
  const attacks = attackNames.map((attack): AttackSummary => {
    const rs = rows.filter((r) => r.attack === attack)
    const correct = rs.filter((r) => r.clean === r.label)
    const ratios = rs.map((r) => r.ratio)
    return {
      attack,
      clips: rs.length,
      accuracy: mean(rs.map((r) => (r.adversarial === r.label ? 1 : 0))),
      successOnCorrect: mean(correct.map((r) => (r.success ? 1 : 0))),
      maxLinf: Math.max(0, ...rs.map((r) => r.linf)),
      meanL2: mean(rs.map((r) => r.l2)),
      maxRatio: ratios.includes(null) ? null : Math.max(1, ...(ratios as number[])),
      secondsPerClip: mean(rs.map((r) => r.seconds)),
    }
  })
  return { clips: clipsSeen.size, cleanAccuracy, attacks }
}

const mean = (v: ReadonlyArray<number>): number => (v.length === 0 ? Number.NaN : v.reduce((s, x) => s + x, 0) / v.length)

const pct = (v: number) => (Number.isNaN(v) ? '–' : `${(100 * v).toFixed(1)}`)

/** The summary as table cells: a header and one row per line (clean first). */
const cells = (s: Summary): string[][] => [
  ['attack', 'accuracy %', 'success % (of correct)', "max ‖x'−x‖∞", "mean ‖x'−x‖₂", "max x'/x ratio", 's / clip'],
  ['clean', pct(s.cleanAccuracy), '', '', '', '', ''],
  ...s.attacks.map((a) => [
    a.attack,
    pct(a.accuracy),
    pct(a.successOnCorrect),
    a.maxLinf.toFixed(4),
    a.meanL2.toFixed(3),
    a.maxRatio === null ? '∞' : a.maxRatio.toFixed(3),
    a.secondsPerClip.toFixed(2),
  ]),
]

export const markdownTable = (s: Summary): string => {
  const [head, ...body] = cells(s)
  const line = (r: ReadonlyArray<string>) => `| ${r.join(' | ')} |`
  return [line(head!), line(head!.map((_, k) => (k === 0 ? '---' : '---:'))), ...body.map(line)].join('\n')
}

export const terminalTable = (s: Summary): string => {
  const rows = cells(s)
  const widths = rows[0]!.map((_, k) => Math.max(...rows.map((r) => [...r[k]!].length)))
  const line = (r: ReadonlyArray<string>) => r.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join('  ')
  return [line(rows[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}

/** Writes results.json (plan, summary, sorted rows) and results.md; returns the summary. */
export const writeResults = async (dir: string, plan: RunPlan, rows: ReadonlyArray<Row>, meta: Record<string, unknown>): Promise<Summary> => {
  const sorted = sortRows(rows, plan.attackNames.length > 0 ? plan.attackNames : ['clean'])
  const summary = summarise(sorted, plan.attackNames)
  await writeFileAtomic(join(dir, 'results.json'), `${JSON.stringify({ plan, meta, summary, rows: sorted }, null, 1)}\n`)
  await writeFileAtomic(
    join(dir, 'results.md'),
    `# multav eval: ${plan.model} on ${describe(plan.data)}\n\n${markdownTable(summary)}\n\n${summary.clips} clips; success and accuracy on 8-bit quantised clips.\n`,
  )
  return summary
}

const describe = (data: unknown): string => {
  const d = data as { kind?: string; split?: string; root?: string }
  return d.kind === 'benchmark' ? `the benchmark's ${d.split} split` : (d.root ?? 'data')
}

/**
 * Combines shard folders into `out`: the plans must be the same run (all but the shard) and the shards
 * 0…n−1 all present and complete.
 */
export const mergeRuns = async (dirs: ReadonlyArray<string>, out: string): Promise<{ plan: RunPlan; summary: Summary }> => {
  if (dirs.length === 0) throw new Error('merge needs the shard folders to combine')
  const plans = await Promise.all(
    dirs.map(async (d) => {
      try {
        return JSON.parse(await readFile(join(d, PLAN), 'utf8')) as RunPlan
      } catch (e) {
        throw new Error(`${d}: not a multav run folder (${PLAN}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
      }
    }),
  )
  const first = plans[0]!
  const strip = (p: RunPlan) => JSON.stringify({ ...p, shard: undefined })
  plans.forEach((p, k) => {
    if (strip(p) !== strip(first)) throw new Error(`${dirs[k]}: a different run from ${dirs[0]} (model, data, attacks or batch differ)`)
    if (p.shard.count !== first.shard.count) throw new Error(`${dirs[k]}: shard ${p.shard.index}/${p.shard.count}, but ${dirs[0]} is one of ${first.shard.count}`)
  })
  const indices = plans.map((p) => p.shard.index)
  const missing = Array.from({ length: first.shard.count }, (_, i) => i).filter((i) => !indices.includes(i))
  if (missing.length > 0) throw new Error(`merge: shard(s) ${missing.map((i) => `${i}/${first.shard.count}`).join(', ')} missing`)
  if (new Set(indices).size !== indices.length) throw new Error('merge: the same shard is given twice')
  const rows: Row[] = []
  for (const [k, d] of dirs.entries()) {
    const shardRows = await readRows(d)
    const expected = shardChunks(plans[k]!).reduce((s, c) => s + chunkIds(first, c).length, 0) * Math.max(1, first.attackNames.length)
    if (shardRows.length !== expected) throw new Error(`${d}: shard ${plans[k]!.shard.index}/${first.shard.count} is incomplete (${shardRows.length} of ${expected} rows); finish it with --resume`)
    rows.push(...shardRows)
  }
  const plan = { ...first, shard: { index: 0, count: 1 } }
  await mkdir(out, { recursive: true })
  await writeFileAtomic(join(out, PLAN), `${JSON.stringify(plan, null, 2)}\n`)
  await writeFileAtomic(join(out, ROWS), sortRows(rows, plan.attackNames).map((r) => `${JSON.stringify(r)}\n`).join(''))
  const summary = await writeResults(out, plan, rows, { mergedFrom: dirs })
  return { plan, summary }
}
