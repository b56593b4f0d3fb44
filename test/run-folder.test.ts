/**
 * The run folder and its rows: torn last rows, the lock, key-exact checks of rows in resume and merge,
 * merge's output, reserved and clashing attack names, empty summaries, and unreadable items recorded
 * as failed rows. In-process (no CLI spawns) with a tiny model on 4x16x16 clips.
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import * as tf from '@tensorflow/tfjs-core'
import { existsSync } from 'node:fs'
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { BENCHMARK_CLASSES, benchmark } from '../src/data/benchmark.js'
import { resetFfmpegCache, writeFramesPng } from '../src/data/video.js'
import { encodeAttack } from '../src/dsl/codec.js'
import type { Row } from '../src/eval/chunk.js'
import { openDataset, resolveData } from '../src/eval/data.js'
import { LOCK, acquireLock, readLock } from '../src/eval/lock.js'
import { RunFolderError, appendRows, checkPlan, markdownTable, mergeRuns, openRun, readRows, summarise, terminalTable, type RunPlan } from '../src/eval/results.js'
import { pictureNames, runEval } from '../src/eval/run.js'
import { initBackend } from '../src/backend/backend.js'
import { InputError } from '../src/core/errors.js'
import { attackList, saveTinyModel } from './fixtures/tiny-run.js'

const clip = { T: 4, H: 16, W: 16 }
const run = promisify(execFile)
let root = ''
let modelDir = ''
let attacks: unknown[] = []
let attackNames: string[] = []

test.before(async () => {
  await initBackend('cpu')
  root = await mkdtemp(join(tmpdir(), 'multav-run-folder-'))
  modelDir = join(root, 'model')
  await saveTinyModel(modelDir, clip)
  const listed = await attackList('add-linf:steps=1', clip)
  attacks = listed.map(encodeAttack)
  attackNames = listed.map((a) => a.name)
})

test.after.always(async () => {
  await rm(root, { recursive: true, force: true })
})

const planOf = (o: Partial<RunPlan> = {}): RunPlan & { data: { kind: 'benchmark'; split: 'test'; clip: typeof clip } } => ({
  model: modelDir, classes: [...BENCHMARK_CLASSES], data: { kind: 'benchmark', split: 'test', clip }, clips: 8, attacks, attackNames, batch: 2, shard: { index: 0, count: 1 }, ...o,
}) as RunPlan & { data: { kind: 'benchmark'; split: 'test'; clip: typeof clip } }

/** A made-up row (for folders built by hand). */
const row = (clip: number, attack = attackNames[0]!): Row => ({ clip, attack, label: clip % 6, clean: 0, adversarial: 1, success: true, linf: 0.01, l2: 0.5, ratio: 1.1, logRatioL2: 0.1, seconds: 0.2 })
const lines = (rows: ReadonlyArray<Row>) => rows.map((r) => `${JSON.stringify(r)}\n`).join('')

/** A run folder holding `plan` and the given rows.jsonl text. */
const folder = async (name: string, plan: RunPlan, text: string): Promise<string> => {
  const dir = join(root, name)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'run.json'), JSON.stringify(plan))
  await writeFile(join(dir, 'rows.jsonl'), text)
  return dir
}

const evalOptions = (out: string, o: Partial<Parameters<typeof runEval>[0]> = {}) => ({ plan: planOf(), backend: 'cpu' as const, out, resume: false, workers: 1, pictureClips: 0, ...o })
const comparable = (rows: ReadonlyArray<Row>) => [...rows].sort((a, b) => a.clip - b.clip).map(({ seconds: _s, ...r }) => JSON.stringify(r))

