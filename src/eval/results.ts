/**
 * Evaluation results on disk and as tables.
 *
 * A run folder holds `run.json` (what was evaluated: model, data, attacks, chunking, shard — a resumed
 * run must match it), `rows.jsonl` (one line per clip and attack, appended one chunk at a time, so an
 * interrupted run loses at most the chunk in flight), `lock.json` while a run holds it (lock.ts), and
 * when the run is complete `results.json`, `results.md` and `results.csv` (the rows, one line each). Rows are checked key by key — one row per
 * (clip, attack) of the plan, no more, no less — when a run resumes and when `multav merge` combines
 * the rows of shard folders into one result. Every user-fixable problem is a RunFolderError.
 *
 * @since 0.1.0
 */
import { version_core } from '@tensorflow/tfjs-core'
import { constants, existsSync, readFileSync } from 'node:fs'
import { appendFile, copyFile, mkdir, readdir, readFile, realpath } from 'node:fs/promises'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import writeFileAtomic from 'write-file-atomic'
import { flippedOf, withFlipped, type Row } from './chunk.js'
import { RunFolderError, isStale, lockedMessage, readLock, withLock } from './lock.js'
import { wilson, type Interval } from './wilson.js'

export { RunFolderError } from './lock.js'

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

/** The attack names of a plan's rows: its attacks, or `clean` alone when it has none. */
export const rowAttacks = (plan: Pick<RunPlan, 'attackNames'>): ReadonlyArray<string> => (plan.attackNames.length > 0 ? plan.attackNames : ['clean'])

/**
 * Refuses a plan whose rows could not be told apart or counted: a reserved or repeated attack name, a
 * batch or clip count that is not a whole number of clips, a shard outside its count.
 */
export const checkPlan = (plan: Pick<RunPlan, 'attackNames' | 'batch' | 'clips' | 'shard'>): void => {
  const fail = (what: string) => {
    throw new RunFolderError(`run plan: ${what}`)
  }
  if (!(Number.isInteger(plan.batch) && plan.batch >= 1)) fail(`batch must be an integer ≥ 1 (clips per chunk), got ${plan.batch}`)
  if (!(Number.isInteger(plan.clips) && plan.clips >= 1)) fail(`clips must be an integer ≥ 1, got ${plan.clips}`)
  const { index, count } = plan.shard
  if (!(Number.isInteger(count) && count >= 1 && Number.isInteger(index) && index >= 0 && index < count)) fail(`shard must be i/n with 0 ≤ i < n, got ${index}/${count}`)
  if (plan.attackNames.includes('clean')) fail('the attack name "clean" is reserved for the clean row of the table; rename that attack (its spec\'s "name")')
  const twice = plan.attackNames.filter((n, k) => plan.attackNames.indexOf(n) !== k)
  if (twice.length > 0) fail(`attack names must be unique in a run, "${[...new Set(twice)].join('", "')}" appear more than once (rename them in their specs)`)
}

/** One line of rows.jsonl: its 1-based line number, its text (without the newline) and its row. */
interface Line {
  readonly line: number
  readonly text: string
  readonly row: Row
}

/** The complete lines of a rows file and whether a last line was cut short (no newline: killed while appending). */
const readLines = async (dir: string): Promise<{ lines: Line[]; torn: boolean }> => {
  const file = join(dir, ROWS)
  if (!existsSync(file)) return { lines: [], torn: false }
  const texts = (await readFile(file, 'utf8')).split('\n')
  const tail = texts.pop()! // after the last newline: '' unless the last append was cut short
  const lines: Line[] = []
  texts.forEach((text, k) => {
    if (text.trim() === '') return
    let row: unknown
    try {
      row = JSON.parse(text)
    } catch {
      throw new RunFolderError(`${file}:${k + 1}: not a JSON row (only a cut-short last line is skipped)`)
    }
    const r = row as Partial<Row> | null
    if (typeof r !== 'object' || r === null || !Number.isInteger(r.clip) || typeof r.attack !== 'string')
      throw new RunFolderError(`${file}:${k + 1}: not a multav row (expected an object with an integer "clip" and a string "attack")`)
    // rows from before `flipped` get it derived; `text` stays as written, so a resumed folder keeps its bytes
    lines.push({ line: k + 1, text, row: withFlipped(row as Row) })
  })
  return { lines, torn: tail !== '' }
}

