/**
 * DSL overhead: runAttack of Add-L∞ and Mult-L∞ against a hand-written tfjs loop of the same math,
 * on the same model (the demo's tiny MLP, where interpreter overhead shows most) and backend, in the
 * same run. Prints a table and writes bench/results/overhead.json.
 *
 * Run: npm run bench [-- --backend wasm|cpu --reps 15 --batch 32]
 */
import * as tf from '@tensorflow/tfjs-core'
import writeFileAtomic from 'write-file-atomic'
import { mkdir } from 'node:fs/promises'
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import * as attacks from '../src/dsl/attacks.js'
import { toyMotion } from '../src/data/toy.js'
import { initBackend, type BackendChoice } from '../src/interpreters/backend.js'
import { runAttack, type Model } from '../src/interpreters/tensor.js'
import { trainTinyMlp } from '../src/models/tiny.js'

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, reps: { type: 'string', default: '15' }, batch: { type: 'string', default: '32' } } })
const backend = await initBackend(values.backend as BackendChoice)
const reps = Number(values.reps)
const data = toyMotion({ count: Number(values.batch), seed: 2 })
const train = toyMotion({ count: 256, seed: 1 })
const mlp = await trainTinyMlp(train.clips, train.labels, 2, { epochs: 10 })
const x = tf.tensor5d(data.clips.data, [...data.clips.shape])
const oneHot = tf.oneHot(tf.tensor1d([...data.labels], 'int32'), 2)

const loss = (model: Model) => (v: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, model(v as tf.Tensor5D)) as tf.Scalar

/** The same math as attacks.addLinf({ randomStart: false }), written by hand. */
const handAddLinf = (model: Model, eps = 4 / 255, alpha = 1 / 255, steps = 5): tf.Tensor => {
  let adv = tf.clone(x) as tf.Tensor
  for (let i = 0; i < steps; i++) {
    const next = tf.tidy(() => {
      const g = tf.grad(loss(model))(adv)
      const stepped = tf.add(adv, tf.mul(tf.sign(g), alpha))
      return tf.clipByValue(tf.add(x, tf.clipByValue(tf.sub(stepped, x), -eps, eps)), 0, 1)
    })
    adv.dispose()
    adv = next
  }
  return adv
}

/** The same math as attacks.multLinf(), written by hand. */
const handMultLinf = (model: Model, eps = 1.04, alpha = 1.01, steps = 5): tf.Tensor => {
  let adv = tf.clone(x) as tf.Tensor
  for (let i = 0; i < steps; i++) {
    const next = tf.tidy(() => {
      const g = tf.grad(loss(model))(adv)
      const stepped = tf.mul(adv, tf.exp(tf.mul(tf.sign(g), Math.log(alpha))))
      return tf.clipByValue(tf.minimum(tf.maximum(stepped, tf.div(x, eps)), tf.mul(x, eps)), 0, 1)
    })
    adv.dispose()
    adv = next
  }
  return adv
}

const time = async (f: () => Promise<tf.Tensor>): Promise<number[]> => {
  const out: number[] = []
  for (let r = 0; r < reps + 2; r++) {
    const t0 = performance.now()
    const adv = await f()
    await adv.data() // include the device sync
    adv.dispose()
    if (r >= 2) out.push(performance.now() - t0) // two warm-up runs
  }
  return out.sort((a, b) => a - b)
}
const median = (v: number[]) => v[Math.floor(v.length / 2)]!
const iqr = (v: number[]) => `${v[Math.floor(v.length / 4)]!.toFixed(1)}–${v[Math.floor((3 * v.length) / 4)]!.toFixed(1)}`

const rows = []
for (const [name, attack, hand] of [
  ['Add-L∞', attacks.addLinf({ randomStart: false }), handAddLinf],
  ['Mult-L∞', attacks.multLinf(), handMultLinf],
] as const) {
  const dsl = await time(async () => (await runAttack(attack, mlp.model, x, data.labels)).adversarial)
  const baseline = await time(async () => hand(mlp.model))
  rows.push({ attack: name, dslMs: median(dsl), dslIqr: iqr(dsl), handMs: median(baseline), handIqr: iqr(baseline), ratio: median(dsl) / median(baseline) })
}
tf.dispose([x, oneHot])
mlp.dispose()

const meta = { date: new Date().toISOString(), backend, node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, reps, batch: data.clips.shape }
console.log(`backend ${backend}, batch ${data.clips.shape.join('x')}, ${reps} timed runs each (median, interquartile range):`)
console.log('| attack | runAttack (ms) | hand-written loop (ms) | ratio |')
console.log('|---|---|---|---|')
for (const r of rows) console.log(`| ${r.attack} | ${r.dslMs.toFixed(1)} (${r.dslIqr}) | ${r.handMs.toFixed(1)} (${r.handIqr}) | ${r.ratio.toFixed(2)} |`)
await mkdir('bench/results', { recursive: true })
await writeFileAtomic('bench/results/overhead.json', JSON.stringify({ meta, rows }, null, 2) + '\n')
