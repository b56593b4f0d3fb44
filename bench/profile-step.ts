/**
 * Where the time of one attack step goes: `tf.profile` of one forward pass + input gradient of the
 * cross-entropy (what each attack step computes) of 3D ResNet-18 (torchvision layout) on wasm, inside
 * conv3d's filter cache (as in an attack, after one warm-up gradient), kernels grouped by name
 * (calls, total ms). Also the wall time per gradient (median of --reps), and with --top N the N
 * kernel shapes that take longest (kernel, input shapes: calls, total ms).
 *
 * Run: MULTAV_THREADS=2 node --import tsx bench/profile-step.ts [--model default|full] [--reps 5] [--top 20]
 */
import * as tf from '@tensorflow/tfjs-core'
import { parseArgs } from 'node:util'
import { initBackend } from '../src/backend/backend.js'
import { r3d18 } from '../src/models/r3d.js'
import { withFilterCache } from '../src/ops/conv3d.js'
import { median } from './meta.js'

const { values } = parseArgs({ options: { model: { type: 'string', default: 'default' }, reps: { type: 'string', default: '5' }, profile: { type: 'boolean', default: true }, top: { type: 'string', default: '0' } } })
await initBackend('wasm')
const full = values.model === 'full'
const [batch, T, S, widths, classes] = full ? [1, 16, 112, [64, 128, 256, 512], 101] as const : [8, 8, 32, [8, 16, 32, 64], 6] as const
const net = r3d18({ layout: 'torchvision', classes, widths: [...widths], seed: 0 })
const x = tf.randomUniform([batch, T, S, S, 3], 0.05, 1, 'float32', 1) as tf.Tensor5D
const oneHot = tf.oneHot(tf.zeros([batch], 'int32') as tf.Tensor1D, classes)
const step = () => tf.tidy(() => tf.grad((v: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, net.model(v as tf.Tensor5D)))(x))
await withFilterCache(async () => {
  await step().data() // warm-up: fills the caches
  const times: number[] = []
  for (let i = 0; i < Number(values.reps); i++) {
    const t0 = performance.now()
    const g = step()
    await g.data()
    times.push(performance.now() - t0)
    g.dispose()
  }
  console.log(`gradient: median ${median(times).toFixed(1)} ms of [${times.map((t) => t.toFixed(1)).join(', ')}]`)
  if (!values.profile) return
  const info = await tf.profile(async () => {
    const g = step()
    await g.data()
    g.dispose()
  })
  const by = new Map<string, { calls: number; ms: number }>()
  for (const k of info.kernels) {
    const e = by.get(k.name) ?? { calls: 0, ms: 0 }
    e.calls++
    e.ms += Number(k.kernelTimeMs) || 0
    by.set(k.name, e)
  }
  const rows = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms)
  const total = rows.reduce((s, [, e]) => s + e.ms, 0)
  console.log(`profiled: ${info.kernels.length} kernel calls, ${total.toFixed(1)} ms in kernels`)
  for (const [name, e] of rows) console.log(`${name.padEnd(24)} ${String(e.calls).padStart(5)} calls ${e.ms.toFixed(1).padStart(8)} ms`)
  const top = Number(values.top)
  if (top > 0) {
    const byShape = new Map<string, { calls: number; ms: number }>()
    for (const k of info.kernels) {
      if (k.name === 'unnamed scope') continue
      const key = `${k.name} ${k.inputShapes.map((s) => `[${(s ?? []).join('x')}]`).join(' ')}`
      const e = byShape.get(key) ?? { calls: 0, ms: 0 }
      e.calls++
      e.ms += Number(k.kernelTimeMs) || 0
      byShape.set(key, e)
    }
    console.log(`\nthe ${top} kernel shapes that take longest:`)
    for (const [key, e] of [...byShape.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) console.log(`${e.ms.toFixed(2).padStart(8)} ms ${String(e.calls).padStart(3)}x  ${key}`)
  }
})
