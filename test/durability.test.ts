/**
 * Durability of a real `multav eval` process: kill -9 at random points (after a random number of rows,
 * with the last row torn as by a kill mid-append) with 1 and 2 workers, then `--resume`; and two
 * writers on one folder (the second is refused by the lock, the first finishes unharmed). The final
 * rows must equal an uninterrupted run's byte for byte, apart from the `seconds` timings.
 *
 * The kill points are drawn from DURABILITY_SEED (default 16; set it to try others) and logged.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BENCHMARK_CLASSES } from '../src/data/benchmark.js'
import { encodeAttack } from '../src/dsl/codec.js'
import { LOCK } from '../src/eval/lock.js'
import { runEval } from '../src/eval/run.js'
import { initBackend } from '../src/backend/backend.js'
import { attackList, saveTinyModel } from './fixtures/tiny-run.js'

const clip = { T: 4, H: 16, W: 16 }
const ROWS_TOTAL = 8 // 8 clips, 1 attack, in 4 chunks of 2
const CLI = ['--import', 'tsx', 'src/cli/bin.ts']
let root = ''
let modelDir = ''
let reference = ''

/** xorshift32 from the seed: the kill points. */
let state = Number(process.env['DURABILITY_SEED'] ?? 16) >>> 0 || 1
const draw = (n: number): number => {
  state ^= state << 13
  state ^= state >>> 17
  state ^= state << 5
  return (state >>> 0) % n
}

const evalArgs = (out: string, extra: ReadonlyArray<string> = []) => [
  'eval', '--model', modelDir, '--limit', String(ROWS_TOTAL), '--batch', '2', '--attacks', 'add-linf:steps=1', '--pictures', '0', '--out', out, ...extra,
]

/** The rows as comparable text: each line byte for byte with its timing zeroed, in clip order. */
const rowsText = async (dir: string): Promise<string[]> =>
  (await readFile(join(dir, 'rows.jsonl'), 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/"seconds":[^,}]+/, '"seconds":0'))
    .sort((a, b) => (JSON.parse(a) as { clip: number }).clip - (JSON.parse(b) as { clip: number }).clip)

const lineCount = async (dir: string): Promise<number> =>
  existsSync(join(dir, 'rows.jsonl')) ? (await readFile(join(dir, 'rows.jsonl'), 'utf8')).split('\n').length - 1 : -1

/**
 * Cuts rows.jsonl inside its last chunk (its last 2 lines), leaving at least one byte of it: inside the
 * chunk's first row when `firstRow` (the file then ends in a fragment right after a complete chunk).
 */
const tearLastChunk = async (out: string, firstRow: boolean): Promise<void> => {
  const file = join(out, 'rows.jsonl')
  const text = existsSync(file) ? await readFile(file, 'utf8') : ''
  const lines = text.split('\n').filter((l) => l !== '')
  if (lines.length < 2) return
  const start = text.length - lines.slice(-2).join('\n').length - 1 // where the last chunk begins
  await truncate(file, start + 1 + draw(firstRow ? lines.at(-2)!.length - 1 : text.length - start - 1))
}

interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
}

/** Starts the CLI; `when(child)` is polled every 10 ms until it returns true (then it stops polling). */
const start = (args: ReadonlyArray<string>, when?: (pid: number) => Promise<boolean>) => {
  const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, MULTAV_BACKEND: 'cpu' }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  let polling = when !== undefined
  const poll = async () => {
    while (polling && child.exitCode === null && child.signalCode === null) {
      if (await when!(child.pid!)) polling = false
      else await new Promise((r) => setTimeout(r, 10))
    }
  }
  void poll()
  const exit = new Promise<Exit>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      polling = false
      resolve({ code, signal, stderr })
    })
    child.on('error', reject)
  })
  return { child, exit }
}

