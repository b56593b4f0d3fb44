/**
 * withCleanMemo: attacks on the same clean clips share the clean forward pass and the first gradient
 * of each clean start, and return bit for bit what they return without it; a model that throws, a
 * different clip tensor or a different objective is never served a stale entry; nothing is left
 * behind.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import fc from 'fast-check'
import { initBackend } from '../src/backend/backend.js'
import { InputError } from '../src/core/errors.js'
import type { Model } from '../src/core/model.js'
import type { Attack } from '../src/dsl/types.js'
import { scaledBuiltIns } from '../src/eval/specs.js'
import { runAttack, withCleanMemo, type AttackResult } from '../src/interpreters/tensor.js'
import { attackArb, fitBatch, scenarioArb, toModel, type Scenario } from '../src/testing/arbitraries.js'

test.before(async () => {
  await initBackend('cpu')
})

/** The bits of a float32 array: equal exactly when every value is the same float (±0 and NaN told apart). */
const bits = (a: ArrayLike<number>): number[] => Array.from(new Uint32Array(Float32Array.from(a).buffer))

/** What a run returns, as plain values; its tensor is disposed. */
const outcome = async (r: AttackResult) => {
  const adversarial = bits((await r.adversarial.data()) as Float32Array)
  r.adversarial.dispose()
  return {
    adversarial,
    predictions: r.predictions,
    cleanPredictions: r.cleanPredictions,
    success: r.success,
    loss: bits([r.loss]),
    linf: bits(r.sanity.linf),
    l2: bits(r.sanity.l2),
    bestRun: r.bestRun,
  }
}

/** `model` that counts its calls. */
const counting = (model: Model): { calls: number; readonly model: Model } => {
  const counter = { calls: 0, model: (x: tf.Tensor5D) => (counter.calls++, model(x)) }
  return counter
}

/** Each attack in turn on (model, x, labels), inside a memo or not; the outcomes and the model's calls. */
const runAll = async (attacks: ReadonlyArray<Attack>, model: Model, x: tf.Tensor5D, labels: ReadonlyArray<number>, memo: boolean) => {
  const counter = counting(model)
  const body = async () => {
    const outcomes = []
    for (const a of attacks) outcomes.push(await outcome(await runAttack(a, counter.model, x, labels)))
    return outcomes
  }
  const outcomes = await (memo ? withCleanMemo(counter.model, x, body) : body())
  return { outcomes, calls: counter.calls }
}

const SHAPE = [2, 2, 4, 4, 3] as const

test.serial('generated attacks return bit for bit the same inside the memo, with no more model calls and nothing left behind', async (t) => {
  const attacksArb = fc.array(attackArb({ geometry: { T: SHAPE[1], H: SHAPE[2], W: SHAPE[3] }, classes: 2, maxSteps: 3, maxRestarts: 2 }), { minLength: 1, maxLength: 3 })
  await fc.assert(
    fc.asyncProperty(scenarioArb({ shape: SHAPE }), attacksArb, async (s: Scenario, generated) => {
      // a clean-start copy of the first attack, so that every case has a first gradient to share
      const attacks = [...generated, { ...generated[0]!, init: { _tag: 'Clean' as const } }].map((a) => fitBatch(a, SHAPE[0]))
      const before = tf.memory().numTensors
      const x = tf.tensor5d(s.x.data, [...s.x.shape])
      const model = toModel(s.model)
      try {
        const plain = await runAll(attacks, model, x, s.labels, false)
        const memo = await runAll(attacks, model, x, s.labels, true)
        t.deepEqual(memo.outcomes, plain.outcomes)
        t.true(memo.calls <= plain.calls, `${memo.calls} model calls inside the memo, ${plain.calls} without`)
      } finally {
        x.dispose()
      }
      t.is(tf.memory().numTensors, before, 'tensor count back to its baseline')
    }),
    { numRuns: 25, seed: 18 },
  )
})

/** A fixed linear model over 2x4x4x3 clips with 3 classes. */
const weights = Array.from({ length: 96 * 3 }, (_, i) => Math.sin(i + 1) / 4)
const linear: Model = (x) => tf.tidy(() => tf.matMul(tf.reshape(x, [x.shape[0], 96]), tf.tensor2d(weights, [96, 3])))
const clips = (n: number) => tf.tensor5d(Float32Array.from({ length: n * 96 }, (_, i) => ((i * 37) % 101) / 100), [n, 2, 4, 4, 3])

test.serial("the paper's ten attacks: six clean starts share one first gradient and four clean passes one forward pass", async (t) => {
  const ten = scaledBuiltIns(4, 4)
  const x = clips(2)
  const before = tf.memory().numTensors
  const plain = await runAll(ten, linear, x, [0, 2], false)
  const memo = await runAll(ten, linear, x, [0, 2], true)
  t.deepEqual(memo.outcomes, plain.outcomes)
  // without: 10 attacks x 5 gradients, 10 final measurements, 4 clean passes (the random and filled starts)
  t.is(plain.calls, 64)
  // with: the six clean starts' first gradients are one, the four clean passes one
  t.is(memo.calls, 64 - 5 - 3)
  t.is(tf.memory().numTensors, before, 'tensor count back to its baseline')
  x.dispose()
})

