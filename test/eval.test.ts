/**
 * The robustness evaluation: chunking and shards, rows and tables, resume, 1 vs 2 workers vs 2 shards,
 * interrupted runs (killed and Ctrl-C) resumed to the same result, pictures, and the CLI's errors.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PNG } from 'pngjs'
import { BENCHMARK_CLASSES } from '../src/data/benchmark.js'
import { af, addLinf, multLinf } from '../src/dsl/attacks.js'
import { evaluateChunk, flippedOf as flipped, quantise, withFlipped, type Row } from '../src/eval/chunk.js'
import { attackSheet, pickFrames, sweepPlot } from '../src/eval/pictures.js'
import { chunkIds, mergeRuns, parseShard, readRows, shardChunks, summarise, markdownTable } from '../src/eval/results.js'
import { initBackend } from '../src/backend/backend.js'
import { r3d18 } from '../src/models/r3d.js'
import { filterCacheSize } from '../src/ops/conv3d.js'
import { saveWeights } from '../src/models/weights.js'
import { BUILT_IN, loadAttackList, scaledRegionOverrides } from '../src/eval/specs.js'
import * as E from 'fp-ts/lib/Either.js'

const run = promisify(execFile)
const CLI = ['--import', 'tsx', 'src/cli/bin.ts']
const multav = (args: ReadonlyArray<string>) => run(process.execPath, [...CLI, ...args], { env: { ...process.env, MULTAV_BACKEND: 'cpu' } })

let root = ''
let modelDir = ''

/** A small random 3D ResNet-18 saved as a model folder (as `multav train` writes one). */
test.before(async () => {
  await initBackend('cpu')
  root = await mkdtemp(join(tmpdir(), 'multav-eval-'))
  modelDir = join(root, 'model')
  const net = r3d18({ layout: 'torchvision', classes: 6, widths: [2, 2, 4, 4], seed: 3 })
  await saveWeights(modelDir, { ...net.variables, ...net.state }, {
    config: { architecture: 'r3d18', layout: 'torchvision', widths: [2, 2, 4, 4], classes: BENCHMARK_CLASSES, clip: { T: 8, H: 32, W: 32 } },
  })
  net.dispose()
})

test.after.always(async () => {
  await rm(root, { recursive: true, force: true })
})

/** The comparable part of the rows (time is not). */
const comparable = (rows: ReadonlyArray<Row>) =>
  [...rows].sort((a, b) => a.attack.localeCompare(b.attack) || a.clip - b.clip).map(({ seconds: _s, ...rest }) => rest)

const results = async (dir: string) => JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as { rows: Row[]; summary: { cleanAccuracy: number } }

test('chunks cover every clip once, and shards split them without overlap', (t) => {
  for (const [clips, batch, count] of [[10, 3, 1], [10, 3, 2], [7, 8, 3], [24, 4, 5]] as const) {
    const all = Array.from({ length: count }, (_, index) => shardChunks({ clips, batch, shard: { index, count } }).flatMap((c) => chunkIds({ clips, batch }, c)))
    t.deepEqual(all.flat().sort((a, b) => a - b), Array.from({ length: clips }, (_, i) => i), `${clips}/${batch}/${count}`)
  }
  t.deepEqual(parseShard('1/4'), { index: 1, count: 4 })
  for (const bad of ['4/4', '1', '-1/2', 'a/b', '0/0']) t.true(typeof parseShard(bad) === 'string', bad)
})

