/**
 * conv3d timing: one forward + input-gradient step of src/ops/conv3d.ts on wasm (conv2d taps, custom
 * gradient) against native tf.conv3d on cpu, x [1, 8, 32, 32, 16], filter [3, 3, 3, 16, 16], stride 1,
 * pad 'same'. Also, for context: the forward pass alone, forward + both gradients (training), and
 * wasm's own tf.conv3d (whose input gradient is wrong in tfjs 4.22.0, notes/TFJS.md). Medians of --reps timed runs after one warm-up, device sync
 * (reading the gradient back) included.
 *
 * Writes bench/results/conv3d.json.
 *
 * Run: node --import tsx bench/conv3d.ts [--reps 5]
 */
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-layers'
import writeFileAtomic from 'write-file-atomic'
import { mkdir } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { initBackend } from '../src/backend/backend.js'
import { benchMeta, median } from './meta.js'
import { conv3d } from '../src/ops/conv3d.js'

const { values } = parseArgs({ options: { reps: { type: 'string', default: '5' } } })
const reps = Number(values.reps)
const xShape = [1, 8, 32, 32, 16] as const
const wShape = [3, 3, 3, 16, 16] as const

const uniform = (n: number, seed: number): Float32Array => {
  let s = seed
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1)
}
const xData = uniform(xShape.reduce((a: number, b: number) => a * b, 1), 1)
const wData = uniform(wShape.reduce((a: number, b: number) => a * b, 1), 2)

type Conv = (x: tf.Tensor5D, w: tf.Tensor5D) => tf.Tensor5D

type Mode = 'forward' | 'dx' | 'dx+dw'

/** Median ms of `reps` runs (after one warm-up): forward only, + gradient to x, or + gradients to x and filter. */
const time = async (backend: 'cpu' | 'wasm', conv: Conv, mode: Mode): Promise<number> => {
  await initBackend(backend)
  const x = tf.tensor5d(xData, [...xShape])
  const w = tf.tensor5d(wData, [...wShape])
  const before = tf.memory().numTensors
  const once = async (): Promise<number> => {
    const start = performance.now()
    const loss = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.sum(tf.square(conv(a as tf.Tensor5D, b as tf.Tensor5D)))
    const outs = tf.tidy(() =>
      mode === 'forward' ? [conv(x, w)] : mode === 'dx' ? [tf.grad((v: tf.Tensor) => loss(v, w))(x)] : tf.grads(loss)([x, w]),
    )
    await Promise.all(outs.map((o) => o.data()))
    const ms = performance.now() - start
    tf.dispose(outs)
    return ms
  }
  await once()
  const runs: number[] = []
  for (let i = 0; i < reps; i++) runs.push(await once())
  if (tf.memory().numTensors !== before) throw new Error(`leak: ${tf.memory().numTensors - before} tensors`)
  tf.dispose([x, w])
  return median(runs)
}

const ours: Conv = (x, w) => conv3d(x, w, { pad: 'same' })
const native: Conv = (x, w) => tf.conv3d(x, w, 1, 'same')

const rows: Array<[string, number]> = [
  ['wasm, conv3d (this op): forward + input gradient', await time('wasm', ours, 'dx')],
  ['cpu, tf.conv3d: forward + input gradient', await time('cpu', native, 'dx')],
  ['wasm, tf.conv3d: forward + input gradient (wrong dx)', await time('wasm', native, 'dx')],
  ['wasm, conv3d (this op): forward only', await time('wasm', ours, 'forward')],
  ['cpu, tf.conv3d: forward only', await time('cpu', native, 'forward')],
  ['wasm, conv3d (this op): forward + input and filter gradients', await time('wasm', ours, 'dx+dw')],
  ['cpu, tf.conv3d: forward + input and filter gradients', await time('cpu', native, 'dx+dw')],
]
console.log(`x [${xShape.join(', ')}], filter [${wShape.join(', ')}], stride 1, pad 'same'; median of ${reps} after 1 warm-up`)
for (const [name, ms] of rows) console.log(`${name.padEnd(62)} ${ms.toFixed(1).padStart(8)} ms`)
const meta = { ...benchMeta('wasm'), reps, x: xShape, filter: wShape }
await mkdir('bench/results', { recursive: true })
await writeFileAtomic('bench/results/conv3d.json', JSON.stringify({ meta, rows: rows.map(([step, ms]) => ({ step, ms })) }, null, 2) + '\n')