test('a torn last row at a chunk boundary is cut off before the next append', async (t) => {
  const plan = planOf()
  const full = lines([row(0), row(1)])
  // killed while appending chunk 1: its first row cut short after the complete chunk 0
  const dir = await folder('torn', plan, `${full}${JSON.stringify(row(2)).slice(0, 25)}`)
  const { done, rows } = await openRun(dir, plan, true)
  t.deepEqual([...done], [0])
  t.is(rows.length, 2)
  t.is(await readFile(join(dir, 'rows.jsonl'), 'utf8'), full, 'the fragment is gone')
  await appendRows(dir, [row(2), row(3)])
  t.deepEqual((await readRows(dir)).map((r) => r.clip), [0, 1, 2, 3])
  // a later resume reads the folder cleanly and finds both chunks done
  t.deepEqual([...(await openRun(dir, plan, true)).done].sort(), [0, 1])
  // torn exactly after a chunk's last '}' (no newline): that line is dropped too, with its partial chunk
  const dir2 = await folder('torn-2', plan, `${full}${JSON.stringify(row(2))}\n${JSON.stringify(row(3))}`)
  t.deepEqual([...(await openRun(dir2, plan, true)).done], [0])
  t.is(await readFile(join(dir2, 'rows.jsonl'), 'utf8'), full)
})