test('summaries count accuracy on the quantised prediction and success among correct clips, with Wilson intervals', (t) => {
  // rows as an older version wrote them, without `flipped`: the summary derives it
  const row = (clip: number, attack: string, label: number, clean: number, adversarial: number): Row => ({
    clip, attack, label, clean, adversarial, success: adversarial !== label, linf: 0.01 * clip, l2: 1, ratio: clip === 3 ? null : 1.1, logRatioL2: 0, seconds: 1,
  })
  const rows = [row(0, 'a', 1, 1, 1), row(1, 'a', 2, 2, 0), row(2, 'a', 0, 1, 1), row(3, 'a', 0, 0, 0), row(0, 'b', 1, 1, 0), row(1, 'b', 2, 2, 2), row(2, 'b', 0, 1, 0), row(3, 'b', 0, 0, 0)]
  const s = summarise(rows, ['a', 'b'])
  t.is(s.clips, 4)
  t.is(s.cleanAccuracy, 0.75)
  t.is(s.attacks[0]!.accuracy, 0.5)
  t.is(s.attacks[0]!.successOnCorrect, 1 / 3)
  t.is(s.attacks[0]!.maxRatio, null)
  t.is(s.attacks[1]!.accuracy, 0.75)
  t.true(Math.abs(s.attacks[0]!.maxLinf - 0.03) < 1e-12)
  // wilson(3, 4) and wilson(2, 4) at z = 1.96: [0.3006, 0.9544] and [0.1500, 0.8500]
  t.true(Math.abs(s.cleanAccuracyInterval![0] - 0.300636) < 1e-6 && Math.abs(s.cleanAccuracyInterval![1] - 0.954414) < 1e-6)
  t.true(Math.abs(s.attacks[0]!.accuracyInterval![0] - 0.150036) < 1e-6)
  // a: clips 1 and 2 misclassified after the attack; clip 2 was already wrong, so one flip of 3 correct
  t.is(s.attacks[0]!.correct, 3)
  t.is(s.attacks[0]!.flipped, 1)
  t.is(s.attacks[1]!.flipped, 1)
  t.regex(markdownTable(s), /\| clean \| 75\.0 \| 30\.1–95\.4 \|/)
  t.regex(markdownTable(s), /\| a \| 50\.0 \| 15\.0–85\.0 \| 33\.3 \|/)
  t.regex(markdownTable(s), /^\| attack \| accuracy % \| 95% CI \| success % \(of correct\) \|/)
})

test('flipped: correct before and wrong after, whatever success means for a targeted attack', (t) => {
  const base = { clip: 0, attack: 'x', linf: 0, l2: 0, ratio: 1, logRatioL2: 0, seconds: 0 }
  const flippedOf = (r: Pick<Row, 'label' | 'clean' | 'adversarial' | 'success'> & Partial<Row>) => flipped({ ...base, ...r })
  // targeted at class 2: sent to 2 is a success and a flip; sent to 1 a flip but no success
  t.true(flippedOf({ ...base, label: 0, clean: 0, adversarial: 2, success: true }))
  t.true(flippedOf({ ...base, label: 0, clean: 0, adversarial: 1, success: false }))
  // already wrong: never a flip, even where success says so
  t.false(flippedOf({ ...base, label: 0, clean: 1, adversarial: 2, success: true }))
  t.false(flippedOf({ ...base, label: 0, clean: 0, adversarial: 0, success: false }))
  t.false(flippedOf({ ...base, label: 0, clean: -1, adversarial: -1, success: false, error: 'x.avi: unreadable' }))
  // a recorded value wins; a derived one goes right after success
  t.false(flippedOf({ ...base, label: 0, clean: 0, adversarial: 1, success: true, flipped: false }))
  t.deepEqual(Object.keys(withFlipped({ ...base, label: 0, clean: 0, adversarial: 1, success: true })).slice(5, 7), ['success', 'flipped'])
})

test.serial('a chunk: rows per clip and attack, success on the 8-bit clip, no tensor left behind', async (t) => {
  const net = r3d18({ layout: 'torchvision', classes: 6, widths: [2, 2, 4, 4], seed: 1 })
  const before = tf.memory().numTensors
  const clips = { shape: [2, 8, 32, 32, 3] as [number, number, number, number, number], data: Float32Array.from({ length: 2 * 8 * 32 * 32 * 3 }, (_, i) => ((i * 7919) % 1000) / 1000) }
  const attacks = [addLinf({ steps: 2 }), multLinf({ steps: 2 })]
  const r = await evaluateChunk(net.model, attacks, { index: 5, ids: [10, 11], labels: [0, 3], clips }, (c) => c === 11)
  t.is(r.rows.length, 4)
  t.deepEqual(r.rows.map((x) => [x.attack, x.clip]), [['add-linf', 10], ['add-linf', 11], ['mult-linf', 10], ['mult-linf', 11]])
  for (const row of r.rows) {
    t.is(row.success, row.adversarial !== row.label)
    t.is(row.flipped, row.clean === row.label && row.adversarial !== row.label)
    t.true(row.linf <= 4 / 255 + 1e-6 || row.attack !== 'add-linf')
  }
  t.is(r.kept.length, 2)
  // the kept adversarial clip, quantised and classified again, gives the row's prediction
  const kept = r.kept.find((k) => k.attack === 'mult-linf')!
  const xAdv = tf.tensor5d(kept.adversarial, [1, 8, 32, 32, 3])
  const q = quantise(xAdv)
  const p = tf.tidy(() => tf.argMax(net.model(q), 1))
  t.is((await p.data())[0], r.rows[3]!.adversarial)
  tf.dispose([xAdv, q, p])
  t.is(tf.memory().numTensors, before)
  net.dispose()
})