/** The rows already in a run folder; a last line cut short by a crash is ignored. */
export const readRows = async (dir: string): Promise<Row[]> => (await readLines(dir)).lines.map((l) => l.row)

const rowKey = (r: Pick<Row, 'clip' | 'attack'>) => JSON.stringify([r.clip, r.attack])

const clipRange = (plan: Pick<RunPlan, 'clips' | 'batch'>, c: number): string => {
  const ids = chunkIds(plan, c)
  return ids.length === 1 ? `clip ${ids[0]}` : `clips ${ids[0]}–${ids[ids.length - 1]}`
}

/**
 * Checks rows key by key against the plan: every (clip, attack) at most once, every clip in one of this
 * shard's chunks and every attack one of the plan's; returns the lines of each chunk.
 */
const rowsByChunk = (lines: ReadonlyArray<Line>, plan: RunPlan, where: string): Map<number, Line[]> => {
  const chunks = new Set(shardChunks(plan))
  const attacks = new Set(rowAttacks(plan))
  const seen = new Map<string, number>()
  const byChunk = new Map<number, Line[]>()
  for (const l of lines) {
    const { clip, attack } = l.row
    const at = `${where}:${l.line}`
    const chunk = Math.floor(clip / plan.batch)
    if (!attacks.has(attack)) throw new RunFolderError(`${at}: a row for attack ${JSON.stringify(attack)}, which is not in the run's plan (${[...attacks].map((a) => JSON.stringify(a)).join(', ')})`)
    if (clip < 0 || clip >= plan.clips || !chunks.has(chunk))
      throw new RunFolderError(`${at}: a row for clip ${clip}, which is not in shard ${plan.shard.index}/${plan.shard.count} of the run's ${plan.clips} clips`)
    const key = rowKey(l.row)
    const first = seen.get(key)
    if (first !== undefined) throw new RunFolderError(`${at}: clip ${clip} under ${JSON.stringify(attack)} appears twice (also line ${first}); was the folder written by two runs at once?`)
    seen.set(key, l.line)
    const lines = byChunk.get(chunk)
    if (lines) lines.push(l)
    else byChunk.set(chunk, [l])
  }
  return byChunk
}

/** Whether a chunk's lines hold every (clip, attack) of the plan (they are already known to be distinct and in the plan). */
const chunkComplete = (plan: RunPlan, c: number, lines: ReadonlyArray<Line> | undefined): boolean =>
  (lines?.length ?? 0) === chunkIds(plan, c).length * rowAttacks(plan).length

const readPlan = async (file: string): Promise<RunPlan> => {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    throw new RunFolderError(`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); not a multav run folder?`)
  }
  let plan: unknown
  try {
    plan = JSON.parse(text)
  } catch {
    throw new RunFolderError(`${file}: not valid JSON (cut short?); not a multav run folder, or a damaged one: choose another --out`)
  }
  const problem = planProblem(plan)
  if (problem !== undefined) throw new RunFolderError(`${file}: ${problem}; not a multav run folder, or a damaged one: choose another --out`)
  return plan as RunPlan
}

/** What is wrong with the shape of a parsed run.json, if anything (the fields resume and merge read). */
const planProblem = (p: unknown): string | undefined => {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return `expected a JSON object, got ${p === null ? 'null' : Array.isArray(p) ? 'an array' : typeof p}`
  const o = p as Record<string, unknown>
  const whole = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min
  if (typeof o['model'] !== 'string') return 'model must be a string'
  if (!Array.isArray(o['attackNames']) || !o['attackNames'].every((n) => typeof n === 'string')) return 'attackNames must be a list of names'
  if (!whole(o['clips'], 1) || !whole(o['batch'], 1)) return 'clips and batch must be integers ≥ 1'
  const shard = o['shard'] as { index?: unknown; count?: unknown } | null | undefined
  if (typeof shard !== 'object' || shard === null || !whole(shard.count, 1) || !whole(shard.index, 0) || (shard.index as number) >= (shard.count as number))
    return 'shard must be {index, count} with 0 ≤ index < count'
  return undefined
}

