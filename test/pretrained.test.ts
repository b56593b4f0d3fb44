/**
 * The shipped default model on the shipped benchmark: it loads by name, reaches its recorded clean
 * accuracy (≥ 90%), and the paper's four Lp attacks at their defaults drive its accuracy to near zero.
 * And the benchmark needs motion: the same network trained on single frames stays near chance.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { benchmark } from '../src/data/benchmark.js'
import { addL2, addLinf, multL2, multLinf } from '../src/dsl/attacks.js'
import { quantise } from '../src/eval/chunk.js'
import { initBackend } from '../src/interpreters/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { pretrained } from '../src/models/pretrained.js'
import { r3d18 } from '../src/models/r3d.js'
import { accuracy } from '../src/models/tiny.js'
import { train } from '../src/models/train.js'

test.before(async () => {
  await initBackend('wasm')
})

test.serial('pretrained("default") reaches its recorded clean accuracy, at least 90%, on the test split', async (t) => {
  const before = tf.memory().numTensors
  const net = await pretrained('default')
  const recorded = net.info['testAccuracy'] as number
  t.true(recorded >= 0.9, `model.json records ${recorded}`)
  t.deepEqual(net.info['clip'], { T: 8, H: 32, W: 32 })
  const set = benchmark({ split: 'test' })
  const measured = await accuracy(net.model, set.clips, set.labels)
  t.true(Math.abs(measured - recorded) < 1e-9, `measured ${measured}, recorded ${recorded}`)
  net.dispose()
  t.is(tf.memory().numTensors, before)
})

test.serial('the four Lp attacks at their defaults drive the default model to near-zero accuracy', async (t) => {
  const net = await pretrained('default')
  const before = tf.memory().numTensors
  // 24 test clips (4 per class), attacked in one batch
  const set = benchmark({ split: 'test', count: 24 })
  const x = tf.tensor5d(set.clips.data, [...set.clips.shape] as [number, number, number, number, number])
  for (const attack of [addLinf(), addL2(), multLinf(), multL2()]) {
    const r = await runAttack(attack, net.model, x, set.labels)
    const q = quantise(r.adversarial)
    const predicted = tf.tidy(() => tf.argMax(net.model(q), 1))
    const p = await predicted.data()
    tf.dispose([r.adversarial, q, predicted])
    const correct = set.labels.filter((l, i) => p[i] === l).length / set.labels.length
    const clean = set.labels.filter((l, i) => r.cleanPredictions[i] === l).length / set.labels.length
    t.log(`${attack.name}: clean ${(100 * clean).toFixed(1)}% → ${(100 * correct).toFixed(1)}% (8-bit)`)
    t.true(clean >= 0.85, `${attack.name}: clean accuracy ${clean}`)
    t.true(correct <= 0.1, `${attack.name}: accuracy under attack ${correct}`)
  }
  x.dispose()
  t.is(tf.memory().numTensors, before)
  net.dispose()
})

test.serial('a single frame does not tell the class: the network trained on still clips stays near chance', async (t) => {
  /** Every frame replaced by the clip's middle frame: what a per-frame model sees. */
  const still = (s: ReturnType<typeof benchmark>) => {
    const [N, T, H, W, C] = s.clips.shape
    const frame = H * W * C
    const data = new Float32Array(s.clips.data.length)
    for (let n = 0; n < N; n++)
      for (let f = 0; f < T; f++) data.set(s.clips.data.subarray((n * T + (T >> 1)) * frame, (n * T + (T >> 1) + 1) * frame), (n * T + f) * frame)
    return { clips: { shape: s.clips.shape, data }, labels: s.labels }
  }
  const trainSet = still(benchmark({ split: 'train', count: 300 }))
  const testSet = still(benchmark({ split: 'test', count: 240 }))
  const net = r3d18({ layout: 'torchvision', classes: 6, widths: [4, 8, 8, 16], seed: 1 })
  await train(net, trainSet, { epochs: 4, batchSize: 10, schedule: { _tag: 'Constant', lr: 0.02 }, seed: 1 })
  const trained = await accuracy(net.model, trainSet.clips, trainSet.labels)
  const tested = await accuracy(net.model, testSet.clips, testSet.labels)
  t.log(`still frames: train ${(100 * trained).toFixed(1)}%, test ${(100 * tested).toFixed(1)}% (chance 16.7%)`)
  t.true(tested < 0.3, `test accuracy on still frames ${tested}`)
  net.dispose()
})