test('resume checks rows key by key: duplicates and rows outside the plan are named', async (t) => {
  const plan = planOf()
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['dup', lines([row(0), row(1), row(0)]), /rows\.jsonl:3: clip 0 under "add-linf steps=1" appears twice \(also line 1\)/],
    ['foreign-attack', lines([row(0), row(1, 'mult-linf')]), /rows\.jsonl:2: a row for attack "mult-linf", which is not in the run's plan/],
    ['beyond', lines([row(0), row(9)]), /rows\.jsonl:2: a row for clip 9, which is not in shard 0\/1 of the run's 8 clips/],
    ['not-a-row', `${lines([row(0)])}[1,2]\n`, /rows\.jsonl:2: not a multav row/],
    ['garbage', `{"clip":\n${lines([row(0)])}`, /rows\.jsonl:1: not a JSON row/],
  ]
  for (const [name, text, message] of cases) {
    const dir = await folder(`keys-${name}`, plan, text)
    const e = await t.throwsAsync(openRun(dir, plan, true), { instanceOf: RunFolderError, message }, name)
    t.false(e?.message.includes('\n'), `${name}: one line`)
    t.is(await readFile(join(dir, 'rows.jsonl'), 'utf8'), text, `${name}: the folder is left as it was`)
  }
  // a row of another shard's chunk
  const shard = planOf({ shard: { index: 1, count: 2 } })
  const dir = await folder('keys-shard', shard, lines([row(2), row(3), row(0)]))
  await t.throwsAsync(openRun(dir, shard, true), { message: /rows\.jsonl:3: a row for clip 0, which is not in shard 1\/2/ })
  // a truncated run.json
  const bad = join(root, 'bad-plan')
  await mkdir(bad)
  await writeFile(join(bad, 'run.json'), '{"model": "x", "cl')
  await t.throwsAsync(openRun(bad, plan, true), { instanceOf: RunFolderError, message: /run\.json: not valid JSON \(cut short\?\)/ })
  // valid JSON of the wrong shape: named, never a TypeError (resume and merge both read it)
  const shapes: ReadonlyArray<readonly [unknown, RegExp]> = [
    [null, /run\.json: expected a JSON object, got null; not a multav run folder/],
    [{}, /run\.json: model must be a string/],
    [{ ...plan, shard: undefined }, /run\.json: shard must be \{index, count\}/],
    [{ ...plan, shard: { index: 3, count: 2 } }, /run\.json: shard must be \{index, count\} with 0 ≤ index < count/],
    [{ ...plan, attackNames: 'add-linf' }, /run\.json: attackNames must be a list of names/],
    [{ ...plan, batch: 0 }, /run\.json: clips and batch must be integers ≥ 1/],
  ]
  for (const [k, [value, message]] of shapes.entries()) {
    const d = join(root, `bad-plan-${k}`)
    await mkdir(d)
    await writeFile(join(d, 'run.json'), JSON.stringify(value))
    await t.throwsAsync(openRun(d, plan, true), { instanceOf: RunFolderError, message }, `resume ${k}`)
    await t.throwsAsync(mergeRuns([d], join(root, `bad-plan-out-${k}`)), { instanceOf: RunFolderError, message }, `merge ${k}`)
  }
})

test('merge checks rows key by key, refuses the same folder twice and an --out that holds a run', async (t) => {
  const plans = [0, 1].map((index) => planOf({ shard: { index, count: 2 } }))
  // shard 0 owns chunks 0 and 2 (clips 0, 1, 4, 5), shard 1 chunks 1 and 3
  const s0 = await folder('m-s0', plans[0]!, lines([0, 1, 4, 5].map((c) => row(c))))
  const s1 = await folder('m-s1', plans[1]!, lines([2, 3, 6, 7].map((c) => row(c))))
  // chunk 1 twice and chunk 3 missing: as many rows as a complete shard
  const twice = await folder('m-s1-twice', plans[1]!, lines([2, 3, 2, 3].map((c) => row(c))))
  await t.throwsAsync(mergeRuns([s0, twice], join(root, 'm-out-1')), { instanceOf: RunFolderError, message: /m-s1-twice[/\\]rows\.jsonl:3: clip 2 under "add-linf steps=1" appears twice/ })
  const missing = await folder('m-s1-missing', plans[1]!, lines([2, 3, 6].map((c) => row(c))))
  await t.throwsAsync(mergeRuns([s0, missing], join(root, 'm-out-2')), { message: /m-s1-missing: shard 1\/2 is incomplete: chunk\(s\) 3 \(clips 6–7, partial\) missing; finish it with --resume/ })
  const empty = await folder('m-s1-empty', plans[1]!, '')
  await t.throwsAsync(mergeRuns([s0, empty], join(root, 'm-out-3')), { message: /chunk\(s\) 1 \(clips 2–3\), 3 \(clips 6–7\) missing/ })
  await t.throwsAsync(mergeRuns([s0, s0], join(root, 'm-out-4')), { instanceOf: RunFolderError, message: /merge: .*m-s0 is given twice/ })
  await t.throwsAsync(mergeRuns([s0, `${s0}/../m-s0`], join(root, 'm-out-4')), { message: /is given twice \(also as/ })
  for (const dir of ['m-out-1', 'm-out-2', 'm-out-3', 'm-out-4']) t.false(existsSync(join(root, dir, 'run.json')), `${dir}: nothing written`)
  // --out is an input, or holds a run: refused, and the input is untouched
  const before = await readFile(join(s0, 'rows.jsonl'), 'utf8')
  await t.throwsAsync(mergeRuns([s0, s1], s0), { instanceOf: RunFolderError, message: /merge --out .*m-s0: is .*m-s0, one of the shard folders being merged/ })
  t.is(await readFile(join(s0, 'rows.jsonl'), 'utf8'), before)
  const merged = join(root, 'm-out')
  const { summary } = await mergeRuns([s0, s1], merged)
  t.is(summary.clips, 8)
  await t.throwsAsync(mergeRuns([s0, s1], merged), { instanceOf: RunFolderError, message: /merge --out .*m-out: already holds a run \(run\.json, rows\.jsonl, results\.json\)/ })
  t.false(existsSync(join(merged, LOCK)), 'the lock is released')
  // a shard still being evaluated (a live lock) is not merged
  const lock = await acquireLock(s1)
  await t.throwsAsync(mergeRuns([s0, s1], join(root, 'm-out-5')), { message: new RegExp(`m-s1: in use by another multav run \\(pid ${process.pid}`) })
  await lock.release()
})

test('the lock: a second holder is refused, a dead owner on this host is taken over, another host is named', async (t) => {
  const dir = join(root, 'lock')
  await mkdir(dir)
  const first = await acquireLock(dir)
  t.like(await readLock(dir), { pid: process.pid, host: hostname() })
  await t.throwsAsync(acquireLock(dir), { instanceOf: RunFolderError, message: new RegExp(`lock: in use by another multav run \\(pid ${process.pid}, since .*\\); wait for it to finish or choose another --out`) })
  await first.release()
  t.false(existsSync(join(dir, LOCK)))
  // a killed run's lock (a pid that is not running)
  await writeFile(join(dir, LOCK), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), started: '2026-01-01T00:00:00.000Z' }))
  const taken = await acquireLock(dir)
  t.is((await readLock(dir))?.pid, process.pid)
  await taken.release()
  // a lock held on another host: its pid cannot be checked from here
  const foreign = JSON.stringify({ pid: 1, host: 'elsewhere.example', started: '2026-01-01T00:00:00.000Z' })
  await writeFile(join(dir, LOCK), foreign)
  await t.throwsAsync(acquireLock(dir), { message: /lock: locked by pid 1 on host elsewhere\.example since 2026-01-01T00:00:00\.000Z; if no multav run there is using it, delete .*lock\.json/ })
  t.is(await readFile(join(dir, LOCK), 'utf8'), foreign, 'not removed')
  await writeFile(join(dir, LOCK), 'nonsense')
  await t.throwsAsync(acquireLock(dir), { message: /lock\.json: not a multav lock/ })
  await rm(join(dir, LOCK))
})