/**
 * Prepares a run folder: a new run writes its plan; a resumed one checks that the plan is the same,
 * checks its rows key by key (duplicated rows or rows outside the plan are refused, naming the line)
 * and keeps the rows of complete chunks only, without a last line cut short (rewritten atomically, so
 * the next append starts on a fresh line). Returns the chunks already done. The caller holds the
 * folder's lock (runEval does).
 */
export const openRun = async (dir: string, plan: RunPlan, resume: boolean): Promise<{ done: Set<number>; rows: Row[] }> => {
  checkPlan(plan)
  await makeFolder(dir)
  const planFile = join(dir, PLAN)
  if (!existsSync(planFile)) {
    if (existsSync(join(dir, ROWS))) throw new RunFolderError(`${dir}: has ${ROWS} but no ${PLAN}; not a multav run folder`)
    await writeFileAtomic(planFile, `${JSON.stringify(plan, null, 2)}\n`)
    return { done: new Set(), rows: [] }
  }
  if (!resume) throw new RunFolderError(`${dir}: already holds a run; pass --resume to continue it, or choose another --out`)
  const previous = await readPlan(planFile)
  const differs = (Object.keys(plan) as (keyof RunPlan)[]).filter((k) => JSON.stringify(previous[k]) !== JSON.stringify(plan[k]))
  if (differs.length > 0) throw new RunFolderError(`${dir}: cannot resume, the run there differs in ${differs.join(', ')}`)
  const { lines, torn } = await readLines(dir)
  const byChunk = rowsByChunk(lines, plan, join(dir, ROWS))
  const done = new Set([...byChunk.keys()].filter((c) => chunkComplete(plan, c, byChunk.get(c))))
  const kept = lines.filter((l) => done.has(Math.floor(l.row.clip / plan.batch)))
  if (kept.length !== lines.length || torn) await writeFileAtomic(join(dir, ROWS), kept.map((l) => `${l.text}\n`).join(''))
  return { done, rows: kept.map((l) => l.row) }
}

/** mkdir -p, with a one-line reason when something is in the way. */
export const makeFolder = async (dir: string): Promise<void> => {
  if (dir === '') throw new RunFolderError('the run folder is an empty path; pass --out DIR')
  await mkdir(dir, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    const why = e.code === 'EEXIST' || e.code === 'ENOTDIR' ? 'a file is in the way' : e.code === 'EACCES' || e.code === 'EROFS' ? 'not writable' : e.code ?? e.message
    throw new RunFolderError(`${dir}: cannot create the run folder (${why})`)
  })
}

/** Appends one chunk's rows in a single write. */
export const appendRows = (dir: string, rows: ReadonlyArray<Row>): Promise<void> =>
  appendFile(join(dir, ROWS), rows.map((r) => `${JSON.stringify(r)}\n`).join(''))

/** Rows in table order: by attack (the plan's order), then clip. */
export const sortRows = (rows: ReadonlyArray<Row>, attackNames: ReadonlyArray<string>): Row[] =>
  [...rows].sort((a, b) => attackNames.indexOf(a.attack) - attackNames.indexOf(b.attack) || a.clip - b.clip)

export interface AttackSummary {
  readonly attack: string
  /** Clips evaluated (unreadable ones are not). */
  readonly clips: number
  /** Accuracy on the quantised adversarial clips, in [0, 1] (NaN: no clips). */
  readonly accuracy: number
  /** Its Wilson 95% score interval (NaN, NaN: no clips). Always set by `summarise`. */
  readonly accuracyInterval?: Interval
  /**
   * Among the clips the model classified correctly, the fraction where the attack succeeded: flipped
   * (untargeted), or sent to its target (targeted).
   */
  readonly successOnCorrect: number
  /** Its Wilson 95% score interval. Always set by `summarise`. */
  readonly successOnCorrectInterval?: Interval
  /** Clips the model classified correctly before the attack (the denominator of successOnCorrect). */
  readonly correct?: number
  /** Clips flipped: correct before the attack, wrong after it (rows' `flipped`). */
  readonly flipped?: number
  readonly maxLinf: number
  readonly meanL2: number
  /** Largest achieved ratio (null: some positive pixel went to 0). */
  readonly maxRatio: number | null
  readonly secondsPerClip: number
}