test.serial("a chunk's attacks share one filter-cache scope (folds made once) and give the rows of attacks run one by one", async (t) => {
  const net = r3d18({ layout: 'torchvision', classes: 6, widths: [2, 2, 4, 4], seed: 2 })
  const before = tf.memory().numTensors
  const clips = { shape: [2, 8, 32, 32, 3] as [number, number, number, number, number], data: Float32Array.from({ length: 2 * 8 * 32 * 32 * 3 }, (_, i) => ((i * 104729) % 997) / 997) }
  const attacks = [multLinf({ steps: 2 }), addLinf({ steps: 2 })]
  // the derived tensors alive when each forward pass starts: 0 at an attack's first pass unless the scope is shared
  const seen: number[] = []
  const spy = (x: tf.Tensor5D) => (seen.push(filterCacheSize()), net.model(x))
  const shared = await evaluateChunk(spy, attacks, { index: 3, ids: [0, 1], labels: [1, 4], clips })
  t.true(seen.length > 2)
  t.true(seen.slice(1).every((n) => n > 0), `cache sizes at each forward pass: ${seen.join(', ')}`)
  t.is(filterCacheSize(), 0) // released when the chunk ends
  const alone: Row[] = []
  for (const a of attacks) alone.push(...(await evaluateChunk(net.model, [a], { index: 3, ids: [0, 1], labels: [1, 4], clips })).rows)
  const comparable = (rows: ReadonlyArray<Row>) => rows.map(({ seconds: _s, ...rest }) => rest)
  t.deepEqual(comparable(shared.rows), comparable(alone))
  t.is(tf.memory().numTensors, before)
  net.dispose()
})

test('a cut-short last line is ignored; a bad line elsewhere is an error', async (t) => {
  const dir = join(root, 'rows')
  await rm(dir, { recursive: true, force: true })
  await (await import('node:fs/promises')).mkdir(dir)
  const line = JSON.stringify({ clip: 0, attack: 'a' })
  await writeFile(join(dir, 'rows.jsonl'), `${line}\n${line.slice(0, 9)}`)
  t.is((await readRows(dir)).length, 1)
  await writeFile(join(dir, 'rows.jsonl'), `${line.slice(0, 9)}\n${line}\n`)
  await t.throwsAsync(readRows(dir), { message: /rows\.jsonl:1: not a JSON row/ })
})

const evalArgs = (out: string, extra: ReadonlyArray<string> = []) => [
  'eval', '--model', modelDir, '--limit', '10', '--batch', '3', '--attacks', 'add-linf:steps=2,mult-linf:steps=2,af:steps=1', '--out', out, ...extra,
]