test('the lock: of many runs taking over one stale lock at once, exactly one wins', async (t) => {
  const dir = join(root, 'lock-race')
  await mkdir(dir)
  const stale = JSON.stringify({ pid: 2 ** 22 + 54321, host: hostname(), started: '2026-01-01T00:00:00.000Z' })
  for (let trial = 0; trial < 40; trial++) {
    await writeFile(join(dir, LOCK), stale)
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => acquireLock(dir)))
    const winners = outcomes.filter((o): o is PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>> => o.status === 'fulfilled')
    t.is(winners.length, 1, `trial ${trial}: ${winners.length} holders`)
    for (const o of outcomes) if (o.status === 'rejected') t.regex((o.reason as Error).message, /in use by another multav run|the lock keeps changing/)
    t.like(await readLock(dir), { pid: process.pid })
    for (const w of winners) await w.value.release()
    t.false(existsSync(join(dir, LOCK)))
  }
  t.deepEqual((await readdir(dir)).filter((f) => f !== LOCK), [], 'no private or guard files left')
})

test('the lock: of four processes taking over one stale lock at the same moment, exactly one wins', async (t) => {
  const dir = join(root, 'lock-race-processes')
  await mkdir(dir)
  const [trials, slot] = [12, 400]
  const t0 = Date.now() + 4000 // after the racers have started
  const stale = JSON.stringify({ pid: 2 ** 22 + 54322, host: hostname(), started: '2026-01-01T00:00:00.000Z' })
  const racers = Array.from({ length: 4 }, () =>
    run(process.execPath, ['--import', 'tsx', 'test/fixtures/lock-racer.ts', dir, String(t0), String(trials), String(slot)], { timeout: 60_000 }),
  )
  // before each slot, a killed run's lock
  for (let i = 0; i < trials; i++) {
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + i * slot - slot / 4 - Date.now())))
    await writeFile(join(dir, LOCK), stale)
  }
  const won = (await Promise.all(racers)).map((r) => JSON.parse(r.stdout) as number[])
  for (let i = 0; i < trials; i++) t.is(won.filter((w) => w.includes(i)).length, 1, `slot ${i}: won by ${won.filter((w) => w.includes(i)).length} racers`)
})

test('the lock: a lock naming this very pid but not taken by this process (a restarted container) is stale', async (t) => {
  const dir = join(root, 'lock-own-pid')
  await mkdir(dir)
  await writeFile(join(dir, LOCK), JSON.stringify({ pid: process.pid, host: hostname(), started: '2026-01-01T00:00:00.000Z' }))
  const lock = await acquireLock(dir)
  t.not((await readLock(dir))?.started, '2026-01-01T00:00:00.000Z')
  await t.throwsAsync(acquireLock(dir), { instanceOf: RunFolderError }) // but one it holds is not
  await lock.release()
})

test('a run plan with a reserved, repeated or zero-sized part is refused before anything is written', async (t) => {
  const cases: ReadonlyArray<readonly [Partial<RunPlan>, RegExp]> = [
    [{ attackNames: ['clean'] }, /run plan: the attack name "clean" is reserved/],
    [{ attackNames: ['a', 'b', 'a'] }, /run plan: attack names must be unique in a run, "a" appear more than once/],
    [{ batch: 0 }, /run plan: batch must be an integer ≥ 1 \(clips per chunk\), got 0/],
    [{ clips: 0 }, /run plan: clips must be an integer ≥ 1, got 0/],
    [{ shard: { index: 2, count: 2 } }, /run plan: shard must be i\/n with 0 ≤ i < n, got 2\/2/],
  ]
  for (const [change, message] of cases) {
    t.throws(() => checkPlan(planOf(change)), { instanceOf: RunFolderError, message })
    const out = join(root, 'never')
    await t.throwsAsync(runEval(evalOptions(out, { plan: planOf(change) })), { message })
    t.false(existsSync(out))
  }
})

