/**
 * How much of a real model's input gradient sits in wasm's `tf.sign` dead zone (|g| < 1.19e-7), and
 * what that does to Add-L∞: the shipped default model, the first benchmark test clips in batches of 8
 * (mean cross-entropy over the batch), one Add-L∞ step (α = 1/255, no random start) with tf.sign and
 * with ops.sign. Prints the share of gradient values in the dead zone and of clip values left unmoved.
 *
 * Run: node --import tsx scripts/dead-zone.ts [--clips 48] [--backend wasm]
 */
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-layers'
import { parseArgs } from 'node:util'
import { benchmark } from '../src/data/benchmark.js'
import { initBackend, type BackendName } from '../src/backend/backend.js'
import { pretrained } from '../src/models/pretrained.js'
import { sign } from '../src/ops/sign.js'

const { values } = parseArgs({ options: { clips: { type: 'string', default: '48' }, backend: { type: 'string', default: 'wasm' } } })
await initBackend(values.backend as BackendName)
const net = await pretrained('default')
const data = benchmark({ split: 'test', count: Number(values.clips) })
const [, T, H, W, C] = data.clips.shape
const per = T * H * W * C
let [dead, unmovedTf, unmovedExact, total] = [0, 0, 0, 0]
for (let start = 0; start < data.labels.length; start += 8) {
  const n = Math.min(8, data.labels.length - start)
  const counts = tf.tidy(() => {
    const x = tf.tensor5d(data.clips.data.subarray(start * per, (start + n) * per), [n, T, H, W, C])
    const y = tf.oneHot(tf.tensor1d(data.labels.slice(start, start + n), 'int32'), 6)
    const g = tf.grad((v: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, net.model(v as tf.Tensor5D)))(x)
    // values a clipped step x + α·s leaves where they were
    const unmoved = (s: tf.Tensor) => tf.sum(tf.cast(tf.equal(tf.clipByValue(tf.add(x, tf.mul(s, 1 / 255)), 0, 1), x), 'float32'))
    return tf.stack([tf.sum(tf.cast(tf.logicalAnd(tf.less(tf.abs(g), 2 ** -23), tf.notEqual(g, 0)), 'float32')), unmoved(tf.sign(g)), unmoved(sign(g))])
  })
  const [d, a, b] = Array.from(await counts.data())
  counts.dispose()
  ;[dead, unmovedTf, unmovedExact, total] = [dead + d!, unmovedTf + a!, unmovedExact + b!, total + n * per]
}
const pct = (v: number) => `${((100 * v) / total).toFixed(1)}%`
console.log(`default model, ${data.labels.length} test clips in batches of 8, ${values.backend}:`)
console.log(`  gradient values with 0 < |g| < 1.19e-7: ${pct(dead)}`)
console.log(`  values one Add-L∞ step leaves unmoved: ${pct(unmovedTf)} with tf.sign, ${pct(unmovedExact)} with ops.sign`)