test.serial('the memo serves only its own model and clip tensor, and each objective its own gradient', async (t) => {
  const x = clips(2)
  const same = tf.clone(x) // the same values in another tensor: not the memo's clip
  const before = tf.memory().numTensors
  const multLinf = scaledBuiltIns(4, 4).find((a) => a.name === 'mult-linf')!
  const targeted: Attack = { ...multLinf, loss: { ...multLinf.loss, target: { _tag: 'Targeted', label: 1 } } }
  const counter = counting(linear)
  const inside = await withCleanMemo(counter.model, x, async () => [
    await outcome(await runAttack(multLinf, counter.model, x, [0, 2])),
    await outcome(await runAttack(multLinf, counter.model, same, [0, 2])), // another tensor: computed anew
    await outcome(await runAttack(multLinf, counter.model, x, [1, 2])), // other labels: another objective
    await outcome(await runAttack(targeted, counter.model, x, [0, 2])), // another loss: another objective
    await outcome(await runAttack(multLinf, linear, x, [0, 2])), // another model function: not counted, not served
  ])
  t.is(counter.calls, 4 * 6, 'each of the four counted runs took its own first gradient')
  const alone = [
    await outcome(await runAttack(multLinf, linear, x, [0, 2])),
    await outcome(await runAttack(multLinf, linear, same, [0, 2])),
    await outcome(await runAttack(multLinf, linear, x, [1, 2])),
    await outcome(await runAttack(targeted, linear, x, [0, 2])),
    await outcome(await runAttack(multLinf, linear, x, [0, 2])),
  ]
  t.deepEqual(inside, alone)
  t.notDeepEqual(inside[2], inside[0])
  t.is(tf.memory().numTensors, before, 'tensor count back to its baseline')
  tf.dispose([x, same])
})

test.serial('a model that throws is not memoised: the next attack in the memo computes the gradient itself', async (t) => {
  const x = clips(2)
  const before = tf.memory().numTensors
  const multLinf = scaledBuiltIns(4, 4).find((a) => a.name === 'mult-linf')!
  let calls = 0
  const flaky: Model = (v) => {
    if (calls++ === 0) throw new Error('model exploded')
    return linear(v)
  }
  const [failed, next] = await withCleanMemo(flaky, x, async () => [
    await runAttack(multLinf, flaky, x, [0, 2]).then(() => 'ran', (e: Error) => e.message),
    await outcome(await runAttack(multLinf, flaky, x, [0, 2])),
  ])
  t.is(failed, 'model exploded')
  t.deepEqual(next, await outcome(await runAttack(multLinf, linear, x, [0, 2])))
  t.is(tf.memory().numTensors, before, 'tensor count back to its baseline')
  x.dispose()
})

test.serial('nested memos: the inner one serves its clip, the outer one is back when it settles', async (t) => {
  const x = clips(2)
  const y = clips(3)
  const before = tf.memory().numTensors
  const multLinf = scaledBuiltIns(4, 4).find((a) => a.name === 'mult-linf')!
  const counter = counting(linear)
  const once = async (clip: tf.Tensor5D, labels: number[]) => (await runAttack(multLinf, counter.model, clip, labels)).adversarial.dispose()
  await withCleanMemo(counter.model, x, async () => {
    await once(x, [0, 2])
    await withCleanMemo(counter.model, y, async () => {
      await once(y, [0, 1, 2])
      await once(y, [0, 1, 2])
    })
    await once(x, [0, 2])
  })
  // 6 calls per run, less one for each run served a first gradient (the second on y, the second on x)
  t.is(counter.calls, 4 * 6 - 2)
  t.is(tf.memory().numTensors, before, 'tensor count back to its baseline')
  tf.dispose([x, y])
})

test.serial('a model whose logits do not depend on the clip is an InputError, inside the memo or not, with nothing left behind', async (t) => {
  const x = clips(2)
  const fixed = tf.tensor2d([[1, 0, 0], [0, 1, 0]])
  const before = tf.memory().numTensors
  const constant: Model = () => tf.clone(fixed)
  const multLinf = scaledBuiltIns(4, 4).find((a) => a.name === 'mult-linf')!
  const message = "runAttack: the model's logits do not depend on its input clip: there is no gradient to attack with (does the model use its argument?)"
  await t.throwsAsync(() => runAttack(multLinf, constant, x, [0, 2]), { instanceOf: InputError, message })
  await t.throwsAsync(() => withCleanMemo(constant, x, () => runAttack(multLinf, constant, x, [0, 2])), { instanceOf: InputError, message })
  // and on the steps' own gradient (an additive attack with a random start: no clean first gradient)
  const addLinf = scaledBuiltIns(4, 4).find((a) => a.name === 'add-linf')!
  await t.throwsAsync(() => runAttack(addLinf, constant, x, [0, 2]), { instanceOf: InputError, message })
  t.is(tf.memory().numTensors, before, 'tensor count back to its baseline')
  t.false(fixed.isDisposed)
  tf.dispose([x, fixed])
})
