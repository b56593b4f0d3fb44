/**
 * One attack step's model work — forward + input gradient of the cross-entropy — of 3D ResNet-18
 * (torchvision layout, 101 classes) at 1x16x112x112x3: multav on wasm (custom-gradient conv3d) vs
 * PyTorch CPU (Debian's python3-torch) with 1 and 2 threads, in the same run on the same machine.
 * Writes bench/results/r3d-vs-pytorch.json.
 *
 * Run: node --import tsx bench/r3d-vs-pytorch.ts [--frames 16] [--size 112] [--reps 3]
 */
import * as tf from '@tensorflow/tfjs-core'
import writeFileAtomic from 'write-file-atomic'
import { execFileSync } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { initBackend } from '../src/interpreters/backend.js'
import { r3d18 } from '../src/models/r3d.js'

const { values } = parseArgs({ options: { frames: { type: 'string', default: '16' }, size: { type: 'string', default: '112' }, reps: { type: 'string', default: '3' } } })
const [T, S, reps] = [Number(values.frames), Number(values.size), Number(values.reps)]

const backend = await initBackend('wasm')
const model = r3d18({ layout: 'torchvision', classes: 101 })
const oneHot = tf.oneHot(tf.tensor1d([0], 'int32'), 101)
const times: number[] = []
for (let r = 0; r <= reps; r++) {
  const x = tf.randomUniform([1, T, S, S, 3], 0, 1, 'float32', r + 1) as tf.Tensor5D
  const t0 = performance.now()
  const g = tf.grad((v: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, model.model(v as tf.Tensor5D)))(x)
  await g.data()
  if (r > 0) times.push((performance.now() - t0) / 1000)
  tf.dispose([x, g])
}
model.dispose()
oneHot.dispose()
times.sort((a, b) => a - b)
const multav = { median: times[Math.floor(times.length / 2)]!, min: times[0]!, max: times.at(-1)! }

const python = ['/usr/bin/python3', 'python3'].find((p) => {
  try {
    execFileSync(p, ['-c', 'import torch, torchvision'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})
const torch = python
  ? (JSON.parse(execFileSync(python, ['bench/fixtures_r3d18_torch.py', String(T), String(S), String(reps)], { encoding: 'utf8' })) as Record<string, { median: number }>)
  : undefined

const meta = { date: new Date().toISOString(), backend, node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, clip: [1, T, S, S, 3], reps }
console.log(`forward + input gradient, 3D ResNet-18 (torchvision layout) at 1x${T}x${S}x${S}x3, median of ${reps} after a warm-up:`)
console.log(`  multav, wasm (1 thread):  ${multav.median.toFixed(2)} s (${multav.min.toFixed(2)}–${multav.max.toFixed(2)})`)
if (torch) {
  console.log(`  PyTorch ${torch['torch']}, 1 thread:  ${torch['threads1']!.median.toFixed(2)} s`)
  console.log(`  PyTorch ${torch['torch']}, 2 threads: ${torch['threads2']!.median.toFixed(2)} s`)
  console.log(`  ratio PyTorch(2 threads) / multav: ${(torch['threads2']!.median / multav.median).toFixed(2)}`)
} else console.log('  PyTorch not found (install Debian python3-torch python3-torchvision)')
await mkdir('bench/results', { recursive: true })
await writeFileAtomic('bench/results/r3d-vs-pytorch.json', JSON.stringify({ meta, multav, torch: torch ?? null }, null, 2) + '\n')
