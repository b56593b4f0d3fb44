/**
 * runAttack's contract: clear errors for bad input (and nothing left behind), the per-step callback,
 * seeds, targeted success, and the sanity record.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { pipe } from 'fp-ts/lib/function.js'
import * as attacks from '../src/dsl/attacks.js'
import { clip as clipTo, exponent, frames, gradient, iterate, multiply, restrictTo, withLoss, targeted, withSteps } from '../src/dsl/constructors.js'
import { certify, verify } from '../src/interpreters/certify.js'
import { initBackend } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { type Model } from '../src/core/model.js'

test.before(async () => {
  await initBackend('cpu')
})

/** A fixed linear model over 2x2x2x3 clips with 3 classes. */
const weights = Array.from({ length: 24 * 3 }, (_, i) => Math.sin(i + 1))
const model: Model = (x) => tf.tidy(() => tf.matMul(tf.reshape(x, [x.shape[0], 24]), tf.tensor2d(weights, [24, 3])))
const clip = (values: (i: number) => number, n = 2) => tf.tensor5d(Float32Array.from({ length: n * 24 }, (_, i) => values(i)), [n, 2, 2, 2, 3])

/** Expects runAttack to reject with `message` and to leave no tensor behind. */
const rejects = async (t: import('ava').ExecutionContext, run: () => Promise<unknown>, message: string | RegExp) => {
  const before = tf.memory().numTensors
  await t.throwsAsync(run, typeof message === 'string' ? { message } : { message })
  t.is(tf.memory().numTensors, before, 'no tensor left behind')
}

test.serial('bad input is rejected with a specific message', async (t) => {
  const x = clip((i) => (i % 10) / 10)
  await rejects(t, () => runAttack(attacks.multLinf({ eps: 0.9 }), model, x, [0, 1]),
    'runAttack: invalid attack:\n  attack.body[0].constraints[0].eps: expected a number > 1 (a ratio bound), got 0.9')
  await rejects(t, () => runAttack(pipe(attacks.multLinf(), withSteps(0)), model, x, [0, 1]), /attack\.steps: expected an integer ≥ 1/)
  await rejects(t, () => runAttack(attacks.multLinf(), model, x, [0]), 'runAttack: y has 1 labels for 2 clips')
  await rejects(t, () => runAttack(attacks.multLinf(), model, x, [0, 1.5]), 'runAttack: y[1] must be a class index (integer ≥ 0), got 1.5')
  await rejects(t, () => runAttack(attacks.multLinf(), model, x, [0, 3]), 'runAttack: label 3 (sample 1) is not below the model\'s 3 classes')
  await rejects(t, () => runAttack(pipe(attacks.multLinf(), withLoss(targeted(7))), model, x, [0, 1]),
    "runAttack: the target class 7 is not below the model's 3 classes")
  await rejects(t, () => runAttack(attacks.multLinf(), () => tf.zeros([1, 3]) as tf.Tensor2D, x, [0, 1]),
    'runAttack: the model must return [2, K] logits, got shape [1, 3]')
  // the same checks on the path with a forward pass before the attack (a random start) …
  await rejects(t, () => runAttack(attacks.addLinf(), model, x, [0, 3]), 'runAttack: label 3 (sample 1) is not below the model\'s 3 classes')
  await rejects(t, () => runAttack(attacks.addLinf(), () => tf.zeros([1, 3]) as tf.Tensor2D, x, [0, 1]),
    'runAttack: the model must return [2, K] logits, got shape [1, 3]')
  // … and a model that throws during the first step's forward pass
  await rejects(t, () => runAttack(attacks.multLinf(), () => { throw new Error('model exploded') }, x, [0, 1]), 'model exploded')
  const wide = clip((i) => i / 10)
  await rejects(t, () => runAttack(attacks.multLinf(), model, wide, [0, 1]), 'runAttack: x must lie in [0, 1], got values in [0, 4.699999809265137]')
  const nan = clip((i) => (i === 5 ? Number.NaN : 0.5))
  await rejects(t, () => runAttack(attacks.multLinf(), model, nan, [0, 1]), 'runAttack: x contains NaN or Infinity')
  const rank4 = tf.zeros([2, 2, 2, 3]) as unknown as tf.Tensor5D
  await rejects(t, () => runAttack(attacks.multLinf(), model, rank4, [0, 1]), 'runAttack: x must be [N, T, H, W, C], got shape [2, 2, 2, 3]')
  const masked = pipe(attacks.multLinf(), (a) => ({ ...a, init: { _tag: 'UniformRatio' as const, eps: 1.1, region: frames([5]) } }))
  await rejects(t, () => runAttack(masked, model, x, [0, 1]), /attack\.init\.region/)
  tf.dispose([x, wide, nan, rank4])
})