test.serial('1 worker, 2 workers and 2 merged shards give identical results', async (t) => {
  const one = join(root, 'w1')
  const two = join(root, 'w2')
  const evalJson = JSON.parse((await multav(evalArgs(one, ['--workers', '1', '--json']))).stdout) as { clips: number; attacks: { accuracyInterval: unknown }[] }
  t.is(evalJson.clips, 10)
  t.is(evalJson.attacks.length, 3)
  await multav(evalArgs(two, ['--workers', '2', '--pictures', '0']))
  const shards = [0, 1].map((i) => join(root, `s${i}`))
  for (const [i, dir] of shards.entries()) await multav(evalArgs(dir, ['--workers', '1', '--shard', `${i}/2`]))
  const merged = join(root, 'merged')
  const { stdout, stderr } = await multav(['merge', ...shards, '--out', merged, '--json'])
  // --json: stdout is the summary alone, the rest went to stderr
  const printed = JSON.parse(stdout) as { cleanAccuracy: number; cleanAccuracyInterval: [number, number]; attacks: { attack: string }[] }
  t.deepEqual(printed.attacks.map((a) => a.attack), ['add-linf steps=2', 'mult-linf steps=2', 'af steps=1'])
  t.true(printed.cleanAccuracyInterval[0] <= printed.cleanAccuracy && printed.cleanAccuracy <= printed.cleanAccuracyInterval[1])
  t.regex(stderr, /results\.csv/)
  // the shards' pictures (of clips 0 and 3, each shard's first) come along
  for (const name of ['add-linf_steps_2-clip0.png', 'af_steps_1-clip3.png']) t.true(existsSync(join(merged, 'pictures', name)), name)
  const meta = (JSON.parse(await readFile(join(merged, 'results.json'), 'utf8')) as { meta: Record<string, unknown> }).meta
  t.like(meta, { command: 'multav merge', multav: '0.1.0', tfjsCore: tf.version_core, node: process.version, argv: ['merge', ...shards, '--out', merged, '--json'] })
  t.deepEqual((meta['shards'] as { meta: { backend: string; wasmThreads: unknown } }[]).map((s) => [s.meta.backend, s.meta.wasmThreads]), [['cpu', null], ['cpu', null]])
  const [r1, r2, rm_] = await Promise.all([results(one), results(two), results(merged)])
  t.is(r1.rows.length, 30)
  t.deepEqual(comparable(r2.rows), comparable(r1.rows))
  t.deepEqual(comparable(rm_.rows), comparable(r1.rows))
  t.is(rm_.summary.cleanAccuracy, r1.summary.cleanAccuracy)
  // provenance, and the rows as CSV (a header and one line per row, in results.json's order)
  const written = JSON.parse(await readFile(join(one, 'results.json'), 'utf8')) as { meta: Record<string, unknown> }
  t.like(written.meta, { command: 'multav eval', multav: '0.1.0', tfjsCore: tf.version_core, node: process.version, backend: 'cpu', wasmThreads: null, workers: 1 })
  t.deepEqual(written.meta['argv'], evalArgs(one, ['--workers', '1', '--json']))
  const csv = (await readFile(join(one, 'results.csv'), 'utf8')).split('\r\n')
  t.is(csv[0], 'clip,attack,label,clean,adversarial,success,flipped,linf,l2,ratio,logRatioL2,seconds,error')
  t.is(csv.length, 1 + 30 + 1)
  const first = r1.rows[0]!
  t.is(csv[1], [first.clip, first.attack, first.label, first.clean, first.adversarial, first.success, first.flipped, first.linf, first.l2, first.ratio ?? '', first.logRatioL2 ?? '', first.seconds, ''].join(','))
  // the one-worker run drew one picture per attack, of its first clip
  for (const name of ['add-linf_steps_2', 'mult-linf_steps_2', 'af_steps_1']) t.true(existsSync(join(one, 'pictures', `${name}-clip0.png`)), name)
  // an incomplete set of shards is refused
  await t.throwsAsync(mergeRuns([shards[0]!], join(root, 'half')), { message: /shard\(s\) 1\/2 missing/ })
})

/** Runs the CLI until `rows.jsonl` has at least `lines` lines, then sends `signal`; resolves with the exit code. */
const interrupt = (args: ReadonlyArray<string>, out: string, lines: number, signal: NodeJS.Signals) =>
  new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, MULTAV_BACKEND: 'cpu' }, stdio: 'ignore' })
    const timer = setInterval(async () => {
      const text = existsSync(join(out, 'rows.jsonl')) ? await readFile(join(out, 'rows.jsonl'), 'utf8') : ''
      if (text.split('\n').length - 1 >= lines) {
        clearInterval(timer)
        child.kill(signal)
      }
    }, 20)
    child.on('exit', (code) => {
      clearInterval(timer)
      resolve(code)
    })
    child.on('error', reject)
  })