export interface Summary {
  /** Clips evaluated. */
  readonly clips: number
  /** Clips whose file could not be read: recorded as failed rows, not counted in any figure (absent: 0). */
  readonly unreadable?: number
  readonly cleanAccuracy: number
  /** Its Wilson 95% score interval. Always set by `summarise`. */
  readonly cleanAccuracyInterval?: Interval
  readonly attacks: ReadonlyArray<AttackSummary>
}

/** Rows that were evaluated (not failed for an unreadable clip). */
const evaluated = (rows: ReadonlyArray<Row>): Row[] => rows.filter((r) => r.error === undefined)

export const summarise = (all: ReadonlyArray<Row>, attackNames: ReadonlyArray<string>): Summary => {
  const rows = evaluated(all)
  const clipsSeen = new Map(rows.map((r) => [r.clip, r]))
  const unreadable = new Set(all.filter((r) => r.error !== undefined).map((r) => r.clip)).size
  const cleanCorrect = count([...clipsSeen.values()], (r) => r.clean === r.label)
  const attacks = attackNames.map((attack): AttackSummary => {
    const rs = rows.filter((r) => r.attack === attack)
    const correct = rs.filter((r) => r.clean === r.label)
    const accurate = count(rs, (r) => r.adversarial === r.label)
    const succeeded = count(correct, (r) => r.success)
    const ratios = rs.map((r) => r.ratio)
    const none = rs.length === 0
    return {
      attack,
      clips: rs.length,
      accuracy: ratio(accurate, rs.length),
      accuracyInterval: wilson(accurate, rs.length),
      successOnCorrect: ratio(succeeded, correct.length),
      successOnCorrectInterval: wilson(succeeded, correct.length),
      correct: correct.length,
      flipped: count(rs, flippedOf),
      maxLinf: none ? Number.NaN : Math.max(0, ...rs.map((r) => r.linf)),
      meanL2: mean(rs.map((r) => r.l2)),
      maxRatio: none ? Number.NaN : ratios.includes(null) ? null : Math.max(1, ...(ratios as number[])),
      secondsPerClip: mean(rs.map((r) => r.seconds)),
    }
  })
  return {
    clips: clipsSeen.size,
    unreadable,
    cleanAccuracy: ratio(cleanCorrect, clipsSeen.size),
    cleanAccuracyInterval: wilson(cleanCorrect, clipsSeen.size),
    attacks,
  }
}

const count = <A>(xs: ReadonlyArray<A>, p: (a: A) => boolean): number => xs.filter(p).length
const ratio = (k: number, n: number): number => (n === 0 ? Number.NaN : k / n)
const mean = (v: ReadonlyArray<number>): number => (v.length === 0 ? Number.NaN : v.reduce((s, x) => s + x, 0) / v.length)

/** A figure with `digits` decimals; '–' where there is none (no clips). */
const fixed = (v: number, digits: number) => (Number.isNaN(v) ? '–' : v.toFixed(digits))
const pct = (v: number) => (Number.isNaN(v) ? '–' : `${(100 * v).toFixed(1)}`)
/** A Wilson interval in percent, `47.0–59.5`; '–' where there is none. */
const pctInterval = (i: Interval | undefined) => (i === undefined || Number.isNaN(i[0]) ? '–' : `${pct(i[0])}–${pct(i[1])}`)

/** The summary as table cells: a header and one row per line (clean first). */
const cells = (s: Summary): string[][] => [
  ['attack', 'accuracy %', '95% CI', 'success % (of correct)', "max ‖x'−x‖∞", "mean ‖x'−x‖₂", "max x'/x ratio", 's / clip'],
  ['clean', pct(s.cleanAccuracy), pctInterval(s.cleanAccuracyInterval), '', '', '', '', ''],
  ...s.attacks.map((a) => [
    a.attack,
    pct(a.accuracy),
    pctInterval(a.accuracyInterval),
    pct(a.successOnCorrect),
    fixed(a.maxLinf, 4),
    fixed(a.meanL2, 3),
    a.maxRatio === null ? '∞' : fixed(a.maxRatio, 3),
    fixed(a.secondsPerClip, 2),
  ]),
]

