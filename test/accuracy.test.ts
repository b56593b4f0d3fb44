/**
 * Each of the four attacks, at the paper's defaults, lowers a small trained model's accuracy on
 * generated motion clips (values, not "it ran").
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import * as attacks from '../src/dsl/attacks.js'
import { toyMotion } from '../src/data/toy.js'
import { initBackend } from '../src/interpreters/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { accuracy, trainTinyMlp, type TinyMlp } from '../src/models/tiny.js'

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

test.serial('the tiny model is accurate on clean clips', (t) => {
  t.true(cleanAccuracy >= 0.95, `clean accuracy ${cleanAccuracy}`)
})

for (const [name, attack, atMost] of [
  ['Add-L∞', attacks.addLinf(), 0.2],
  ['Add-L2', attacks.addL2(), 0.2],
  ['Mult-L∞', attacks.multLinf(), 0.2],
  ['Mult-L2', attacks.multL2(), 0.2],
] as const) {
  test.serial(`${name} at its defaults lowers the accuracy to at most ${atMost * 100}%`, async (t) => {
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
