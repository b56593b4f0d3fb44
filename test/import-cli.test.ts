/**
 * `multav import` then `multav eval` and `multav attack` on the imported folder, end to end: a
 * Kinetics-normalised PyTorch video model is evaluated correctly by the command line.
 *
 * test/fixtures/import/onnx_model.py builds a torchvision r3d_18 at widths 8-16-32-64 (seeded random
 * convolutions and BatchNorm statistics, 6 classes, a head fitted so that the clips get different
 * classes), exports it with torch.onnx.export at opset 17 with Kinetics' mean/std applied outside the
 * graph, and computes PyTorch's logits on the first benchmark test clips (written here as raw
 * float32) with and without that normalisation. Then, as a user would (`node src/cli/bin.ts`):
 * `multav import r3d_18.onnx --mean … --std … --classes labels.txt --out DIR` and `multav eval
 * --model DIR --data benchmark --limit 6 --attacks fgsm`; the clean predictions in results.json must
 * be PyTorch's argmax with the normalisation. The same import without --mean/--std must give PyTorch's
 * argmax without it, which differs (so the test can tell). Needs /usr/bin/python3 with torch and
 * torchvision; skipped, saying so, without them, and required when CI is set.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { execFile, spawnSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { initBackend } from '../src/backend/backend.js'
import { main } from '../src/cli/main.js'
import { benchmark, BENCHMARK_CLASSES } from '../src/data/benchmark.js'
import { writeFramesPng } from '../src/data/video.js'

const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0)
const required = process.env['CI'] !== undefined
const withTorch = python !== undefined || required ? test.serial : test.serial.skip
if (python === undefined && !required) console.log('import-cli.test.ts: /usr/bin/python3 has no torch/torchvision: the end-to-end import test is skipped')

const run = promisify(execFile)
const multav = (args: ReadonlyArray<string>) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, MULTAV_BACKEND: 'wasm' } })

const KINETICS = { mean: [0.43216, 0.394666, 0.37645], std: [0.22803, 0.22145, 0.216989] }
const CLIPS = 6
const [T, H, W] = [8, 32, 32]

interface Reference {
  readonly normalised: number[][]
  readonly plain: number[][]
}

let dir = ''
let exported: Promise<unknown> = Promise.resolve()
test.before(async () => {
  await initBackend('wasm')
  dir = await mkdtemp(join(tmpdir(), 'multav-import-cli-'))
  // the clips eval will see: the benchmark's test split at the model's size, the first CLIPS of it
  const set = benchmark({ split: 'test', T, H, W })
  await writeFile(join(dir, 'clips.f32'), Buffer.from(set.clips.data.buffer, 0, CLIPS * T * H * W * 3 * 4))
  await writeFile(join(dir, 'labels.txt'), `${BENCHMARK_CLASSES.join('\n')}\n`)
  if (python === undefined && !required) return
  exported = run(python ?? '/usr/bin/python3', ['test/fixtures/import/onnx_model.py', dir, '--clips', join(dir, 'clips.f32'), '--count', String(CLIPS), '--frames', String(T), '--size', String(H)], { timeout: 240_000 })
  exported.catch(() => undefined) // awaited by the tests
})
test.after.always(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

const argmax = (v: ReadonlyArray<number>) => v.indexOf(Math.max(...v))
/** Top-1 minus top-2 logit. */
const margin = (v: ReadonlyArray<number>) => {
  const sorted = [...v].sort((a, b) => b - a)
  return sorted[0]! - sorted[1]!
}

interface Results {
  readonly plan: { readonly classes: ReadonlyArray<string>; readonly clips: number }
  readonly rows: ReadonlyArray<{ readonly clip: number; readonly attack: string; readonly clean: number; readonly label: number }>
}