test.serial('plausible mistakes with the model, x and y get a clear error saying what was expected, with nothing left behind', async (t) => {
  const base = tf.memory().numTensors
  const x = clip((i) => (i % 10) / 10)
  const expectTensor = (got: string) => `runAttack: the model must return a tf.Tensor of [2, K] logits, got ${got}`
  const bad: ReadonlyArray<readonly [string, unknown, string]> = [
    ['an async model', async (v: tf.Tensor5D) => model(v), expectTensor('a Promise (the model must be synchronous: the attack differentiates through it)')],
    ['an async model that awaits first', async (v: tf.Tensor5D) => { await Promise.resolve(); return model(v) }, expectTensor('a Promise (the model must be synchronous: the attack differentiates through it)')],
    ['a model returning nothing', () => undefined, expectTensor('undefined')],
    ['a model returning a number', () => 3, expectTensor('the number 3')],
    ['a model returning an array', () => [[0, 1, 2], [0, 1, 2]], expectTensor('an array')],
    ['rank 3 logits', () => tf.zeros([2, 3, 1]), 'runAttack: the model must return [2, K] logits, got shape [2, 3, 1]'],
    ['int32 logits', () => tf.zeros([2, 3], 'int32'), 'runAttack: the model must return float32 logits, got int32'],
    ['a disposed tensor', (v: tf.Tensor5D) => { const l = model(v); l.dispose(); return l }, 'runAttack: the model returned a disposed tensor (was it made inside a tf.tidy that disposed it?)'],
    ['one class', () => tf.zeros([2, 1]), 'runAttack: the model returns 1 class; an attack needs at least 2'],
    ['not a function', { predict: model }, 'runAttack: model must be a function from [N, T, H, W, C] clips to [N, K] logits, got an object'],
  ]
  // both ways of meeting the model first: the first step's forward pass (mult-linf) and a clean pass (add-linf's random start)
  for (const attack of [attacks.multLinf(), attacks.addLinf()])
    for (const [what, m, message] of bad) {
      await rejects(t, () => runAttack(attack, m as Model, x, [0, 1]), message)
      await new Promise((resolve) => setImmediate(resolve)) // an async model's late tensor is released too
      t.is(tf.memory().numTensors, base + 1, `${attack.name}, ${what}: only x is left`)
    }
  const disposed = clip(() => 0.5)
  disposed.dispose()
  const badClips: ReadonlyArray<readonly [unknown, string]> = [
    [[[0.5]], 'runAttack: x must be a tf.Tensor of [N, T, H, W, C] clips, got an array'],
    [new Float32Array(48), 'runAttack: x must be a tf.Tensor of [N, T, H, W, C] clips, got a Float32Array'],
    [undefined, 'runAttack: x must be a tf.Tensor of [N, T, H, W, C] clips, got undefined'],
    [disposed, 'runAttack: x has been disposed; pass a live tensor'],
  ]
  for (const [bad, message] of badClips) await rejects(t, () => runAttack(attacks.multLinf(), model, bad as tf.Tensor5D, [0, 1]), message)
  const none = tf.zeros([0, 2, 2, 2, 3]) as tf.Tensor5D
  await rejects(t, () => runAttack(attacks.multLinf(), model, none, []), 'runAttack: x holds no clips (shape [0, 2, 2, 2, 3]); expected at least 1')
  const flat = tf.zeros([2, 0, 2, 2, 3]) as tf.Tensor5D
  await rejects(t, () => runAttack(attacks.multLinf(), model, flat, [0, 1]), 'runAttack: x has an empty dimension (shape [2, 0, 2, 2, 3]); expected every size ≥ 1')
  const oneHot = tf.tensor2d([[1, 0, 0], [0, 1, 0]])
  const goneLabels = tf.tensor1d([0, 1])
  goneLabels.dispose()
  const badLabels: ReadonlyArray<readonly [unknown, string]> = [
    [oneHot, 'runAttack: y must be a rank-1 tensor of class indices (not one-hot rows), got shape [2, 3]'],
    [goneLabels, 'runAttack: y has been disposed; pass a live tensor'],
    ['0,1', 'runAttack: y must be an array or a rank-1 tensor of class indices, got the string "0,1"'],
    [[0, -1], 'runAttack: y[1] must be a class index (integer ≥ 0), got -1'],
    [[Number.NaN, 1], 'runAttack: y[0] must be a class index (integer ≥ 0), got NaN'],
    [[0, 1, 2], 'runAttack: y has 3 labels for 2 clips'],
    [[0, 7], "runAttack: label 7 (sample 1) is not below the model's 3 classes"],
  ]
  for (const [y, message] of badLabels) await rejects(t, () => runAttack(attacks.multLinf(), model, x, y as number[]), message)
  // a typed array of labels is fine
  const r = await runAttack(attacks.multLinf({ steps: 1 }), model, x, Int32Array.from([0, 1]) as unknown as number[])
  t.is(r.predictions.length, 2)
  tf.dispose([r.adversarial, x, none, flat, oneHot])
  t.is(tf.memory().numTensors, base)
})

