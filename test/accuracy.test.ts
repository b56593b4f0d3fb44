/**
 * Each of the four attacks lowers a small trained model's accuracy on
 * generated motion clips (values, not "it ran").
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import * as attacks from '../src/dsl/attacks.js'
import { toyMotion } from '../src/data/toy.js'
import { initBackend } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { accuracy, trainTinyMlp, type TinyMlp } from '../src/models/tiny.js'
import { TOY_BUDGETS } from '../src/cli/demo.js'

const testSet = toyMotion({ count: 96, seed: 2 })
let mlp: TinyMlp
let cleanAccuracy = 0

test.before(async () => {
  await initBackend('wasm')
  const train = toyMotion({ count: 384, seed: 1 })
  mlp = await trainTinyMlp(train.clips, train.labels, 2, { epochs: 40, seed: 0 })
  cleanAccuracy = await accuracy(mlp.model, testSet.clips, testSet.labels)
})

test.after.always(() => mlp?.dispose())

test.serial('training a model and disposing it leaves no tensor behind', async (t) => {
  const before = tf.memory().numTensors
  const small = toyMotion({ count: 16, seed: 5 })
  const m = await trainTinyMlp(small.clips, small.labels, 2, { epochs: 2, hidden: 4 })
  t.is(tf.memory().numTensors, before + 4) // the four variables
  m.dispose()
  t.is(tf.memory().numTensors, before)
})

test.serial('training is reproducible: the same seed gives the same weights', async (t) => {
  const small = toyMotion({ count: 16, seed: 5 })
  const weights = async () => {
    const m = await trainTinyMlp(small.clips, small.labels, 2, { epochs: 2, hidden: 4, seed: 3 })
    const values = await Promise.all(m.variables.map((v) => v.data()))
    m.dispose()
    return values.map((v) => Array.from(v))
  }
  t.deepEqual(await weights(), await weights())
})

test.serial('the tiny model is accurate on clean clips', (t) => {
  t.true(cleanAccuracy >= 0.95, `clean accuracy ${cleanAccuracy}`)
})

// Budgets for 4x8x8 clips (768 values per clip; the paper's defaults are for 1.5M values, where the same
// per-value budget buys far more): see README, "the demo".
for (const [name, attack, atMost] of [
  ['Add-L∞', attacks.addLinf(TOY_BUDGETS.addLinf), 0.3],
  ['Add-L2', attacks.addL2(TOY_BUDGETS.addL2), 0.3],
  ['Mult-L∞', attacks.multLinf(TOY_BUDGETS.multLinf), 0.3],
  ['Mult-L2', attacks.multL2(TOY_BUDGETS.multL2), 0.3],
] as const) {
  test.serial(`${name} lowers the accuracy from ≥ 95% to at most ${atMost * 100}%`, async (t) => {
    const before = tf.memory().numTensors
    const x = tf.tensor5d(testSet.clips.data, [...testSet.clips.shape])
    const losses: number[] = []
    const r = await runAttack(attack, mlp.model, x, testSet.labels, { onStep: ({ loss }) => void losses.push(loss) })
    const adversarialAccuracy = await accuracy(mlp.model, { shape: testSet.clips.shape, data: (await r.adversarial.data()) as Float32Array }, testSet.labels)
    tf.dispose([x, r.adversarial])
    t.is(tf.memory().numTensors, before)
    // success is measured on exactly the returned clip
    t.is(r.success.filter((s) => !s).length / r.success.length, adversarialAccuracy)
    t.true(adversarialAccuracy <= atMost, `${name}: accuracy ${adversarialAccuracy} (clean ${cleanAccuracy})`)
    t.is(losses.length, attack.steps)
    t.true(r.loss > losses[0]!, `the attacker's loss rose: ${losses[0]} → ${r.loss}`)
    t.is(r.sanity.nanCount, 0)
  })
}