/** import FILE (with `extra` options) into DIR, then eval DIR on the first CLIPS benchmark clips; the clean class of each clip. */
const importAndEval = async (name: string, extra: ReadonlyArray<string>) => {
  const folder = join(dir, name)
  const imported = await multav(['import', join(dir, 'r3d_18.onnx'), '--classes', join(dir, 'labels.txt'), '--out', folder, ...extra])
  const out = join(dir, `${name}-run`)
  const evaluated = await multav(['eval', '--model', folder, '--data', 'benchmark', '--limit', String(CLIPS), '--batch', String(CLIPS), '--attacks', 'fgsm', '--pictures', '0', '--workers', '1', '--out', out, '--json'])
  const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as Results
  const rows = results.rows.filter((r) => r.attack === 'fgsm').sort((a, b) => a.clip - b.clip)
  return { folder, imported, evaluated, results, clean: rows.map((r) => r.clean), labels: rows.map((r) => r.label) }
}

withTorch('an imported Kinetics-normalised ONNX model is evaluated by multav eval as PyTorch classifies the clips; without --mean/--std it is not', async (t) => {
  await exported
  const reference = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as Reference
  const torchNormalised = reference.normalised.map(argmax)
  const torchPlain = reference.plain.map(argmax)
  t.log(`PyTorch, normalised: ${torchNormalised.join(' ')}; without normalisation: ${torchPlain.join(' ')}`)
  // the fixture must make a test that can fail: several classes, and the normalisation matters
  t.true(new Set(torchNormalised).size >= 3, `PyTorch gives the clips classes ${torchNormalised}`)
  t.notDeepEqual(torchNormalised, torchPlain)

  const [normalised, plain] = await Promise.all([
    importAndEval('kinetics', ['--mean', KINETICS.mean.join(','), '--std', KINETICS.std.join(',')]),
    importAndEval('plain', []),
  ])
  t.regex(normalised.imported.stdout, /normalised inside with mean 0\.43216,0\.394666,0\.37645 and std 0\.22803,0\.22145,0\.216989/)
  t.regex(plain.imported.stdout, /no normalisation/)
  // the model's class names are the run's, and the benchmark's labels are its classes by index (no warning)
  t.deepEqual(normalised.results.plan.classes, [...BENCHMARK_CLASSES])
  t.notRegex(normalised.evaluated.stderr, /labels are matched by index/)
  t.deepEqual(normalised.labels, [0, 1, 2, 3, 4, 5])

  // argmax ties within float rounding could go either way: clips with a top-2 margin below 1e-3 are not compared
  const clear = (logits: number[][]) => logits.map((v, k) => (margin(v) > 1e-3 ? k : -1)).filter((k) => k >= 0)
  const comparedN = clear(reference.normalised)
  const comparedP = clear(reference.plain)
  t.true(comparedN.length >= CLIPS - 1 && comparedP.length >= CLIPS - 1, `clear margins on ${comparedN.length} and ${comparedP.length} of ${CLIPS} clips`)
  t.deepEqual(comparedN.map((k) => normalised.clean[k]), comparedN.map((k) => torchNormalised[k]), 'with --mean/--std: PyTorch\'s classes on normalised clips')
  t.deepEqual(comparedP.map((k) => plain.clean[k]), comparedP.map((k) => torchPlain[k]), 'without: PyTorch\'s classes on raw [0, 1] clips')
  t.notDeepEqual(plain.clean, normalised.clean, 'leaving out the normalisation changes the predictions')

  // multav attack on the same folder: one clip (as PNG frames), written losslessly
  const frames = join(dir, 'clip0')
  const set = benchmark({ split: 'test', T, H, W, count: 1 })
  await writeFramesPng(set.clips, frames)
  const before = tf.memory().numTensors
  const lines: string[] = []
  const io = { log: (l: string) => lines.push(l), warn: (l: string) => lines.push(l), tty: false }
  const attacked = join(dir, 'attacked')
  const code = await main(['attack', '--model', normalised.folder, '--video', frames, '--attack', 'fgsm', '--out', attacked, '--backend', 'wasm'], io)
  t.is(code, 0, lines.join('\n'))
  t.regex(lines.join('\n'), new RegExp(`clean: "(${BENCHMARK_CLASSES.join('|')})"; attacked with fgsm`))
  t.is((await readdir(join(attacked, 'frames'))).length, T)
  t.is(tf.memory().numTensors, before)
})