test.before(async () => {
  await initBackend('cpu')
  root = await mkdtemp(join(tmpdir(), 'multav-durability-'))
  modelDir = join(root, 'model')
  await saveTinyModel(modelDir, clip)
  // the uninterrupted run, in this process (the CLI builds the same plan)
  const listed = await attackList('add-linf:steps=1', clip)
  reference = join(root, 'reference')
  const plan = {
    model: modelDir, classes: [...BENCHMARK_CLASSES], data: { kind: 'benchmark' as const, split: 'test' as const, clip }, clips: ROWS_TOTAL,
    attacks: listed.map(encodeAttack), attackNames: listed.map((a) => a.name), batch: 2, shard: { index: 0, count: 1 },
  }
  const r = await runEval({ plan, backend: 'cpu', out: reference, resume: false, workers: 1, pictureClips: 0 })
  if (!r.complete || r.rows.length !== ROWS_TOTAL) throw new Error('the reference run did not complete')
})

test.after.always(async () => {
  await rm(root, { recursive: true, force: true })
})

for (const workers of [1, 2]) {
  // serial: the kill and tear points are drawn from one seeded sequence, in a fixed order
  test.serial(`kill -9 after a random number of rows (${workers} worker(s)), a torn last row, then --resume: the uninterrupted rows`, async (t) => {
    const out = join(root, `killed-${workers}`)
    const args = evalArgs(out, ['--workers', String(workers)])
    const at = draw(ROWS_TOTAL) // 0: as soon as the folder holds its plan, before any row
    // as a kill in the middle of appending the last chunk: inside its first row (the chunk boundary), anywhere in it, or not at all
    const tear = workers === 1 ? 'first row' : (['anywhere', 'none'] as const)[draw(2)]!
    t.log(`DURABILITY_SEED=${process.env['DURABILITY_SEED'] ?? 16}: kill at ${at} rows, tear ${tear}`)
    const { child, exit } = start(args, async () => {
      const ready = at === 0 ? existsSync(join(out, 'run.json')) : (await lineCount(out)) >= at
      if (ready) child.kill('SIGKILL')
      return ready
    })
    const killed = await exit
    t.true(killed.signal === 'SIGKILL' || killed.code === 0, `killed (or finished first): ${killed.code} ${killed.signal} ${killed.stderr}`)
    if (tear !== 'none') await tearLastChunk(out, tear === 'first row')
    if (killed.signal === 'SIGKILL') t.true(existsSync(join(out, LOCK)), 'the killed run left its lock behind (taken over below)')
    // resumed on one worker: a chunk's rows do not depend on the worker count (and one costs less here)
    const resumed = await start([...evalArgs(out, ['--workers', '1']), '--resume']).exit
    t.is(resumed.code, 0, resumed.stderr)
    t.deepEqual(await rowsText(out), await rowsText(reference))
    t.false(existsSync(join(out, LOCK)), 'the lock is released')
    t.true(existsSync(join(out, 'results.json')))
  })
}

test.serial('two writers on one folder: the second is refused by the lock, the first finishes unharmed', async (t) => {
  const out = join(root, 'two-writers')
  // the first run is paused (SIGSTOP) as soon as it holds the lock (seconds before its last chunk)
  let paused = (): void => undefined
  const isPaused = new Promise<boolean>((r) => (paused = () => r(true)))
  const first = start(evalArgs(out, ['--workers', '1']), async (pid) => {
    const ready = existsSync(join(out, LOCK))
    if (ready) {
      process.kill(pid, 'SIGSTOP')
      paused()
    }
    return ready
  })
  const wasPaused = await Promise.race([isPaused, first.exit.then(() => false)])
  t.true(wasPaused, 'the first run was paused while it held the lock')
  try {
    const second = await start(evalArgs(out, ['--workers', '1', '--resume'])).exit
    t.not(second.code, 0)
    t.regex(second.stderr, new RegExp(`in use by another multav run \\(pid ${first.child.pid}, since .*\\); wait for it to finish or choose another --out`))
  } finally {
    first.child.kill('SIGCONT')
  }
  const done = await first.exit
  t.is(done.code, 0, done.stderr)
  t.deepEqual(await rowsText(out), await rowsText(reference))
})