/** Control characters (a newline in an attack name) as spaces: one table row stays one line. */
const oneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f]/g, ' ')

/** A markdown table cell: one line, with `\` and `|` escaped so a name cannot split the cell. */
const markdownCell = (text: string) => oneLine(text).replace(/[\\|]/g, (c) => `\\${c}`)

/** The line under a table: how many clips the figures cover, and how many could not be read. */
export const clipsNote = (s: Summary): string =>
  `${s.clips} clips${(s.unreadable ?? 0) > 0 ? ` (${s.unreadable} clips unreadable: skipped, not counted; their rows name the file and why)` : ''}`

export const markdownTable = (s: Summary): string => {
  const [head, ...body] = cells(s)
  const line = (r: ReadonlyArray<string>) => `| ${r.map(markdownCell).join(' | ')} |`
  return [line(head!), `| ${head!.map((_, k) => (k === 0 ? '---' : '---:')).join(' | ')} |`, ...body.map(line)].join('\n')
}

/** The table for a terminal; a last line counts unreadable clips, if any. */
export const terminalTable = (s: Summary): string => {
  const rows = cells(s).map((r) => r.map(oneLine))
  const widths = rows[0]!.map((_, k) => Math.max(...rows.map((r) => [...r[k]!].length)))
  const line = (r: ReadonlyArray<string>) => r.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join('  ')
  const table = [line(rows[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.slice(1).map(line)]
  return [...table, ...((s.unreadable ?? 0) > 0 ? [`${s.unreadable} clips unreadable: skipped, not counted above (see the "error" of their rows in results.json)`] : [])].join('\n')
}

/** The columns of results.csv, in order: a row's fields. */
export const CSV_COLUMNS = ['clip', 'attack', 'label', 'clean', 'adversarial', 'success', 'flipped', 'linf', 'l2', 'ratio', 'logRatioL2', 'seconds', 'error'] as const

/** An RFC 4180 field: quoted (with `"` doubled) when it holds a comma, a quote or a line break; null and absent are empty. */
export const csvField = (v: unknown): string => {
  if (v === null || v === undefined) return ''
  const text = String(v)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** Rows as RFC 4180 CSV: a header line, then one line per row, CRLF line ends. */
export const rowsCsv = (rows: ReadonlyArray<Row>): string =>
  [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => csvField(withFlipped(r)[c])).join(','))].map((line) => `${line}\r\n`).join('')

/** What made a results file: multav, TensorFlow.js and Node versions, the platform and the command line's arguments. */
export const provenance = (argv: ReadonlyArray<string> = process.argv.slice(2)): Record<string, unknown> => ({
  multav: multavVersion(),
  tfjsCore: version_core,
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  argv: [...argv],
})

let version: string | undefined

/**
 * multav's version, from its package.json: two folders up from src/eval/ (run from source), one up
 * from dist/ (the bundles); 'unknown' if neither is multav's.
 */
export const multavVersion = (): string => {
  if (version !== undefined) return version
  const here = typeof import.meta?.url === 'string' ? fileURLToPath(import.meta.url) : __filename
  for (let dir = dirname(here), up = 0; up < 3; dir = dirname(dir), up++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown }
      if (pkg.name === 'multav' && typeof pkg.version === 'string') return (version = pkg.version)
    } catch {
      // no package.json here, or not JSON: look one folder up
    }
  }
  return (version = 'unknown')
}

