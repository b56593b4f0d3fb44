/**
 * The shipped default model on the shipped benchmark: it loads by name, reaches its recorded clean
 * accuracy (≥ 90%), and the paper's four Lp attacks cost it a large part of its accuracy at their defaults
 * and all of it at larger budgets.
 * And the benchmark needs motion: the same network trained on single frames stays near chance.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { benchmark } from '../src/data/benchmark.js'
import { addL2, addLinf, multL2, multLinf } from '../src/dsl/attacks.js'
import { quantise } from '../src/eval/chunk.js'
import { initBackend } from '../src/backend/backend.js'
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
  // the same weights on the same backend; one clip's leeway for another CPU's float rounding at an argmax tie
  t.true(Math.abs(measured - recorded) <= 1 / set.labels.length + 1e-9, `measured ${measured}, recorded ${recorded}`)
  net.dispose()
  t.is(tf.memory().numTensors, before)
})

/**
 * The four Lp attacks against the default model, on 8-bit clips. At the paper's budgets they cost it
 * a large part of its accuracy but do not reach the paper's near-zero: a benchmark clip has 24,576
 * values, the paper's 1.5M, and an L∞ ball of the same per-pixel radius moves the logits far less
 * (README, "The default model"). Four times the L∞ radius leaves none (about a quarter while wasm's
 * sign dead zone left a fifth of the values unmoved), nor do the L2 attacks with a 50x larger step
 * (their random start is most of their paper-default movement).
 */
test.serial('the four Lp attacks lower the default model\'s accuracy: by a large part at the paper\'s budgets, to zero at 4x the L∞ radius and with a larger L2 step', async (t) => {
  const net = await pretrained('default')
  const before = tf.memory().numTensors
  // 48 test clips (8 per class), attacked in one batch
  const set = benchmark({ split: 'test', count: 48 })
  const x = tf.tensor5d(set.clips.data, [...set.clips.shape] as [number, number, number, number, number])
  const cases = [
    // [attack, most accuracy left]: the paper's defaults, measured 52.1 / 75.0 / 41.7 / 72.9% on these 48
    // clips and 53.3 / 74.6 / 37.1 / 69.2% on all 240 (npm start, 2026-12-01)
    ['add-linf, paper', addLinf(), 0.75],
    ['add-l2, paper', addL2(), 0.85],
    ['mult-linf, paper', multLinf(), 0.65],
    ['mult-l2, paper', multL2(), 0.85],
    // four times the L∞ radius (16/255, ratio 1.16) and a 50x larger L2 step: measured 0 / 0 / 0 / 0%
    ['add-linf, ε 16/255', addLinf({ eps: 16 / 255, alpha: 4 / 255 }), 0.05],
    ['mult-linf, ε 1.16', multLinf({ eps: 1.16, alpha: 1.04 }), 0.05],
    ['add-l2, α 0.05 (rms)', addL2({ alpha: 0.05 }), 0.05],
    ['mult-l2, α 1.05 (rms)', multL2({ alpha: 1.05 }), 0.05],
  ] as const
  for (const [label, attack, most] of cases) {
    const r = await runAttack(attack, net.model, x, set.labels)
    const q = quantise(r.adversarial)
    const predicted = tf.tidy(() => tf.argMax(net.model(q), 1))
    const p = await predicted.data()
    tf.dispose([r.adversarial, q, predicted])
    const correct = set.labels.filter((l, i) => p[i] === l).length / set.labels.length
    const clean = set.labels.filter((l, i) => r.cleanPredictions[i] === l).length / set.labels.length
    t.log(`${label}: clean ${(100 * clean).toFixed(1)}% → ${(100 * correct).toFixed(1)}% (8-bit)`)
    t.true(clean >= 0.9, `${label}: clean accuracy ${clean}`)
    t.true(correct <= most, `${label}: accuracy under attack ${correct}, expected at most ${most}`)
  }
  x.dispose()
  t.is(tf.memory().numTensors, before)
  net.dispose()
})

/**
 * A guard against a single-frame shortcut in the benchmark (a class-specific colour, brightness or
 * texture): a small 3D ResNet trained on each clip's middle frame stays at chance. It guards only as
 * far as this small budget can learn a shortcut: it is too small to learn the motion itself (two
 * consecutive frames stayed at chance too, measured 2026-12-02), and how fast it would learn a
 * colour cue was not measured. benchmark.test.ts checks a frame's brightness directly.
 */
test.serial('a single frame does not tell the class: the network trained on single frames stays near chance', async (t) => {
  /** Each clip's middle frame alone, as a clip of one frame: what a per-frame model sees. */
  const middleFrame = (s: ReturnType<typeof benchmark>) => {
    const [N, T, H, W, C] = s.clips.shape
    const frame = H * W * C
    const data = new Float32Array(N * frame)
    for (let n = 0; n < N; n++) data.set(s.clips.data.subarray((n * T + (T >> 1)) * frame, (n * T + (T >> 1) + 1) * frame), n * frame)
    return { clips: { shape: [N, 1, H, W, C] as const, data }, labels: s.labels }
  }
  const trainSet = middleFrame(benchmark({ split: 'train', count: 300 }))
  const testSet = middleFrame(benchmark({ split: 'test', count: 240 }))
  const before = tf.memory().numTensors
  const net = r3d18({ layout: 'torchvision', classes: 6, widths: [4, 8, 8, 16], seed: 1 })
  await train(net, trainSet, { epochs: 4, batchSize: 10, schedule: { _tag: 'Constant', lr: 0.02 }, seed: 1 })
  const trained = await accuracy(net.model, trainSet.clips, trainSet.labels)
  const tested = await accuracy(net.model, testSet.clips, testSet.labels)
  t.log(`single frames: train ${(100 * trained).toFixed(1)}%, test ${(100 * tested).toFixed(1)}% (chance 16.7%)`)
  t.true(tested < 0.3, `test accuracy on single frames ${tested}`)
  net.dispose()
  t.is(tf.memory().numTensors, before)
})