test('tables: names cannot break the markdown, no NaN for an empty shard, unique picture names', (t) => {
  const s = summarise([row(0, 'a|b'), row(0, 'x\ny')], ['a|b', 'x\ny', 'none'])
  const md = markdownTable(s)
  t.is(md.split('\n').length, 2 + 1 + 3, 'one line per row')
  t.regex(md, /^\| a\\\|b \| 0\.0 \|/m)
  t.regex(md, /^\| x y \|/m)
  for (const table of [md, terminalTable(s), markdownTable(summarise([], ['a'])), terminalTable(summarise([], ['a']))]) t.notRegex(table, /NaN/)
  t.regex(markdownTable(summarise([], ['a'])), /\| a \| – \| – \| – \| – \| – \| – \|/)
  const file = pictureNames(['my attack', 'my_attack', 'MY_ATTACK', 'add-linf'])
  t.deepEqual(['my attack', 'my_attack', 'MY_ATTACK', 'add-linf'].map(file), ['my_attack-a0', 'my_attack-a1', 'MY_ATTACK-a2', 'add-linf'])
})

test.serial('a run, then a resume of it: the same rows; a second writer is refused; no tensor left behind', async (t) => {
  const out = join(root, 'run')
  const first = await runEval(evalOptions(out))
  t.true(first.complete)
  t.is(first.rows.length, 8)
  t.false(existsSync(join(out, LOCK)), 'the lock is released')
  const before = tf.memory().numTensors
  // torn mid-row in the last chunk: that chunk is redone, and the rows are those of the complete run
  const text = await readFile(join(out, 'rows.jsonl'), 'utf8')
  await truncate(join(out, 'rows.jsonl'), text.length - 40)
  await rm(join(out, 'results.json'))
  const resumed = await runEval(evalOptions(out, { resume: true }))
  t.is(resumed.chunksRun, 1)
  t.deepEqual(comparable(await readRows(out)), comparable(first.rows))
  t.is(tf.memory().numTensors, before)
  // while one run holds the folder, another is refused and writes nothing
  const lock = await acquireLock(out)
  await t.throwsAsync(runEval(evalOptions(out, { resume: true })), { instanceOf: RunFolderError, message: /run: in use by another multav run/ })
  await lock.release()
  await t.throwsAsync(runEval(evalOptions(out)), { instanceOf: RunFolderError, message: /already holds a run; pass --resume/ })
  await appendFile(join(out, 'rows.jsonl'), lines([row(0)]))
  await t.throwsAsync(runEval(evalOptions(out, { resume: true })), { message: /rows\.jsonl:9: clip 0 under "add-linf steps=1" appears twice/ })
})