/** Writes results.json (plan, meta, summary, sorted rows), results.md and results.csv; returns the summary. */
export const writeResults = async (dir: string, plan: RunPlan, rows: ReadonlyArray<Row>, meta: Record<string, unknown>): Promise<Summary> => {
  const sorted = sortRows(rows, rowAttacks(plan)).map(withFlipped)
  const summary = summarise(sorted, plan.attackNames)
  const failed = [...new Map(sorted.filter((r) => r.error !== undefined).map((r) => [r.clip, r.error!])).entries()]
  await writeFileAtomic(join(dir, 'results.csv'), rowsCsv(sorted))
  await writeFileAtomic(join(dir, 'results.json'), `${JSON.stringify({ plan, meta, summary, rows: sorted }, null, 1)}\n`)
  await writeFileAtomic(
    join(dir, 'results.md'),
    `# multav eval: ${oneLine(plan.model)} on ${oneLine(describe(plan.data))}\n\n${markdownTable(summary)}\n\n${clipsNote(summary)}; success and accuracy on 8-bit quantised clips; 95% CI: Wilson score interval of the accuracy.\n` +
      (failed.length > 0 ? `\nUnreadable clips (not counted):\n\n${failed.map(([clip, error]) => `- clip ${clip}: ${oneLine(error)}`).join('\n')}\n` : ''),
  )
  return summary
}

const describe = (data: unknown): string => {
  const d = data as { kind?: string; split?: string; root?: string }
  return d.kind === 'benchmark' ? `the benchmark's ${d.split} split` : (d.root ?? 'data')
}

/** The folder's real path (symbolic links and `..` resolved), or its given path if it does not exist. */
const real = (dir: string): Promise<string> => realpath(dir).catch(() => dir)

/** Refuses a merge output that is one of the inputs or already holds a run (as eval refuses one without --resume). */
const checkMergeOut = async (dirs: ReadonlyArray<string>, out: string): Promise<void> => {
  const target = await real(out)
  const k = (await Promise.all(dirs.map(real))).indexOf(target)
  if (k >= 0) throw new RunFolderError(`merge --out ${out}: is ${dirs[k]}, one of the shard folders being merged; choose a new folder`)
  const held = [PLAN, ROWS, 'results.json'].filter((f) => existsSync(join(out, f)))
  if (held.length > 0) throw new RunFolderError(`merge --out ${out}: already holds a run (${held.join(', ')}); choose another --out`)
}

/** Refuses the same folder given twice (as two spellings of one path, too). */
const checkDistinct = async (dirs: ReadonlyArray<string>): Promise<void> => {
  const reals = await Promise.all(dirs.map(real))
  reals.forEach((r, k) => {
    const j = reals.indexOf(r)
    if (j < k) throw new RunFolderError(`merge: ${dirs[k]} is given twice${dirs[j] === dirs[k] ? '' : ` (also as ${dirs[j]})`}`)
  })
}

/** A shard's rows, checked key by key: complete chunks only, each (clip, attack) once, nothing outside the plan. */
const shardRows = async (dir: string, plan: RunPlan): Promise<Row[]> => {
  const owner = await readLock(dir)
  if (owner !== undefined && !isStale(owner)) throw new RunFolderError(`${lockedMessage(dir, owner)} (a shard still being evaluated)`)
  const { lines } = await readLines(dir)
  const byChunk = rowsByChunk(lines, plan, join(dir, ROWS))
  const partial = shardChunks(plan).filter((c) => !chunkComplete(plan, c, byChunk.get(c)))
  if (partial.length > 0) {
    const named = partial.slice(0, 5).map((c) => `${c} (${clipRange(plan, c)}${byChunk.has(c) ? ', partial' : ''})`)
    throw new RunFolderError(
      `${dir}: shard ${plan.shard.index}/${plan.shard.count} is incomplete: chunk(s) ${named.join(', ')}${partial.length > 5 ? ` and ${partial.length - 5} more` : ''} missing; finish it with --resume`,
    )
  }
  return lines.map((l) => l.row)
}

/** A shard's results.json meta (its versions, backend, command), or null when it has none. */
const shardMeta = async (dir: string): Promise<unknown> => {
  try {
    return (JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as { meta?: unknown }).meta ?? null
  } catch {
    return null
  }
}

/**
 * Copies the shards' pictures into `out/pictures`, names unchanged; a name already taken (ignoring
 * case, as macOS and Windows do) gets the shard as a suffix (`a-clip0-shard1.png`). Only plain files.
 */
