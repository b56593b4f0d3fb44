/**
 * One attack step — forward, input gradient of the cross-entropy, the update and projection — of
 * torchvision's r3d_18 loaded two ways on the same backend and clip: from ONNX (`models.loadOnnx`, the
 * graph interpreter, channels-last between convolutions) and as multav's own `models.r3d18` (torchvision
 * layout, `loadSafetensors`), the same seeded weights (test/fixtures/onnx/r3d18_pair.py writes both
 * files). Mult-L∞ and Add-L∞ steps; the two models alternate round by round so that both see the same
 * machine load; the first step of each run is a warm-up (it also fills conv3d's sub-filter cache).
 * Checks first that the two give the same logits. Writes bench/results/onnx-vs-r3d.json.
 *
 * With --profile, instead: the gradient step alone (forward + input gradient of the cross-entropy,
 * inside the filter cache as in an attack), wall time per model (median of --rounds x --steps,
 * alternated), then `tf.profile` of 4 steps each, kernels grouped by name (calls and ms per step).
 * Writes nothing.
 *
 * Run: node --import tsx bench/onnx-vs-r3d.ts [--frames 8] [--size 56] [--steps 4] [--rounds 3] [--backend wasm] [--profile]
 */
import * as tf from '@tensorflow/tfjs-core'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { addLinf, multLinf } from '../src/dsl/attacks.js'
import { initBackend, type BackendName } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { withFilterCache } from '../src/ops/conv3d.js'
import { loadOnnx } from '../src/models/onnx/index.js'
import { loadSafetensors } from '../src/models/pytorch.js'
import type { Model } from '../src/core/model.js'
import { benchArgs, benchMeta, showSpread, spread, torchPython, writeResults } from './meta.js'

const values = benchArgs({ frames: '8', size: '56', steps: '4', rounds: '3', backend: 'wasm', classes: '400', profile: false })
const [T, S, steps, rounds, classes] = [values.frames, values.size, values.steps, values.rounds, values.classes].map(Number) as [number, number, number, number, number]
const backend = await initBackend(values.backend as BackendName)

const dir = await mkdtemp(join(tmpdir(), 'multav-onnx-vs-r3d-'))
const python = torchPython()
if (python === undefined) throw new Error('bench/onnx-vs-r3d.ts needs python3 with torch and torchvision (Debian python3-torch python3-torchvision)')
execFileSync(python, ['test/fixtures/onnx/r3d18_pair.py', dir, String(classes)], { stdio: 'inherit' })

const KINETICS = { mean: [0.43216, 0.394666, 0.37645] as const, std: [0.22803, 0.22145, 0.216989] as const }
const onnx = await loadOnnx(join(dir, 'r3d_18.onnx'), { mean: [...KINETICS.mean], std: [...KINETICS.std] })
const own = await loadSafetensors(join(dir, 'r3d_18.safetensors'), { layout: 'torchvision', classes, ...KINETICS })
await rm(dir, { recursive: true, force: true })

const x = tf.randomUniform([1, T, S, S, 3], 0.05, 1, 'float32', 1) as tf.Tensor5D
const labels = [0]
const agreement = tf.tidy(() => {
  const a = onnx.model(x)
  const b = own.model(x)
  return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / tf.max(tf.abs(b)).dataSync()[0]!
})

const ATTACKS = { 'mult-linf': multLinf, 'add-linf': addLinf } as const
type Which = 'onnx' | 'r3d18'
const models: Record<Which, Model> = { onnx: onnx.model, r3d18: own.model }
/** The two models in round i's order: alternated, so that both see the same machine load. */
const order = (i: number): Which[] => (i % 2 === 0 ? ['r3d18', 'onnx'] : ['onnx', 'r3d18'])

/** Seconds per step of one runAttack, between its onStep callbacks (each reads the loss back), the first dropped. */
const timeSteps = async (attack: keyof typeof ATTACKS, which: Which): Promise<number[]> => {
  const stamps: number[] = [performance.now()]
  const r = await runAttack(ATTACKS[attack]({ steps: steps + 1 }), models[which], x, labels, { onStep: () => void stamps.push(performance.now()) })
  tf.dispose(r.adversarial)
  return stamps.slice(2).map((t, i) => (t - stamps[i + 1]!) / 1000)
}

