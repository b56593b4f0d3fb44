/** 3D ResNet-18 in both layouts: names and shapes, the paper's size, cpu/wasm agreement, BN modes. */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import * as attacks from '../src/dsl/attacks.js'
import { initBackend } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { r3d18 } from '../src/models/r3d.js'
import { filterCacheSize, withFilterCache } from '../src/ops/conv3d.js'

const small = { classes: 5, widths: [8, 8, 16, 16] } as const
const clip = () => tf.tensor5d(Float32Array.from({ length: 2 * 8 * 32 * 32 * 3 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2), [2, 8, 32, 32, 3])
const count = (m: ReturnType<typeof r3d18>) => Object.values(m.variables).reduce((s, v) => s + v.size, 0)

test.serial("the paper's backbone has 33.0M parameters with 101 classes; names follow PyTorch's state dicts", async (t) => {
  await initBackend('cpu')
  const hara = r3d18({ layout: 'hara', classes: 101 })
  t.is(count(hara), 33_081_893)
  t.deepEqual(hara.shapes['conv1.weight'], [7, 7, 7, 3, 64])
  t.deepEqual(hara.shapes['layer2.0.conv1.weight'], [3, 3, 3, 64, 128])
  t.deepEqual(hara.shapes['layer4.1.bn2.running_var'], [512])
  t.deepEqual(hara.shapes['fc.weight'], [512, 101])
  t.false(Object.keys(hara.shapes).some((n) => n.includes('downsample')))
  hara.dispose()
  const tv = r3d18({ layout: 'torchvision', classes: 400 })
  t.deepEqual(tv.shapes['stem.0.weight'], [3, 7, 7, 3, 64])
  t.deepEqual(tv.shapes['layer2.0.downsample.0.weight'], [1, 1, 1, 64, 128])
  t.deepEqual(tv.shapes['layer3.1.conv2.1.running_mean'], [256])
  t.is(count(tv), 33_371_472)
  tv.dispose()
})

for (const layout of ['hara', 'torchvision'] as const) {
  test.serial(`${layout}: logits and the input gradient agree on cpu (native conv3d) and wasm (custom-gradient conv3d)`, async (t) => {
    const results: { logits: number[]; grad: number[] }[] = []
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend(backend)
      const before = tf.memory().numTensors
      const m = r3d18({ layout, ...small })
      const x = clip()
      const logits = m.model(x)
      const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(m.model(v as tf.Tensor5D), tf.tensor2d([[1, -1, 0, 0, 0], [0, 0, 1, 0, 0]]))))(x)
      results.push({ logits: Array.from(await logits.data()), grad: Array.from(await grad.data()) })
      tf.dispose([x, logits, grad])
      m.dispose()
      t.is(tf.memory().numTensors, before)
    }
    const [cpu, wasm] = results as [(typeof results)[0], (typeof results)[0]]
    cpu.logits.forEach((v, i) => t.true(Math.abs(v - wasm.logits[i]!) < 1e-4 * (1 + Math.abs(v)), `logit ${i}: ${v} vs ${wasm.logits[i]}`))
    const dot = cpu.grad.reduce((s, v, i) => s + v * wasm.grad[i]!, 0)
    const norm = (v: number[]) => Math.sqrt(v.reduce((s, e) => s + e * e, 0))
    const cosine = dot / (norm(cpu.grad) * norm(wasm.grad))
    t.log(`gradient cosine ${cosine}`)
    // float rounding can flip a ReLU gate near 0, so the bar is the one of the PyTorch comparison
    const signs = cpu.grad.filter((v, i) => Math.sign(v) === Math.sign(wasm.grad[i]!)).length / cpu.grad.length
    t.true(cosine > 0.999, `gradient cosine ${cosine}`)
    t.true(signs > 0.99, `sign agreement ${signs}`)
  })
}

test.serial('training mode uses batch statistics and updates the running averages; inference does not', async (t) => {
  await initBackend('wasm')
  const m = r3d18({ layout: 'hara', ...small })
  const x = clip()
  const runningMean = () => Array.from(m.state!['bn1.running_mean']!.dataSync())
  const start = runningMean()
  tf.dispose(m.apply(x, false))
  t.deepEqual(runningMean(), start)
  tf.dispose(m.apply(x, true))
  t.notDeepEqual(runningMean(), start)
  x.dispose()
  m.dispose()
})

test.serial('runAttack works on the model directly (wasm) and raises its loss', async (t) => {
  await initBackend('wasm')
  const before = tf.memory().numTensors
  const m = r3d18({ layout: 'torchvision', ...small })
  const x = clip()
  const losses: number[] = []
  const r = await runAttack(attacks.multLinf({ steps: 3 }), m.model, x, [0, 1], { onStep: ({ loss }) => void losses.push(loss) })
  t.true(r.loss > losses[0]!, `loss ${losses[0]} → ${r.loss}`)
  t.true(Math.max(...r.sanity.ratioLinf) <= 1.04 * (1 + 1e-6))
  tf.dispose([x, r.adversarial])
  m.dispose()
  t.is(tf.memory().numTensors, before)
})

test.serial("an attack's steps keep a constant tensor count; conv3d's cached sub-filters change no gradient and are released", async (t) => {
  await initBackend('wasm')
  const before = tf.memory().numTensors
  const m = r3d18({ layout: 'torchvision', ...small })
  const x = clip()
  const counts: number[] = []
  const cached: number[] = []
  const r = await runAttack(attacks.multLinf({ steps: 4 }), m.model, x, [0, 1], {
    onStep: () => {
      counts.push(tf.memory().numTensors)
      cached.push(filterCacheSize())
    },
  })
  t.is(counts.length, 4)
  t.true(counts.every((c) => c === counts[0]), `tensors alive at each step: ${counts.join(', ')}`)
  t.true(cached[0]! > 0 && cached.every((c) => c === cached[0]), `cached sub-filters: ${cached.join(', ')}`)
  t.is(filterCacheSize(), 0)
  r.adversarial.dispose()

  const oneHot = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1], 'int32'), small.classes))
  const gradient = () => tf.grad((v: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, m.model(v as tf.Tensor5D)))(x)
  const plain = gradient()
  const [first, again] = await withFilterCache(async () => [gradient(), gradient()])
  t.deepEqual(Array.from(await first!.data()), Array.from(await plain.data()))
  t.deepEqual(Array.from(await again!.data()), Array.from(await plain.data()))
  tf.dispose([plain, first!, again!, oneHot, x])
  m.dispose()
  t.is(tf.memory().numTensors, before)
})
