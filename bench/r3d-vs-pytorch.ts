/**
 * One attack step — forward, input gradient of the cross-entropy, the Mult-L∞ update and projection —
 * of 3D ResNet-18 (torchvision layout) in multav on wasm (custom-gradient conv3d) and in PyTorch CPU
 * (Debian's python3-torch, the same step written by hand), each with 1 and 2 threads, in the same run on the same machine, for two models:
 * the full network (widths 64-128-256-512, 101 classes) on one 16x112x112 clip, and the shipped
 * default model's architecture (widths 8-16-32-64, 6 classes) on a batch of 8 benchmark-sized
 * 8x32x32 clips (what `multav eval` runs). Each multav thread count runs in its own process.
 * Writes bench/results/r3d-vs-pytorch.json.
 *
 * Run: node --import tsx bench/r3d-vs-pytorch.ts [--frames 16] [--size 112] [--reps 3] [--models full,default]
 */
import * as tf from '@tensorflow/tfjs-core'
import { execFileSync } from 'node:child_process'
import { multLinf } from '../src/dsl/attacks.js'
import { initBackend } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { r3d18 } from '../src/models/r3d.js'
import { benchArgs, benchMeta, showSpread, spread, torchPython, writeResults } from './meta.js'

// --probe (internal): time one case in this process and print JSON
const values = benchArgs({ frames: '16', size: '112', reps: '3', models: 'full,default' }, ['probe'])
const reps = Number(values.reps)

interface Case {
  readonly name: string
  readonly batch: number
  readonly T: number
  readonly S: number
  readonly widths: readonly [number, number, number, number]
  readonly classes: number
}
const CASES: ReadonlyArray<Case> = [
  { name: 'full', batch: 1, T: Number(values.frames), S: Number(values.size), widths: [64, 128, 256, 512], classes: 101 },
  { name: 'default', batch: 8, T: 8, S: 32, widths: [8, 16, 32, 64], classes: 6 },
]
interface Times {
  median: number
  min: number
  max: number
}

/**
 * Seconds per attack step of multav in this process: the steps of one runAttack (Mult-L∞: forward,
 * input gradient, update and projection), timed between its onStep callbacks (each reads the loss
 * back, a device sync). The first step is the warm-up (it also fills conv3d's sub-filter cache).
 */
const timeMultav = async (c: Case): Promise<Times> => {
  await initBackend('wasm')
  const net = r3d18({ layout: 'torchvision', classes: c.classes, widths: [...c.widths], seed: 0 })
  const x = tf.randomUniform([c.batch, c.T, c.S, c.S, 3], 0.05, 1, 'float32', 1) as tf.Tensor5D
  const stamps: number[] = [performance.now()]
  const r = await runAttack(multLinf({ steps: reps + 1 }), net.model, x, Array.from({ length: c.batch }, () => 0), {
    onStep: () => void stamps.push(performance.now()),
  })
  tf.dispose([x, r.adversarial])
  net.dispose()
  return spread(stamps.slice(2).map((t, i) => (t - stamps[i + 1]!) / 1000))
}

if (values.probe !== undefined) {
  process.stdout.write(JSON.stringify(await timeMultav(CASES.find((c) => c.name === values.probe)!)))
  process.exit(0)
}

const python = torchPython()
const rows = []
for (const c of CASES.filter((k) => values.models.split(',').includes(k.name))) {
  const multav: Record<string, Times> = {}
  for (const threads of [1, 2]) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/r3d-vs-pytorch.ts', '--probe', c.name, '--frames', values.frames, '--size', values.size, '--reps', String(reps)], {
      encoding: 'utf8',
      env: { ...process.env, MULTAV_THREADS: String(threads) },
    })
    multav[`threads${threads}`] = JSON.parse(out) as Times
  }
  const torch = python
    ? (JSON.parse(
        execFileSync(python, ['bench/fixtures_r3d18_torch.py', String(c.T), String(c.S), String(reps), c.widths.join(','), String(c.classes), String(c.batch)], { encoding: 'utf8' }),
      ) as Record<string, Times | string>)
    : null
  rows.push({ ...c, clip: [c.batch, c.T, c.S, c.S, 3], multav, torch })
}

const meta = { ...benchMeta('wasm', 2), reps }
const s = (t: Times | undefined) => (t ? showSpread(t) : 'n/a')
console.log(`one Mult-L∞ attack step of 3D ResNet-18 (torchvision layout), seconds per step, median of ${reps} after a warm-up (min–max):`)
console.log('| model | clip | multav wasm, 1 thread | multav wasm, 2 threads | PyTorch CPU, 1 thread | PyTorch CPU, 2 threads | PyTorch 2 threads / multav 2 threads |')
console.log('|---|---|---|---|---|---|---|')
for (const r of rows) {
  const t1 = r.torch?.['threads1'] as Times | undefined
  const t2 = r.torch?.['threads2'] as Times | undefined
  const ratio = t2 ? (t2.median / r.multav['threads2']!.median).toFixed(2) : 'n/a'
  console.log(`| ${r.widths.join('-')} | ${r.clip.join('x')} | ${s(r.multav['threads1'])} | ${s(r.multav['threads2'])} | ${s(t1)} | ${s(t2)} | ${ratio} |`)
}
if (!python) console.log('PyTorch not found (install Debian python3-torch python3-torchvision)')
else console.log(`PyTorch ${String(rows[0]!.torch?.['torch'])}`)
await writeResults('r3d-vs-pytorch', { meta, rows })