test.serial('onStep sees every step with a rising loss; the result reports the final loss on the returned clip', async (t) => {
  const before = tf.memory().numTensors
  const x = clip((i) => 0.2 + 0.6 * ((i * 7) % 11) / 11)
  const seen: number[] = []
  const losses: number[] = []
  const r = await runAttack(attacks.multLinf({ steps: 4 }), model, x, [0, 1], {
    onStep: ({ step, steps, loss }) => {
      seen.push(step)
      losses.push(loss)
      t.is(steps, 4)
    },
  })
  t.deepEqual(seen, [1, 2, 3, 4])
  t.is(r.backend, 'cpu')
  t.true(losses.every((l, i) => i === 0 || l >= losses[i - 1]! - 1e-6), `losses ${losses}`)
  t.true(r.loss >= losses[3]! - 1e-6)
  t.is(r.sanity.nanCount, 0)
  t.true(r.sanity.ratioLinf.every((v) => v <= 1.04 * (1 + 1e-6)))
  t.true(r.sanity.min >= 0 && r.sanity.max <= 1)
  r.adversarial.dispose()
  x.dispose()
  t.is(tf.memory().numTensors, before)
})

test.serial('the same seed gives the same clip; another seed gives another', async (t) => {
  const before = tf.memory().numTensors
  const x = clip((i) => 0.1 + 0.8 * ((i * 5) % 13) / 13)
  const runWith = async (seed: number) => {
    const r = await runAttack(attacks.addLinf(), model, x, [0, 1], { seed })
    const data = Array.from(await r.adversarial.data())
    r.adversarial.dispose()
    return { data, seed: r.seed }
  }
  const [a, b, c] = [await runWith(1), await runWith(1), await runWith(2)]
  t.deepEqual(a, b)
  t.is(c.seed, 2)
  t.notDeepEqual(a.data, c.data)
  x.dispose()
  t.is(tf.memory().numTensors, before)
})

test.serial('a targeted attack succeeds when the model outputs the target, measured on the returned clip', async (t) => {
  const before = tf.memory().numTensors
  const x = clip((i) => 0.5 + 0.3 * Math.cos(i))
  const r = await runAttack(pipe(attacks.addLinf({ eps: 1, alpha: 0.2, steps: 10 }), withLoss(targeted(2))), model, x, [0, 1])
  const argMax = tf.tidy(() => tf.argMax(model(r.adversarial), 1))
  const predictions = Array.from(await argMax.data())
  argMax.dispose()
  t.deepEqual(r.predictions, predictions)
  t.deepEqual(r.success, predictions.map((p) => p === 2))
  t.deepEqual(r.success, [true, true])
  t.is(r.cleanPredictions.length, 2)
  t.notDeepEqual(r.cleanPredictions, [2, 2])
  r.adversarial.dispose()
  x.dispose()
  t.is(tf.memory().numTensors, before)
})

test.serial('restrictTo confines an attack (and its random start) to a region: other frames stay bit-identical', async (t) => {
  const before = tf.memory().numTensors
  const x = clip((i) => 0.1 + 0.8 * ((i * 3) % 7) / 7)
  const attack = pipe(attacks.addLinf({ eps: 0.1, alpha: 0.05 }), restrictTo(frames([1])))
  t.deepEqual(certify(attack).support, { _tag: 'Regions', regions: [frames([1])] })
  const r = await runAttack(attack, model, x, [0, 1])
  const [clean, adv] = [await x.data(), await r.adversarial.data()]
  // [2, 2, 2, 2, 3]: frame t of sample n holds values [(n·2 + t)·12, (n·2 + t + 1)·12)
  const frameOf = (i: number) => Math.floor(i / 12) % 2
  t.true(Array.from(adv).every((v, i) => frameOf(i) === 1 || v === clean[i]), 'frame 0 unchanged')
  t.true(Array.from(adv).some((v, i) => frameOf(i) === 1 && v !== clean[i]), 'frame 1 attacked')
  t.deepEqual(verify(r.certificate, x, r.adversarial), [])
  r.adversarial.dispose()
  x.dispose()
  t.is(tf.memory().numTensors, before)
})

