/**
 * Throughput of the robustness evaluation: clips per minute of `runEval` on the shipped default model
 * and the benchmark's test split with 1 and 2 worker threads (same plan, same run), and how the time
 * of one attack grows with the clip (T·H·W) and with the steps. Prints tables and writes
 * bench/results/throughput.json.
 *
 * Run: node --import tsx bench/throughput.ts [--clips 48] [--reps 3]
 */
import * as tf from '@tensorflow/tfjs-core'
import writeFileAtomic from 'write-file-atomic'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { addLinf, multLinf } from '../src/dsl/attacks.js'
import { encodeAttack } from '../src/dsl/codec.js'
import { BENCHMARK_CLASSES } from '../src/data/benchmark.js'
import { runEval } from '../src/eval/run.js'
import { initBackend } from '../src/interpreters/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { r3d18 } from '../src/models/r3d.js'

const { values } = parseArgs({ options: { clips: { type: 'string', default: '48' }, reps: { type: 'string', default: '3' } } })
const clips = Number(values.clips)
const reps = Number(values.reps)
const backend = await initBackend('wasm')
const attacks = [addLinf(), multLinf()]

// --- 1 vs 2 workers on the same plan -------------------------------------------------------------
const workers: { workers: number; seconds: number; clipsPerMinute: number }[] = []
for (const n of [1, 2]) {
  const out = await mkdtemp(join(tmpdir(), 'multav-bench-'))
  const plan = {
    model: 'default',
    classes: BENCHMARK_CLASSES,
    data: { kind: 'benchmark' as const, split: 'test' as const, clip: { T: 8, H: 32, W: 32 } },
    clips,
    attacks: attacks.map(encodeAttack),
    attackNames: attacks.map((a) => a.name),
    batch: 8,
    shard: { index: 0, count: 1 },
  }
  const r = await runEval({ plan, backend: 'wasm', out, resume: false, workers: n, pictureClips: 0 })
  await rm(out, { recursive: true, force: true })
  workers.push({ workers: n, seconds: r.seconds, clipsPerMinute: (60 * clips) / r.seconds })
}

// --- time of one attack against T·H·W and steps (random default-architecture model) ----------------
const net = r3d18({ layout: 'torchvision', classes: 6, widths: [8, 16, 32, 64], seed: 0 })
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!
const timeAttack = async (T: number, S: number, steps: number): Promise<number> => {
  const x = tf.tidy(() => tf.randomUniform([1, T, S, S, 3], 0.05, 1, 'float32', 7)) as tf.Tensor5D
  const times: number[] = []
  for (let r = 0; r <= reps; r++) {
    const t0 = performance.now()
    const result = await runAttack(multLinf({ steps }), net.model, x, [0])
    result.adversarial.dispose()
    if (r > 0) times.push((performance.now() - t0) / 1000) // the first run warms up
  }
  x.dispose()
  return median(times)
}
const scaling: { T: number; H: number; W: number; steps: number; seconds: number; perValueStep: number }[] = []
for (const [T, S, steps] of [[8, 32, 5], [16, 32, 5], [8, 64, 5], [16, 64, 5], [8, 32, 10], [8, 32, 20]] as const) {
  const seconds = await timeAttack(T, S, steps)
  // each run costs `steps` gradients + 2 forward passes ≈ (steps + 2/3) gradients
  scaling.push({ T, H: S, W: S, steps, seconds, perValueStep: seconds / (T * S * S * (steps + 2 / 3)) })
}
net.dispose()

const meta = { date: new Date().toISOString(), node: process.version, backend, cpus: cpus().length, cores: availableParallelism(), cpu: cpus()[0]?.model, clips, reps }
console.log(`multav eval throughput, default model, ${clips} test clips x [add-linf, mult-linf] (5 steps), batch 8, ${backend}:`)
console.log('| workers | seconds | clips / minute | speed-up |')
console.log('|---|---|---|---|')
for (const w of workers) console.log(`| ${w.workers} | ${w.seconds.toFixed(1)} | ${w.clipsPerMinute.toFixed(1)} | ${(w.clipsPerMinute / workers[0]!.clipsPerMinute).toFixed(2)} |`)
console.log(`\nmult-linf on one clip, random default-architecture model, median of ${reps} after a warm-up:`)
console.log('| T x H x W | steps | seconds | µs per value per gradient |')
console.log('|---|---|---|---|')
for (const s of scaling) console.log(`| ${s.T}x${s.H}x${s.W} | ${s.steps} | ${s.seconds.toFixed(3)} | ${(1e6 * s.perValueStep).toFixed(3)} |`)
await mkdir('bench/results', { recursive: true })
await writeFileAtomic('bench/results/throughput.json', JSON.stringify({ meta, workers, scaling }, null, 2) + '\n')
