/**
 * Where each of the paper's ten attacks spends its kernel time apart from the convolutions: a
 * `tf.profile` of one 5-step run of each (the regions scaled to 32x32 frames, as `npm start` runs
 * them) on the shipped default model and 8 benchmark clips, on wasm, after one warm-up run. Prints
 * the total kernel time and the slowest other kernels (calls, ms) per attack: the element-wise
 * kernels that tfjs-backend-wasm runs one value at a time show up here (this found the L2
 * projections' Tile, docs/performance.md).
 *
 * Run: node --import tsx bench/attack-kernels.ts [--top 8]
 */
import * as tf from '@tensorflow/tfjs-core'
import { parseArgs } from 'node:util'
import { benchmark } from '../src/data/benchmark.js'
import { initBackend } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { pretrained } from '../src/models/pretrained.js'
import { scaledBuiltIns } from '../src/eval/specs.js'

const { values } = parseArgs({ options: { top: { type: 'string', default: '8' } } })
await initBackend('wasm')
const net = await pretrained('default')
const clips = benchmark({ split: 'test', count: 8 })
const x = tf.tensor5d(clips.clips.data, [...clips.clips.shape])
const once = async (attack: Parameters<typeof runAttack>[0]) => (await runAttack(attack, net.model, x, clips.labels)).adversarial.dispose()
/** The convolutions, multav's own kernels and the free reshapes: the rest is what this looks for. */
const EXPECTED = /Conv|Multav|Relu|Reshape|Identity|BatchMatMul|Transpose|unnamed scope/
for (const attack of scaledBuiltIns(32, 32)) {
  await once(attack)
  const info = await tf.profile(() => once(attack))
  const by = new Map<string, { calls: number; ms: number }>()
  for (const k of info.kernels) {
    const e = by.get(k.name) ?? { calls: 0, ms: 0 }
    e.calls++
    e.ms += Number(k.kernelTimeMs)
    by.set(k.name, e)
  }
  const total = info.kernels.reduce((s, k) => s + Number(k.kernelTimeMs), 0)
  const slowest = [...by].filter(([name]) => !EXPECTED.test(name)).sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top))
  console.log(`${attack.name}: ${total.toFixed(0)} ms in kernels; ${slowest.map(([name, e]) => `${name} ${e.calls}x ${e.ms.toFixed(1)} ms`).join(', ')}`)
}
x.dispose()
net.dispose()