test.serial('a run killed mid-way, or stopped with Ctrl-C, resumes to the uninterrupted result', async (t) => {
  const reference = await results(join(root, 'w1'))
  for (const signal of ['SIGKILL', 'SIGINT'] as const) {
    const out = join(root, `interrupted-${signal}`)
    const args = evalArgs(out, ['--workers', '1', '--batch', '1'])
    const code = await interrupt(args, out, 6, signal)
    t.is(code, signal === 'SIGINT' ? 130 : null, signal)
    t.false(existsSync(join(out, 'results.json')), 'no results until the run is complete')
    const partial = await readRows(out)
    t.true(partial.length >= 6 && partial.length < 30, `${signal}: ${partial.length} rows saved`)
    // without --resume the folder is not overwritten
    const refused = await t.throwsAsync(multav(args))
    t.regex((refused as unknown as { stderr: string }).stderr, /already holds a run; pass --resume/)
    await multav([...args, '--resume'])
    const resumed = await results(out)
    // --batch 1 seeds per clip differently from --batch 3: compare with a batch-1 run's rows
    const fresh = join(root, `fresh-${signal}`)
    await multav(evalArgs(fresh, ['--workers', '1', '--batch', '1']))
    t.deepEqual(comparable(resumed.rows), comparable((await results(fresh)).rows))
    t.is(resumed.rows.length, reference.rows.length)
  }
  // resuming with a different plan is refused
  const other = await t.throwsAsync(multav(evalArgs(join(root, 'interrupted-SIGKILL'), ['--batch', '2', '--resume'])))
  t.regex((other as unknown as { stderr: string }).stderr, /cannot resume, the run there differs in .*batch/)
})

test.serial('eval without --attacks runs all-scaled: the masked regions scaled to the model\'s 32x32 frames', async (t) => {
  const out = join(root, 'default-attacks')
  const child = spawn(process.execPath, [...CLI, 'eval', '--model', modelDir, '--limit', '1', '--batch', '1', '--workers', '1', '--out', out], { env: { ...process.env, MULTAV_BACKEND: 'cpu' }, stdio: 'ignore' })
  // the plan is written before the first chunk: read it, and stop the run
  const plan = await new Promise<{ attackNames: string[] }>((resolve, reject) => {
    const timer = setInterval(async () => {
      const text = existsSync(join(out, 'run.json')) ? await readFile(join(out, 'run.json'), 'utf8').catch(() => '') : ''
      if (!text.endsWith('\n')) return
      clearInterval(timer)
      child.kill('SIGKILL')
      resolve(JSON.parse(text) as { attackNames: string[] })
    }, 20)
    child.on('exit', () => {
      clearInterval(timer)
      if (!existsSync(join(out, 'run.json'))) reject(new Error('eval exited before writing its plan'))
    })
  })
  const scaled = await loadAttackList('all-scaled', { H: 32, W: 32 })
  t.deepEqual(plan.attackNames, E.isRight(scaled) ? scaled.right.map((a) => a.name) : [])
  t.true(plan.attackNames.includes('roa height=9 width=9'))
})

test.serial('bad eval arguments exit 2 with a specific message', async (t) => {
  const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
    [['--batch', '0'], /--batch must be an integer ≥ 1, got "0"/],
    [['--shard', '2/2'], /--shard must be i\/n with 0 ≤ i < n/],
    [['--attacks', 'add-linf:eps=x'], /add-linf:eps=x: "eps=x" is not key=number/],
    [['--attacks', 'add-linf:height=3'], /add-linf: cannot override height/],
    [['--attacks', 'mult-linf:eps=0.5'], /mult-linf: .*eps: expected a number > 1/],
    [['--attacks', 'add-linf,add-linf'], /attack names must be unique/],
    [['--attacks', 'nope'], /nope: no such file, and not a built-in attack/],
    [['--data', join(root, 'missing')], /--data .*missing: no such folder/],
    [['--model', join(root, 'missing')], /--model .*missing: .*not a model folder/],
    [['--split', 'dev'], /--split must be train or test/],
    [['--sweep', 'eps'], /--sweep must be key=v1,v2/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ]
  for (const [args, message] of cases) {
    const error = await t.throwsAsync(multav(['eval', '--model', modelDir, '--out', join(root, 'never'), ...args]))
    t.is((error as unknown as { code: number }).code, 2, args.join(' '))
    t.regex((error as unknown as { stderr: string }).stderr, message, args.join(' '))
  }
  t.false(existsSync(join(root, 'never', 'rows.jsonl')))
  const help = await multav(['eval', '--help'])
  t.regex(help.stdout, /usage: multav eval/)
})