const copyPictures = async (dirs: ReadonlyArray<string>, shards: ReadonlyArray<number>, out: string): Promise<string[]> => {
  const taken = new Set<string>()
  const copied: string[] = []
  for (const [k, dir] of dirs.entries()) {
    const from = join(dir, 'pictures')
    const files = (await readdir(from, { withFileTypes: true }).catch(() => [])).filter((e) => e.isFile()).map((e) => e.name).sort()
    for (const name of files) {
      const ext = extname(name)
      const free = (n: number) => `${name.slice(0, name.length - ext.length)}-shard${shards[k]}${n > 0 ? `-${n}` : ''}${ext}`
      let target = name
      for (let n = 0; taken.has(target.toLowerCase()); n++) target = free(n)
      taken.add(target.toLowerCase())
      await mkdir(join(out, 'pictures'), { recursive: true })
      await copyFile(join(from, name), join(out, 'pictures', target), constants.COPYFILE_EXCL)
      copied.push(join(out, 'pictures', target))
    }
  }
  return copied
}

/**
 * Combines shard folders into `out`, a new folder: the plans must be the same run (all but the shard),
 * the shards 0…n−1 each given once, and each complete, checked row by row. The shards' pictures are
 * copied; results.json's meta holds `meta`, this process's provenance and each shard's own meta.
 */
export const mergeRuns = async (
  dirs: ReadonlyArray<string>,
  out: string,
  meta: Record<string, unknown> = {},
): Promise<{ plan: RunPlan; summary: Summary; pictures: ReadonlyArray<string> }> => {
  if (dirs.length === 0) throw new RunFolderError('merge needs the shard folders to combine')
  await checkDistinct(dirs)
  await checkMergeOut(dirs, out)
  const plans = await Promise.all(
    dirs.map(async (d) => {
      if (!existsSync(join(d, PLAN))) throw new RunFolderError(`${d}: not a multav run folder (no ${PLAN})`)
      return readPlan(join(d, PLAN))
    }),
  )
  const first = plans[0]!
  const strip = (p: RunPlan) => JSON.stringify({ ...p, shard: undefined })
  plans.forEach((p, k) => {
    if (strip(p) !== strip(first)) throw new RunFolderError(`${dirs[k]}: a different run from ${dirs[0]} (model, data, attacks or batch differ)`)
    if (p.shard.count !== first.shard.count) throw new RunFolderError(`${dirs[k]}: shard ${p.shard.index}/${p.shard.count}, but ${dirs[0]} is one of ${first.shard.count}`)
  })
  checkPlan(first)
  const indices = plans.map((p) => p.shard.index)
  const twice = indices.findIndex((i, k) => indices.indexOf(i) !== k)
  if (twice >= 0) throw new RunFolderError(`merge: shard ${indices[twice]}/${first.shard.count} is given twice (${dirs[indices.indexOf(indices[twice]!)]} and ${dirs[twice]})`)
  const missing = Array.from({ length: first.shard.count }, (_, i) => i).filter((i) => !indices.includes(i))
  if (missing.length > 0) throw new RunFolderError(`merge: shard(s) ${missing.map((i) => `${i}/${first.shard.count}`).join(', ')} missing`)
  const rows: Row[] = []
  for (const [k, d] of dirs.entries()) rows.push(...(await shardRows(d, plans[k]!)))
  const plan = { ...first, shard: { index: 0, count: 1 } }
  const shards = await Promise.all(dirs.map(async (dir) => ({ dir, meta: await shardMeta(dir) })))
  await makeFolder(out)
  return withLock(out, async () => {
    await checkMergeOut(dirs, out) // nothing arrived meanwhile
    await writeFileAtomic(join(out, PLAN), `${JSON.stringify(plan, null, 2)}\n`)
    await writeFileAtomic(join(out, ROWS), sortRows(rows, rowAttacks(plan)).map((r) => `${JSON.stringify(r)}\n`).join(''))
    const pictures = await copyPictures(dirs, indices, out)
    const summary = await writeResults(out, plan, rows, { ...provenance(), ...meta, mergedFrom: dirs, shards })
    return { plan, summary, pictures }
  })
}
