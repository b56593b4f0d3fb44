/**
 * The levers of the attack step, side by side in one process: one attack step's gradient (forward +
 * input gradient of the cross-entropy, inside conv3d's filter cache as in an attack) of 3D ResNet-18
 * (torchvision layout) on wasm, with
 * - plain: batch norm as x·scale + shift after each convolution, a conv2d per temporal tap;
 * - fold, taps: batch norm folded into the convolution, bias and ReLU fused into its kernel, a conv2d per tap;
 * - fold, stacked: the same with the taps stacked into one conv2d wherever more than one tap meets the clip;
 * - fold, auto: conv3d's own choice (what multav runs).
 * The variants run in turn in each round (interleaved, so that a change of machine load hits them
 * alike); medians over the rounds and each variant's ratio to plain, paired by round.
 * Writes bench/results/fold-fuse.json (fold-fuse-full.json with --model full).
 *
 * Run: MULTAV_THREADS=2 node --import tsx bench/fold-fuse.ts [--model default|full] [--reps 9]
 */
import * as tf from '@tensorflow/tfjs-core'
import writeFileAtomic from 'write-file-atomic'
import { mkdir } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { initBackend } from '../src/backend/backend.js'
import { r3d18, r3dTuning } from '../src/models/r3d.js'
import { conv3dTuning, withFilterCache } from '../src/ops/conv3d.js'
import { benchMeta, iqr, median } from './meta.js'

const { values } = parseArgs({ options: { model: { type: 'string', default: 'default' }, reps: { type: 'string', default: '9' } } })
await initBackend('wasm')
const full = values.model === 'full'
const [batch, T, S, widths, classes] = full ? ([1, 16, 112, [64, 128, 256, 512], 101] as const) : ([8, 8, 32, [8, 16, 32, 64], 6] as const)
const net = r3d18({ layout: 'torchvision', classes, widths: [...widths], seed: 0 })
const x = tf.randomUniform([batch, T, S, S, 3], 0.05, 1, 'float32', 1) as tf.Tensor5D
const oneHot = tf.oneHot(tf.zeros([batch], 'int32') as tf.Tensor1D, classes)
const gradient = () => tf.tidy(() => tf.grad((v: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, net.model(v as tf.Tensor5D)))(x))

const VARIANTS = [
  { name: 'plain', fold: false, strategy: 'taps' },
  { name: 'fold, taps', fold: true, strategy: 'taps' },
  { name: 'fold, stacked', fold: true, strategy: 'stacked' },
  { name: 'fold, auto', fold: true, strategy: 'auto' },
] as const
const times: Record<string, number[]> = Object.fromEntries(VARIANTS.map((v) => [v.name, []]))
await withFilterCache(async () => {
  for (let round = -1; round < Number(values.reps); round++)
    for (const v of VARIANTS) {
      r3dTuning.fold = v.fold
      conv3dTuning.strategy = v.strategy
      const t0 = performance.now()
      const g = gradient()
      await g.data()
      g.dispose()
      if (round >= 0) times[v.name]!.push(performance.now() - t0) // round −1 is the warm-up
    }
})
r3dTuning.fold = true
conv3dTuning.strategy = 'auto'
const rows = VARIANTS.map((v) => {
  const t = times[v.name]!
  const ratios = t.map((ms, i) => times['plain']![i]! / ms)
  return { variant: v.name, medianMs: median(t), iqrMs: iqr(t), speedupVsPlain: median(ratios), speedupIqr: iqr(ratios, 2) }
})
console.log(`${full ? 'full 3D ResNet-18, 1x16x112x112' : 'default model, 8x8x32x32'}: ms per gradient, median of ${values.reps} interleaved rounds`)
console.log('| variant | ms (IQR) | speed-up vs plain, paired (IQR) |\n|---|---|---|')
for (const r of rows) console.log(`| ${r.variant} | ${r.medianMs.toFixed(1)} (${r.iqrMs}) | ${r.speedupVsPlain.toFixed(2)} (${r.speedupIqr}) |`)
await mkdir('bench/results', { recursive: true })
await writeFileAtomic(`bench/results/fold-fuse${full ? '-full' : ''}.json`, JSON.stringify({ meta: { ...benchMeta('wasm'), reps: Number(values.reps) }, rows }, null, 2) + '\n')
