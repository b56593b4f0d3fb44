import * as tf from '@tensorflow/tfjs-core'
import * as attacks from '../src/dsl/attacks.js'
import { benchmark } from '../src/data/benchmark.js'
import { initBackend } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { pretrained } from '../src/models/pretrained.js'
import { withFilterCache } from '../src/ops/conv3d.js'
import { sign } from '../src/ops/sign.js'
await initBackend('wasm')
const net = await pretrained('default')
const c = benchmark({ split: 'test', count: 8 })
const x = tf.tensor5d(c.clips.data, [...c.clips.shape])
const labels = c.labels
const hand = () => withFilterCache(async () => {
  const oneHot = tf.oneHot(tf.tensor1d([...labels], 'int32'), 6)
  const loss = (v: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, net.model(v as tf.Tensor5D)) as tf.Scalar
  let adv = tf.clone(x) as tf.Tensor5D
  for (let i = 0; i < 5; i++) {
    const next = tf.tidy(() => { const g = tf.grad(loss)(adv)
      const stepped = tf.mul(adv, tf.exp(tf.mul(sign(g), Math.log(1.01))))
      return tf.clipByValue(tf.minimum(tf.maximum(stepped, tf.div(x, 1.04)), tf.mul(x, 1.04)), 0, 1) }) as tf.Tensor5D
    adv.dispose(); adv = next }
  const p = tf.tidy(() => tf.argMax(net.model(adv), 1)); await p.data(); tf.dispose([adv, p, oneHot])
})
const dsl = async () => { const r = await runAttack(attacks.multLinf(), net.model, x, labels); r.adversarial.dispose() }
const time = async (f: () => Promise<void>) => { const t = performance.now(); await f(); return performance.now() - t }
for (let i = 0; i < 2; i++) { await time(hand); await time(dsl) }
const H: number[] = [], D: number[] = []
for (let i = 0; i < 7; i++) { H.push(await time(hand)); D.push(await time(dsl)) }
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!
console.log('hand', med(H).toFixed(1), 'dsl', med(D).toFixed(1), 'ratio', (med(D) / med(H)).toFixed(3))
const prof = async (f: () => Promise<void>) => { const info = await tf.profile(f); const by = new Map<string, [number, number]>()
  for (const k of info.kernels) { const e = by.get(k.name) ?? [0, 0]; e[0]++; e[1] += Number(k.kernelTimeMs) || 0; by.set(k.name, e) } return by }
const ph = await prof(hand), pd = await prof(dsl)
const names = new Set([...ph.keys(), ...pd.keys()])
for (const n of names) { const a = ph.get(n) ?? [0, 0], b = pd.get(n) ?? [0, 0]; if (a[0] !== b[0] || Math.abs(a[1] - b[1]) > 2) console.log(n.padEnd(22), 'hand', a[0], a[1].toFixed(1), 'dsl', b[0], b[1].toFixed(1)) }