test.serial('unreadable videos and frame folders are skipped with a warning and recorded as failed rows', async (t) => {
  const data = join(root, 'items')
  const set = benchmark({ split: 'test', ...clip, count: 4 })
  const size = clip.T * clip.H * clip.W * 3
  const frames = (k: number) => ({ shape: [1, clip.T, clip.H, clip.W, 3] as const, data: set.clips.data.slice(k * size, (k + 1) * size) })
  await writeFramesPng(frames(0), join(data, 'moves left', 'a'))
  await writeFramesPng(frames(1), join(data, 'moves left', 'b'))
  await writeFramesPng(frames(2), join(data, 'moves right', 'c'))
  await mkdir(join(data, 'moves right', 'd'), { recursive: true })
  await writeFile(join(data, 'moves right', 'd', 'frame_0001.png'), 'not a png')
  await writeFile(join(data, 'moves right', 'e.avi'), 'not a video')
  const ref = await resolveData(data, { clip, classes: [...BENCHMARK_CLASSES], split: 'test' })
  if (ref.kind !== 'items') return t.fail()
  // the per-item loading names the item and why; the strict load rejects naming it
  const loaded = await openDataset(ref).loadReadable([2, 3, 4])
  t.deepEqual([...loaded.failed.keys()], [3, 4])
  t.regex(loaded.failed.get(3)!, /moves right[/\\]d[/\\]frame_0001\.png: not a PNG/)
  t.regex(loaded.failed.get(4)!, /moves right[/\\]e\.avi: /)
  t.true(loaded.clips.data.subarray(size).every((v) => v === 0), 'unreadable clips are left black')
  await t.throwsAsync(openDataset(ref).load([2, 3]), { message: /moves right[/\\]d[/\\]frame_0001\.png: not a PNG/ })
  // no ffmpeg on this machine is not the video's fault: the load stops instead of recording the item
  const chosen = process.env['MULTAV_FFMPEG']
  process.env['MULTAV_FFMPEG'] = join(root, 'no-such-ffmpeg')
  resetFfmpegCache()
  try {
    await t.throwsAsync(openDataset(ref).loadReadable([2, 4]), { message: /e\.avi: cannot decode videos on this machine: / })
  } finally {
    if (chosen === undefined) delete process.env['MULTAV_FFMPEG']
    else process.env['MULTAV_FFMPEG'] = chosen
    resetFfmpegCache()
  }

  const warnings: string[] = []
  const before = tf.memory().numTensors
  const out = join(root, 'items-run')
  const plan = planOf({ data: ref, clips: ref.items.length, batch: 2 }) as Parameters<typeof runEval>[0]['plan']
  const r = await runEval(evalOptions(out, { plan, onWarning: (w) => warnings.push(w) }))
  t.true(r.complete)
  t.deepEqual(r.rows.filter((x) => x.error !== undefined).map((x) => x.clip), [3, 4])
  t.is(warnings.length, 2)
  t.regex(warnings[0]!, /^skipped clip 3: .*moves right[/\\]d[/\\]frame_0001\.png: not a PNG .* \(recorded as unreadable, not counted\)$/)
  t.is(r.summary!.clips, 3)
  t.is(r.summary!.unreadable, 2)
  t.is(r.summary!.attacks[0]!.clips, 3, 'accuracy excludes them')
  t.regex(terminalTable(r.summary!), /2 clips unreadable: skipped, not counted above/)
  const md = await readFile(join(out, 'results.md'), 'utf8')
  t.regex(md, /3 clips \(2 clips unreadable: skipped, not counted/)
  t.regex(md, /- clip 4: .*e\.avi: /)
  // --on-error stop: the run ends at the chunk holding the first unreadable clip; the chunk before it is kept
  const stopped = join(root, 'items-stop')
  await t.throwsAsync(runEval(evalOptions(stopped, { plan, onUnreadable: 'stop' })), {
    instanceOf: InputError,
    message: /^clip 3 cannot be read: .*moves right[/\\]d[/\\]frame_0001\.png: not a PNG.*--on-error stop/,
  })
  const kept = await readRows(stopped)
  t.deepEqual([...new Set(kept.map((x) => x.clip))], [0, 1], "chunk 0's rows, none of chunk 1's")
  t.false(kept.some((x) => x.error !== undefined), 'no failed row is written')
  // the readable clips keep their results: the same as a run without the broken items
  const clean = join(root, 'items-clean')
  await rm(join(data, 'moves right', 'd'), { recursive: true })
  await rm(join(data, 'moves right', 'e.avi'))
  const refClean = await resolveData(data, { clip, classes: [...BENCHMARK_CLASSES], split: 'test' })
  const ok = await runEval(evalOptions(clean, { plan: planOf({ data: refClean, clips: 3, batch: 2 }) as Parameters<typeof runEval>[0]['plan'] }))
  t.deepEqual(comparable(r.rows.filter((x) => x.error === undefined)), comparable(ok.rows))
  // --resume treats the chunks with unreadable clips as done
  const again = await runEval(evalOptions(out, { plan, resume: true }))
  t.is(again.chunksRun, 0)
  t.true(again.complete)
  t.is(tf.memory().numTensors, before)
})