test.serial('a multiplicative step whose exponent overflows float32 keeps zero pixels at 0 and returns no NaN', async (t) => {
  // x' ⊙ α^g with α = e^50 and |g| up to ~0.3·4: exp(d·ln α) would be ∞ and 0·∞ NaN without the cap
  const big: Model = (x) => tf.tidy(() => tf.mul(model(x), 4))
  const before = tf.memory().numTensors
  const x = clip((i) => (i % 3 === 0 ? 0 : (i % 10) / 10))
  const attack = pipe(gradient(), exponent(Math.exp(50)), multiply, clipTo(0, 1), iterate(2, { name: 'overflowing' }))
  const r = await runAttack(attack, big, x, [0, 1])
  const [adv, clean] = [await r.adversarial.data(), await x.data()]
  t.is(r.sanity.nanCount, 0)
  clean.forEach((v, i) => {
    if (v === 0) t.is(adv[i], 0, `value ${i} was 0`)
    t.true(adv[i]! >= 0 && adv[i]! <= 1, `value ${i}: ${adv[i]}`)
  })
  t.true(adv.some((v, i) => v === 1 && clean[i]! > 0), 'some pixel was pushed to 1')
  tf.dispose([r.adversarial, x])
  t.is(tf.memory().numTensors, before)
})

for (const backend of ['cpu', 'wasm'] as const)
  test.serial(`${backend}: a model that returns NaN logits for one clip is refused, naming the clip, with nothing left behind`, async (t) => {
    await initBackend(backend)
    // clip 1's logits are NaN (0·∞ in the model), clip 0's finite
    const broken: Model = (x) => tf.tidy(() => tf.mul(model(x), tf.tensor2d([[1], [NaN]])))
    const x = clip((i) => (i % 10) / 10)
    for (const attack of [attacks.addLinf(), attacks.multLinf(), attacks.roa({ height: 1, width: 1 })])
      await rejects(t, () => runAttack(attack, broken, x, [0, 1]), 'runAttack: the model returned NaN or Infinity logits for clip 1 (of 2) of the attacked batch')
    x.dispose()
    await initBackend('cpu')
  })

test.serial('measureOn: predictions, success and loss are taken on measureOn(adversarial), the norms on the returned clip; a bad measureOn is a clear error', async (t) => {
  const before = tf.memory().numTensors
  const x = clip((i) => ((i * 37) % 101) / 100)
  const attack = attacks.addLinf({ eps: 8 / 255, alpha: 2 / 255, steps: 3, randomStart: false })
  const quantise = (v: tf.Tensor5D) => tf.div(tf.round(tf.mul(v, 255)), 255) as tf.Tensor5D
  // a model that tells an 8-bit clip from a float one: class 0 off the 8-bit grid, class 1 on it
  const offGrid: Model = (v) =>
    tf.tidy(() => {
      const distance = tf.mul(tf.sum(tf.abs(tf.sub(v, quantise(v))), [1, 2, 3, 4]), 1e3)
      return tf.stack([distance, tf.fill([v.shape[0]], 1e-3), tf.zeros([v.shape[0]])], 1) as tf.Tensor2D
    })
  for (const m of [model, offGrid]) {
    const plain = await runAttack(attack, m, x, [0, 1])
    const measured = await runAttack(attack, m, x, [0, 1], { measureOn: quantise })
    t.deepEqual(Array.from(await measured.adversarial.data()), Array.from(await plain.adversarial.data()))
    t.deepEqual(measured.sanity, plain.sanity)
    const [logits, want] = tf.tidy(() => {
      const q = quantise(measured.adversarial)
      return [m(q), tf.argMax(m(q), 1)]
    })
    t.deepEqual(measured.predictions, Array.from(await want.data()))
    t.deepEqual(measured.success, measured.predictions.map((p, i) => p !== [0, 1][i]))
    const ce = tf.tidy(() => tf.mean(tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([0, 1], 'int32'), 3), logits, undefined, undefined, tf.Reduction.NONE)))
    t.true(Math.abs(measured.loss - (await ce.data())[0]!) < 1e-5)
    if (m === offGrid) {
      t.deepEqual(plain.predictions, [0, 0]) // the float clip is off the grid …
      t.deepEqual(measured.predictions, [1, 1]) // … its 8-bit version on it
    }
    tf.dispose([plain.adversarial, measured.adversarial, logits, want, ce])
  }
  await rejects(t, () => runAttack(attack, model, x, [0, 1], { measureOn: (v) => tf.slice(v, [0], [1]) as tf.Tensor5D }),
    "runAttack: options.measureOn must return a tensor of the clip's shape [2, 2, 2, 2, 3], got shape [1, 2, 2, 2, 3]")
  await rejects(t, () => runAttack(attack, model, x, [0, 1], { measureOn: () => 3 as never }), "runAttack: options.measureOn must return a tensor of the clip's shape [2, 2, 2, 2, 3], got number")
  x.dispose()
  t.is(tf.memory().numTensors, before)
})
