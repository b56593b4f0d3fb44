/**
 * The cost of an exact sign: multav's `ops.sign` (step(v) − step(−v)) against `tf.sign` (which has a
 * dead zone below 1.19e-7 on wasm), on gradients of the sizes an attack step meets: the default
 * model's batch of 8 clips of 8x32x32 and one 16x112x112 clip. One call = the op and a read-back of
 * its sum. Prints min and median per variant and writes bench/results/sign.json.
 *
 * Run: node --import tsx bench/sign.ts [--backend wasm|cpu] [--reps 150]
 */
import * as tf from '@tensorflow/tfjs-core'
import writeFileAtomic from 'write-file-atomic'
import { mkdir } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { initBackend, type BackendChoice } from '../src/backend/backend.js'
import { sign } from '../src/ops/sign.js'
import { benchMeta, median } from './meta.js'

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, reps: { type: 'string', default: '150' } } })
const backend = await initBackend(values.backend as BackendChoice)
const reps = Number(values.reps)
const VARIANTS: Readonly<Record<string, (v: tf.Tensor) => tf.Tensor>> = { 'tf.sign': tf.sign, 'ops.sign': sign }
const SHAPES = [[8, 8, 32, 32, 3], [1, 16, 112, 112, 3]]
const rows: { shape: string; variant: string; minMs: number; medianMs: number }[] = []
for (const shape of SHAPES) {
  const g = tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 0), 1e-7) // a real model's magnitudes
  for (const [variant, f] of Object.entries(VARIANTS)) {
    const once = () => {
      const s = tf.tidy(() => tf.sum(f(g)))
      s.dataSync()
      s.dispose()
    }
    for (let i = 0; i < 5; i++) once()
    const ms: number[] = []
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now()
      once()
      ms.push(performance.now() - t0)
    }
    rows.push({ shape: shape.join('x'), variant, minMs: Math.min(...ms), medianMs: median(ms) })
  }
  g.dispose()
}
console.log(`sign on ${backend} (${reps} calls each): ms per call, min / median`)
for (const r of rows) console.log(`  ${r.shape.padEnd(16)} ${r.variant.padEnd(9)} ${r.minMs.toFixed(2)} / ${r.medianMs.toFixed(2)}`)
await mkdir('bench/results', { recursive: true })
await writeFileAtomic('bench/results/sign.json', `${JSON.stringify({ meta: benchMeta(backend), reps, rows }, null, 2)}\n`)
