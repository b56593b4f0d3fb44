/**
 * Throughput of the robustness evaluation: clips per minute of the built `multav eval` command
 * (dist/cli.js, built first; a fresh process per configuration, start-up included) on the shipped default model and the
 * benchmark's first --clips test clips under Add-L∞ and Mult-L∞, with 1 worker on 1 and on 2 wasm
 * threads, and 2 workers of 1 thread each; then how the time of one attack grows with the clip
 * (T·H·W) and with the steps. Prints tables and writes bench/results/throughput.json.
 *
 * Run: node --import tsx bench/throughput.ts [--clips 240] [--reps 3]
 */
import * as tf from '@tensorflow/tfjs-core'
import writeFileAtomic from 'write-file-atomic'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { multLinf } from '../src/dsl/attacks.js'
import { initBackend } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { r3d18 } from '../src/models/r3d.js'
import { benchMeta, median } from './meta.js'

const run = promisify(execFile)
const { values } = parseArgs({ options: { clips: { type: 'string', default: '240' }, reps: { type: 'string', default: '3' } } })
const clips = Number(values.clips)
const reps = Number(values.reps)

// --- multav eval: workers x threads ----------------------------------------------------------------
// the built command (what `npm install multav` runs): under tsx every worker thread would compile
// the TypeScript sources again, a start-up cost the package does not have
await run(process.execPath, ['build.mjs'], { maxBuffer: 16 << 20 })
const evalRuns: { workers: number; threads: number; seconds: number; clipsPerMinute: number; evalSeconds: number; evalClipsPerMinute: number }[] = []
for (const [workers, threads] of [[1, 1], [1, 2], [2, 1]] as const) {
  const out = await mkdtemp(join(tmpdir(), 'multav-bench-'))
  const args = ['dist/cli.js', 'eval', '--model', 'default', '--data', 'benchmark', '--limit', String(clips),
    '--attacks', 'add-linf,mult-linf', '--workers', String(workers), '--threads', String(threads), '--pictures', '0', '--out', out, '--backend', 'wasm']
  const t0 = performance.now()
  await run(process.execPath, args, { maxBuffer: 16 << 20 })
  const seconds = (performance.now() - t0) / 1000
  // the evaluation's own time (results.json): runEval, worker start and model loading included, process start excluded
  const evalSeconds = (JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { meta: { seconds: number } }).meta.seconds
  await rm(out, { recursive: true, force: true })
  evalRuns.push({ workers, threads, seconds, clipsPerMinute: (60 * clips) / seconds, evalSeconds, evalClipsPerMinute: (60 * clips) / evalSeconds })
  console.error(`eval, ${workers} worker(s) x ${threads} thread(s): ${seconds.toFixed(1)} s`)
}

const backend = await initBackend('wasm')
// --- time of one attack against T·H·W and steps (random default-architecture model) ----------------
const net = r3d18({ layout: 'torchvision', classes: 6, widths: [8, 16, 32, 64], seed: 0 })
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
for (const [T, S, steps] of [[8, 32, 5], [16, 32, 5], [8, 64, 5], [16, 64, 5], [16, 112, 5], [8, 64, 10], [8, 64, 20]] as const) {
  const seconds = await timeAttack(T, S, steps)
  // a run costs `steps` gradients + 1 forward pass (the clean pass comes from the first step) ≈ (steps + 1/3) gradients
  scaling.push({ T, H: S, W: S, steps, seconds, perValueStep: seconds / (T * S * S * (steps + 1 / 3)) })
}
net.dispose()

const meta = { ...benchMeta(backend), clips, reps }
const base = evalRuns[0]!
console.log(`multav eval, default model, ${clips} test clips x [add-linf, mult-linf] (5 steps), batch 8, wasm:`)
console.log('| workers x wasm threads | command (s) | clips / minute | speed-up | evaluation alone (s) | clips / minute | speed-up |')
console.log('|---|---|---|---|---|---|---|')
for (const w of evalRuns)
  console.log(
    `| ${w.workers} x ${w.threads} | ${w.seconds.toFixed(1)} | ${w.clipsPerMinute.toFixed(1)} | ${(w.clipsPerMinute / base.clipsPerMinute).toFixed(2)} | ${w.evalSeconds.toFixed(1)} | ${w.evalClipsPerMinute.toFixed(1)} | ${(w.evalClipsPerMinute / base.evalClipsPerMinute).toFixed(2)} |`,
  )
console.log(`\nmult-linf on one clip, random default-architecture model, ${meta.wasmThreads} wasm threads, median of ${reps} after a warm-up:`)
console.log('| T x H x W | steps | seconds | µs per value per gradient |')
console.log('|---|---|---|---|')
for (const s of scaling) console.log(`| ${s.T}x${s.H}x${s.W} | ${s.steps} | ${s.seconds.toFixed(3)} | ${(1e6 * s.perValueStep).toFixed(3)} |`)
await mkdir('bench/results', { recursive: true })
await writeFileAtomic('bench/results/throughput.json', JSON.stringify({ meta, eval: evalRuns, scaling }, null, 2) + '\n')