test.serial('the picture sheet: three columns per frame, and a zero difference outside an attack\'s mask', async (t) => {
  const net = r3d18({ layout: 'torchvision', classes: 6, widths: [2, 2, 4, 4], seed: 2 })
  const before = tf.memory().numTensors
  const clips = { shape: [1, 8, 32, 32, 3] as [number, number, number, number, number], data: Float32Array.from({ length: 8 * 32 * 32 * 3 }, (_, i) => 0.2 + ((i * 31) % 97) / 200) }
  const width = 3
  const r = await evaluateChunk(net.model, [af({ width, steps: 2 })], { index: 0, ids: [0], labels: [1], clips }, () => true)
  const kept = r.kept[0]!
  const sheet = attackSheet(kept, { frames: 3, scale: 2, gap: 4 })
  t.deepEqual(pickFrames(8, 3), [0, 4, 7])
  t.is(sheet.width, 3 * 32 * 2 + 2 * 4)
  t.is(sheet.height, 3 * 32 * 2 + 2 * 4)
  // the PNG encodes the same pixels
  const png = PNG.sync.read((await import('../src/eval/pictures.js')).encodePng(sheet))
  t.is(png.width, sheet.width)
  t.deepEqual(Uint8Array.from(png.data), sheet.data)
  const at = (row: number, column: number, y: number, x: number) => {
    const i = ((row * (64 + 4) + y * 2) * sheet.width + column * (64 + 4) + x * 2) * 4
    return [...sheet.data.subarray(i, i + 3)]
  }
  let changedOnFrame = 0
  for (const [row, frame] of sheet.frames.entries())
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        const inside = y >= width && y < 32 - width && x >= width && x < 32 - width
        const diff = at(row, 2, y, x)
        if (inside) t.deepEqual(diff, [0, 0, 0], `frame ${frame} (${y}, ${x})`)
        else if (diff.some((v) => v > 0)) changedOnFrame++
        // the clean column shows the clean clip
        const i = ((frame * 32 + y) * 32 + x) * 3
        if (y === 5 && x === 5) t.deepEqual(at(row, 0, y, x), [0, 1, 2].map((c) => Math.round(255 * kept.clean[i + c]!)))
      }
  t.true(changedOnFrame > 0, 'the frame around the clip changed')
  t.is(tf.memory().numTensors, before)
  net.dispose()
})

test('the sweep plot draws one line per attack through its points', (t) => {
  const svg = sweepPlot([{ name: 'add-linf', points: [{ x: 1, accuracy: 1 }, { x: 2, accuracy: 0.5 }] }, { name: 'mult-linf', points: [{ x: 1, accuracy: 0.8 }, { x: 2, accuracy: 0 }] }], { parameter: 'eps' })
  t.is(svg.match(/<polyline/g)?.length, 2)
  t.is(svg.match(/<circle/g)?.length, 4)
  t.regex(svg, /mult-linf/)
})

/** Writes a small MPEG-4 AVI (a square drifting right or left) with the ffmpeg multav found. */
const writeAvi = async (file: string, direction: 1 | -1) => {
  const { findFfmpeg } = await import('../src/data/video.js')
  const [W, H, n] = [48, 40, 12]
  const frames = Array.from({ length: n }, (_, t) => {
    const f = new Uint8Array(W * H * 3).fill(60)
    const x0 = 20 + direction * 2 * t
    for (let y = 14; y < 26; y++) for (let x = Math.max(0, x0 - 6); x < Math.min(W, x0 + 6); x++) f.fill(230, (y * W + x) * 3, (y * W + x) * 3 + 3)
    return f
  })
  const child = spawn(await findFfmpeg(), ['-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', '25', '-i', '-', '-c:v', 'mpeg4', '-q:v', '2', '-y', file])
  child.stdin.end(Buffer.concat(frames.map((f) => Buffer.from(f))))
  await new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`ffmpeg exit ${code}`)))))
}

