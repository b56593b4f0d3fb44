/** The training loop: it learns, it is reproducible, it resumes exactly, and it trains adversarially. */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as attacks from '../src/dsl/attacks.js'
import { toyMotion } from '../src/data/toy.js'
import { initBackend } from '../src/backend/backend.js'
import { accuracy, tinyMlp } from '../src/models/tiny.js'
import { learningRate, shuffled, train, type Progress } from '../src/models/train.js'

const data = toyMotion({ count: 128, seed: 1 })
const held = toyMotion({ count: 64, seed: 2 })
const D = 4 * 8 * 8 * 3
const options = { epochs: 6, batchSize: 16, schedule: { _tag: 'Constant', lr: 0.02 }, seed: 3 } as const

test.before(async () => {
  await initBackend('wasm')
})

const weightsOf = async (net: ReturnType<typeof tinyMlp>) =>
  Promise.all(Object.values(net.variables).map(async (v) => Array.from(await v.data())))

test('learning-rate schedules and the seeded shuffle', (t) => {
  t.is(learningRate({ _tag: 'Step', lr: 0.1, every: 2, factor: 0.5 }, 5, 10), 0.1 * 0.25)
  t.is(learningRate({ _tag: 'Cosine', lr: 0.1 }, 0, 10), 0.1)
  t.true(Math.abs(learningRate({ _tag: 'Cosine', lr: 0.1 }, 5, 10) - 0.05) < 1e-12)
  const order = shuffled(50, 7, 3)
  t.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i))
  t.deepEqual(shuffled(50, 7, 3), order)
  t.notDeepEqual(shuffled(50, 7, 4), order)
})

test.serial('SGD with momentum learns the toy task, reports progress, and leaves no tensor behind', async (t) => {
  const before = tf.memory().numTensors
  const net = tinyMlp(D, 32, 2, 0)
  const seen: Progress[] = []
  const report = await train(net, data, { ...options, onProgress: (p) => seen.push(p) })
  t.is(report.epochsRun, 6)
  t.is(seen.length, 6 * 8)
  t.true(seen.at(-1)!.loss < seen[7]!.loss, `loss ${seen[7]!.loss} → ${seen.at(-1)!.loss}`)
  t.true(await accuracy(net.model, held.clips, held.labels) >= 0.9)
  t.is(seen.at(-1)!.etaSeconds, 0)
  net.dispose()
  t.is(tf.memory().numTensors, before)
})

test.serial('the same seed gives the same weights; an interrupted run resumed from its checkpoint ends identical', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'multav-train-'))
  try {
    const whole = tinyMlp(D, 16, 2, 0)
    await train(whole, data, options)
    const again = tinyMlp(D, 16, 2, 0)
    await train(again, data, options)
    t.deepEqual(await weightsOf(again), await weightsOf(whole))
    const interrupted = tinyMlp(D, 16, 2, 0)
    const first = await train(interrupted, data, { ...options, checkpointDir: dir, stopAfter: 2 })
    interrupted.dispose()
    const resumed = tinyMlp(D, 16, 2, 0) // fresh weights: everything comes from the checkpoint
    const second = await train(resumed, data, { ...options, checkpointDir: dir, resume: true })
    t.deepEqual([first.epochsRun, second.resumedFrom, second.epochsRun], [2, 2, 4])
    t.deepEqual(await weightsOf(resumed), await weightsOf(whole))
    tf.dispose([whole, again, resumed].flatMap((n) => Object.values(n.variables)))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.serial('adversarial training replaces every minibatch by the attack\'s output (identity attack = clean training)', async (t) => {
  // An attack whose factor is 1 returns the clean clips: training on it must equal clean training.
  const identity = attacks.multLinf({ alpha: 1, steps: 1 })
  const clean = tinyMlp(D, 16, 2, 0)
  await train(clean, data, options)
  const viaIdentity = tinyMlp(D, 16, 2, 0)
  await train(viaIdentity, data, { ...options, attack: identity })
  t.deepEqual(await weightsOf(viaIdentity), await weightsOf(clean))
  const adversarial = tinyMlp(D, 16, 2, 0)
  const seen: Progress[] = []
  await train(adversarial, data, { ...options, attack: attacks.addLinf({ eps: 16 / 255, alpha: 4 / 255, steps: 3 }), onProgress: (p) => seen.push(p) })
  t.notDeepEqual(await weightsOf(adversarial), await weightsOf(clean))
  t.is(seen.length, 6 * 8)
  tf.dispose([clean, viaIdentity, adversarial].flatMap((n) => Object.values(n.variables)))
})
