/**
 * The results files as other tools read them: results.csv (RFC 4180), rows written before `flipped`
 * (resumed byte for byte, derived in the results), provenance in results.json, and `merge` keeping
 * the shards' pictures. No tensors and no CLI spawns: hand-written run folders.
 */
import test from 'ava'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { version_core } from '@tensorflow/tfjs-core'
import type { Row } from '../src/eval/chunk.js'
import { csvField, mergeRuns, multavVersion, openRun, rowsCsv, writeResults, type RunPlan } from '../src/eval/results.js'

let root = ''
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'multav-results-format-'))
})
test.after.always(() => rm(root, { recursive: true, force: true }))

const NAME = 'odd, "quoted"\nname'
const plan = (index: number, count: number): RunPlan => ({
  model: 'm', classes: ['a', 'b', 'c'], data: { kind: 'benchmark', split: 'test' }, clips: 4, attacks: [], attackNames: [NAME], batch: 2, shard: { index, count },
})

/** A row as written before `flipped` existed (no such key). */
const oldRow = (clip: number, clean: number, adversarial: number): Row => ({
  clip, attack: NAME, label: 0, clean, adversarial, success: adversarial !== 0, linf: 0.5, l2: 1.25, ratio: clip === 1 ? null : 1.5, logRatioL2: 0.1, seconds: 0.25,
})

const folder = async (name: string, p: RunPlan, rows: ReadonlyArray<Row>): Promise<string> => {
  const dir = join(root, name)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'run.json'), `${JSON.stringify(p, null, 2)}\n`)
  await writeFile(join(dir, 'rows.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''))
  return dir
}

test('csv fields: quoted only with a comma, quote or line break, quotes doubled; null and absent empty', (t) => {
  t.is(csvField('add-linf'), 'add-linf')
  t.is(csvField(NAME), '"odd, ""quoted""\nname"')
  t.is(csvField('a\rb'), '"a\rb"')
  t.is(csvField(null), '')
  t.is(csvField(undefined), '')
  t.is(csvField(true), 'true')
  t.is(csvField(0.1), '0.1')
})

test('rows as CSV: a header, one CRLF line per row, flipped derived for old rows, errors quoted', (t) => {
  const failed: Row = { ...oldRow(3, -1, -1), success: false, ratio: null, logRatioL2: null, error: 'x.avi: not a video, "really"' }
  const csv = rowsCsv([oldRow(0, 0, 1), oldRow(1, 2, 1), failed])
  t.is(
    csv,
    'clip,attack,label,clean,adversarial,success,flipped,linf,l2,ratio,logRatioL2,seconds,error\r\n' +
      '0,"odd, ""quoted""\nname",0,0,1,true,true,0.5,1.25,1.5,0.1,0.25,\r\n' +
      '1,"odd, ""quoted""\nname",0,2,1,true,false,0.5,1.25,,0.1,0.25,\r\n' +
      '3,"odd, ""quoted""\nname",0,-1,-1,false,false,0.5,1.25,,,0.25,"x.avi: not a video, ""really"""\r\n',
  )
})

test('a run with rows from before `flipped` resumes byte for byte; its results derive flipped and record provenance', async (t) => {
  const rows = [oldRow(0, 0, 1), oldRow(1, 0, 0), oldRow(2, 1, 2)]
  const dir = await folder('old', plan(0, 1), rows)
  const before = await readFile(join(dir, 'rows.jsonl'), 'utf8')
  const { done, rows: kept } = await openRun(dir, plan(0, 1), true)
  t.deepEqual([...done], [0], 'chunk 0 complete, chunk 1 (clips 2, 3) not')
  t.is(await readFile(join(dir, 'rows.jsonl'), 'utf8'), before.split('\n').slice(0, 2).join('\n') + '\n', 'the complete chunk\'s lines, unchanged')
  t.deepEqual(kept.map((r) => r.flipped), [true, false])
  // a new row, as this version writes it, completes the run
  const fresh: Row = { ...oldRow(3, 0, 2), flipped: true }
  await writeResults(dir, plan(0, 1), [...kept, oldRow(2, 1, 2), fresh], { command: 'test', argv: ['eval', '--x'] })
  const written = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as { meta: Record<string, unknown>; rows: Row[]; summary: { attacks: { flipped: number; correct: number; accuracyInterval: number[] }[] } }
  t.deepEqual(written.rows.map((r) => [r.clip, r.flipped]), [[0, true], [1, false], [2, false], [3, true]])
  t.deepEqual(Object.keys(written.rows[0]!).slice(5, 7), ['success', 'flipped'])
  t.like(written.summary.attacks[0], { flipped: 2, correct: 3 })
  t.is(written.summary.attacks[0]!.accuracyInterval.length, 2)
  t.deepEqual(written.meta, { command: 'test', argv: ['eval', '--x'] }, 'writeResults records the meta it is given')
  t.is(multavVersion(), (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version)
  t.true(existsSync(join(dir, 'results.csv')))
  t.regex(await readFile(join(dir, 'results.md'), 'utf8'), /\| attack \| accuracy % \| 95% CI \|/)
})

test('merge keeps the shards\' pictures (a clashing name gets its shard) and records each shard\'s meta', async (t) => {
  const s0 = await folder('s0', plan(0, 2), [oldRow(0, 0, 1), oldRow(1, 0, 0)])
  const s1 = await folder('s1', plan(1, 2), [{ ...oldRow(2, 0, 1), flipped: true }, { ...oldRow(3, 1, 1), flipped: false }])
  await writeFile(join(s1, 'results.json'), JSON.stringify({ meta: { multav: '0.0.9', backend: 'wasm' } }))
  for (const [dir, names] of [[s0, ['a-clip0.png']], [s1, ['a-clip0.png', 'A-CLIP2.png']]] as const) {
    await mkdir(join(dir, 'pictures', 'nested'), { recursive: true })
    for (const n of names) await writeFile(join(dir, 'pictures', n), `${dir} ${n}`)
  }
  const out = join(root, 'merged')
  const { pictures } = await mergeRuns([s0, s1], out, { command: 'multav merge' })
  t.deepEqual((await readdir(join(out, 'pictures'))).sort(), ['A-CLIP2.png', 'a-clip0-shard1.png', 'a-clip0.png'])
  t.is(pictures.length, 3)
  t.is(await readFile(join(out, 'pictures', 'a-clip0-shard1.png'), 'utf8'), `${s1} a-clip0.png`)
  const written = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { meta: Record<string, unknown>; rows: Row[] }
  t.like(written.meta, { command: 'multav merge', multav: multavVersion(), tfjsCore: version_core, node: process.version, mergedFrom: [s0, s1] })
  t.deepEqual(written.meta['shards'], [{ dir: s0, meta: null }, { dir: s1, meta: { multav: '0.0.9', backend: 'wasm' } }])
  // the merged rows.jsonl has flipped on every row, old ones derived
  const merged = (await readFile(join(out, 'rows.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Row)
  t.deepEqual(merged.map((r) => r.flipped), [true, false, true, false])
  t.deepEqual(written.rows.map((r) => r.flipped), [true, false, true, false])
})