test.serial('eval on a folder of class folders with videos and frame folders; attack writes one clip losslessly', async (t) => {
  const data = join(root, 'videos')
  const { mkdir } = await import('node:fs/promises')
  await mkdir(join(data, 'moves right'), { recursive: true })
  await mkdir(join(data, 'moves left', 'clip-frames'), { recursive: true })
  await writeAvi(join(data, 'moves right', 'a.avi'), 1)
  await writeAvi(join(data, 'moves right', 'b.avi'), 1)
  await writeAvi(join(data, 'moves left', 'c.avi'), -1)
  // a frame folder: the PNG frames of a decoded clip
  const { loadVideo, writeFramesPng } = await import('../src/data/video.js')
  await writeFramesPng(await loadVideo(join(data, 'moves left', 'c.avi'), { T: 8, size: 32, crop: 32 }), join(data, 'moves left', 'clip-frames'))
  const out = join(root, 'eval-videos')
  await multav(['eval', '--model', modelDir, '--data', data, '--attacks', 'mult-linf:steps=1', '--workers', '1', '--out', out])
  const r = await results(out)
  // class folders are read in name order, their items in name order: c.avi, clip-frames, a.avi, b.avi
  t.deepEqual(r.rows.map((row) => [row.clip, row.label]), [[0, 1], [1, 1], [2, 0], [3, 0]])
  // the frame folder holds the 8-bit frames of c.avi's clip: the same clean prediction
  t.is(r.rows[0]!.clean, r.rows[1]!.clean)
  const bad = await t.throwsAsync(multav(['eval', '--model', modelDir, '--data', join(root, 'model'), '--out', join(root, 'never2')]))
  t.regex((bad as unknown as { stderr: string }).stderr, /no class folders/)

  const attackOut = join(root, 'attack')
  const { stdout, stderr } = await multav(['attack', '--video', join(data, 'moves right', 'a.avi'), '--model', modelDir, '--attack', 'mult-linf:steps=2', '--out', attackOut])
  t.regex(stdout, /attacked with mult-linf steps=2/)
  t.regex(stderr, /lossy codec/)
  const written = await loadVideo(join(attackOut, 'adversarial.mkv'), { T: 8, size: 32, crop: 32 })
  for (let f = 0; f < 8; f++) {
    const png = PNG.sync.read(await readFile(join(attackOut, 'frames', `frame_000${f + 1}.png`)))
    for (let i = 0; i < 32 * 32; i++)
      for (let c = 0; c < 3; c++) if (png.data[i * 4 + c] !== Math.round(255 * written.data[(f * 32 * 32 + i) * 3 + c]!)) return t.fail(`frame ${f} pixel ${i}`)
  }
  t.true(existsSync(join(attackOut, 'mult-linf_steps_2.png')))
  const missing = await t.throwsAsync(multav(['attack', '--video', join(root, 'none.avi'), '--model', modelDir]))
  t.regex((missing as unknown as { stderr: string }).stderr, /--video .*none\.avi: no such file or folder/)
})

test('--attacks all-scaled: the paper\'s regions in proportion to the frames (sides by side, pixels by area)', async (t) => {
  t.deepEqual(scaledRegionOverrides(112, 112), { roa: {}, 'mult-roa': {}, af: {}, 'mult-af': {}, spa: {}, 'mult-spa': {} })
  const at32 = scaledRegionOverrides(32, 32)
  t.deepEqual(at32.roa, { height: 9, width: 9 })
  t.deepEqual(at32['mult-af'], { width: 3 })
  t.deepEqual(at32.spa, { perFrame: 8 })
  t.deepEqual(scaledRegionOverrides(8, 224).roa, { height: 2, width: 60 })
  t.deepEqual(scaledRegionOverrides(4, 4)['af'], { width: 1 })
  const listed = await loadAttackList('all-scaled', { H: 32, W: 32 })
  t.true(E.isRight(listed))
  const names = E.isRight(listed) ? listed.right.map((a) => a.name) : []
  t.deepEqual(names, ['add-linf', 'add-l2', 'mult-linf', 'mult-l2', 'roa height=9 width=9', 'mult-roa height=9 width=9', 'af width=3', 'mult-af width=3', 'spa perFrame=8', 'mult-spa perFrame=8'])
  // at the paper's 112x112 they are the built-ins themselves
  const paper = await loadAttackList('all-scaled', { H: 112, W: 112 })
  t.deepEqual(E.isRight(paper) ? paper.right.map((a) => a.name) : [], Object.keys(BUILT_IN))
  t.true(E.isLeft(await loadAttackList('all-scaled')))
})