/** --profile: the gradient step of each model, timed and profiled by kernel name. */
const profileSteps = async (): Promise<void> => {
  const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes)
  const step = (m: Model) => tf.tidy(() => tf.grad((v: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, m(v as tf.Tensor5D)))(x))
  const run = async (m: Model) => {
    const g = step(m)
    await g.data()
    g.dispose()
  }
  await withFilterCache(async () => {
    for (const m of Object.values(models)) await run(m) // warm-up: fills the caches
    const times: Record<Which, number[]> = { onnx: [], r3d18: [] }
    for (let i = 0; i < rounds * steps; i++)
      for (const which of order(i)) {
        const t0 = performance.now()
        await run(models[which])
        times[which].push(performance.now() - t0)
      }
    const by: Record<Which, Map<string, { calls: number; ms: number }>> = { onnx: new Map(), r3d18: new Map() }
    const reps = 4
    for (let i = 0; i < reps; i++)
      for (const which of ['onnx', 'r3d18'] as Which[]) {
        const info = await tf.profile(() => run(models[which]))
        for (const k of info.kernels) {
          const e = by[which].get(k.name) ?? { calls: 0, ms: 0 }
          e.calls++
          e.ms += Number(k.kernelTimeMs) || 0
          by[which].set(k.name, e)
        }
      }
    for (const which of ['onnx', 'r3d18'] as Which[]) {
      const t = spread(times[which])
      const rows = [...by[which].entries()].sort((a, b) => b[1].ms - a[1].ms)
      const total = rows.reduce((n, [, e]) => n + e.ms, 0) / reps
      console.log(`${which}: gradient step median ${t.median.toFixed(1)} ms (${t.min.toFixed(1)}–${t.max.toFixed(1)}) of ${times[which].length}; per profiled step ${total.toFixed(1)} ms in kernels`)
      for (const [name, e] of rows.slice(0, 16)) console.log(`  ${name.padEnd(24)} ${(e.calls / reps).toFixed(0).padStart(5)} calls ${(e.ms / reps).toFixed(1).padStart(8)} ms`)
    }
  })
  oneHot.dispose()
}
if (values.profile) {
  await profileSteps()
  tf.dispose(x)
  onnx.dispose()
  own.dispose()
  process.exit(0)
}

const load: number[] = [loadavg()[0]!]
const samples: Record<string, number[]> = {}
for (let round = 0; round < rounds; round++)
  for (const attack of Object.keys(ATTACKS) as Array<keyof typeof ATTACKS>)
    for (const which of order(round)) {
      ;(samples[`${attack} ${which}`] ??= []).push(...(await timeSteps(attack, which)))
      load.push(loadavg()[0]!)
    }
tf.dispose(x)
onnx.dispose()
own.dispose()

const rows = (Object.keys(ATTACKS) as Array<keyof typeof ATTACKS>).map((attack) => {
  const o = spread(samples[`${attack} onnx`]!)
  const r = spread(samples[`${attack} r3d18`]!)
  return { attack, onnx: o, r3d18: r, ratio: o.median / r.median }
})
const meta = { ...benchMeta(backend), clip: [1, T, S, S, 3], steps, rounds, classes, loadAverage: spread(load), onnxOps: onnx.ops, runtimeNodes: onnx.runtimeNodes }
console.log(`r3d_18 (${classes} classes) on ${backend}, clip 1x${T}x${S}x${S}x3: logits agree within ${agreement.toExponential(1)} of their scale`)
console.log(`seconds per attack step, median of ${rounds}x${steps} (min–max); load average ${meta.loadAverage.min.toFixed(1)}–${meta.loadAverage.max.toFixed(1)}`)
console.log('| attack | loadOnnx | models.r3d18 | ONNX / own |')
console.log('|---|---:|---:|---:|')
for (const r of rows) console.log(`| ${r.attack} | ${showSpread(r.onnx)} | ${showSpread(r.r3d18)} | ${r.ratio.toFixed(3)} |`)
await writeResults('onnx-vs-r3d', { meta, agreement, rows })
