/**
 * The tensor interpreter's extensions, value by value against hand computations on a linear model
 * z = Wᵀx (4 values per clip, 3 classes): momentum, step-size schedules, the margin loss, per-sample
 * targets and restarts. Every test returns tf.memory().numTensors to its baseline.
 */
import test, { type ExecutionContext } from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { pipe } from 'fp-ts/lib/function.js'
import * as attacks from '../src/dsl/attacks.js'
import {
  add,
  exponent,
  exponentialDecay,
  gradient,
  iterate,
  margin,
  momentum,
  multiply,
  restartSeed,
  scale,
  sign,
  stepDecay,
  targetedEach,
  withLoss,
  withRestarts,
  withSteps,
  withTarget,
} from '../src/dsl/constructors.js'
import type { Attack } from '../src/dsl/types.js'
import { initBackend } from '../src/backend/backend.js'
import { InputError } from '../src/core/errors.js'
import { runAttack, type AttackResult, type StepInfo } from '../src/interpreters/tensor.js'
import { type Model } from '../src/core/model.js'

test.before(async () => {
  await initBackend('cpu')
})

// -------------------------------------------------------------------------------------------------
// the model, in tfjs and by hand (float64)
// -------------------------------------------------------------------------------------------------

const D = 4
const K = 3
/** W[d][k]: every column difference is non-zero in every row, so sign(∇) has no zeros. */
const Wm = [
  [0.9, -0.4, 0.2],
  [-0.3, 0.8, -0.6],
  [0.5, 0.1, -0.7],
  [-0.2, -0.5, 0.9],
]
const model: Model = (x) => tf.tidy(() => tf.matMul(tf.reshape(x, [x.shape[0], D]), tf.tensor2d(Wm)))
const clips = (rows: ReadonlyArray<ReadonlyArray<number>>) => tf.tensor5d(rows.flat(), [rows.length, 1, 2, 2, 1])
const X0 = [
  [0.3, 0.6, 0.5, 0.4],
  [0.7, 0.2, 0.45, 0.55],
]
const Y = [0, 1]

type Vec = ReadonlyArray<number>
const logitsOf = (x: Vec): number[] => Array.from({ length: K }, (_, k) => x.reduce((s, v, d) => s + v * Wm[d]![k]!, 0))
const column = (k: number): number[] => Wm.map((row) => row[k]!)
const softmax = (z: Vec): number[] => {
  const m = Math.max(...z)
  const e = z.map((v) => Math.exp(v - m))
  const s = e.reduce((a, b) => a + b, 0)
  return e.map((v) => v / s)
}
/** CE(c) at x and its gradient Σ_k (p_k − [k = c]) W[:, k]. */
const ce = (x: Vec, c: number) => -Math.log(softmax(logitsOf(x))[c]!)
const ceGrad = (x: Vec, c: number): number[] => {
  const p = softmax(logitsOf(x))
  return Wm.map((row) => row.reduce((s, w, k) => s + (p[k]! - (k === c ? 1 : 0)) * w, 0))
}
/** max_{j≠c} z_j − z_c and the j that attains it. */
const marginOf = (x: Vec, c: number) => {
  const z = logitsOf(x)
  const j = z.reduce((best, v, k) => (k !== c && (best < 0 || v > z[best]!) ? k : best), -1)
  return { value: z[j]! - z[c]!, j }
}
const argMax = (v: Vec) => v.indexOf(Math.max(...v))

const rowsOf = async (t: tf.Tensor): Promise<number[][]> => {
  const data = Array.from(await t.data())
  return Array.from({ length: t.shape[0]! }, (_, n) => data.slice(n * D, (n + 1) * D))
}
const close = (t: ExecutionContext, actual: number, expected: number, tolerance: number, what: string) =>
  t.true(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`)

/** Runs the attack on X0 and returns its clips as rows, with the result (adversarial disposed). */
const attackRows = async (attack: Attack, options: Parameters<typeof runAttack>[4] = {}, x0 = X0, y = Y) => {
  const x = clips(x0)
  const r = await runAttack(attack, model, x, y, options)
  const { adversarial, ...result } = r
  const rows = await rowsOf(adversarial)
  tf.dispose([adversarial, x])
  return { rows, result: result as Omit<AttackResult, 'adversarial'> }
}

/** Runs `body` and checks that it leaves no tensor behind. */
const noLeak = async (t: ExecutionContext, body: () => Promise<void>) => {
  const before = tf.memory().numTensors
  await body()
  t.is(tf.memory().numTensors, before, 'no tensor left behind')
}

// -------------------------------------------------------------------------------------------------
// momentum
// -------------------------------------------------------------------------------------------------

test.serial('momentum: m ← μ·m + g/mean|g| per sample, x\' ← x\' + α·m, matches the formula over 3 steps', async (t) =>
  noLeak(t, async () => {
    const [mu, alpha] = [0.8, 0.01]
    const attack = pipe(gradient(), momentum(mu), scale(alpha), add, iterate(3))
    const counts: number[] = []
    const { rows } = await attackRows(attack, { onStep: () => void counts.push(tf.memory().numTensors) })
    // by hand: ∇ of the batch mean is ∇CE/N per sample
    X0.forEach((x0, n) => {
      let x = [...x0]
      let m = [0, 0, 0, 0]
      for (let i = 0; i < 3; i++) {
        const g = ceGrad(x, Y[n]!).map((v) => v / X0.length)
        const mean = g.reduce((s, v) => s + Math.abs(v), 0) / D
        m = m.map((v, d) => mu * v + g[d]! / mean)
        x = x.map((v, d) => v + alpha * m[d]!)
      }
      x.forEach((v, d) => close(t, rows[n]![d]!, v, 1e-6, `sample ${n} value ${d}`))
    })
    t.true(counts.every((c) => c === counts[0]), `live tensors per step ${counts}`)
  }))

test.serial('momentum state is per body step: a step\'s accumulator only moves on the iterations that run it', async (t) =>
  noLeak(t, async () => {
    const [mu, alpha, beta] = [0.5, 0.02, 0.003]
    const stepA = pipe(gradient(), momentum(mu), scale(alpha), add)
    const stepB = pipe(gradient(), sign, scale(beta), add)
    const { rows } = await attackRows(iterate(4)([stepA, stepB]))
    X0.forEach((x0, n) => {
      let x = [...x0]
      let m = [0, 0, 0, 0]
      for (let i = 0; i < 4; i++) {
        const g = ceGrad(x, Y[n]!).map((v) => v / X0.length)
        if (i % 2 === 0) {
          const mean = g.reduce((s, v) => s + Math.abs(v), 0) / D
          m = m.map((v, d) => mu * v + g[d]! / mean)
          x = x.map((v, d) => v + alpha * m[d]!)
        } else x = x.map((v, d) => v + beta * Math.sign(g[d]!))
      }
      x.forEach((v, d) => close(t, rows[n]![d]!, v, 1e-6, `sample ${n} value ${d}`))
    })
  }))

test.serial('momentum of a zero gradient stays zero (no 0/0)', async (t) =>
  noLeak(t, async () => {
    const flat: Model = (x) => tf.tidy(() => tf.mul(tf.sum(tf.reshape(x, [x.shape[0], D]), 1, true), tf.zeros([1, K])))
    const x = clips(X0)
    const r = await runAttack(pipe(gradient(), momentum(1), scale(0.1), add, iterate(2)), flat, x, Y)
    t.deepEqual(await rowsOf(r.adversarial), await rowsOf(x))
    tf.dispose([r.adversarial, x])
  }))

// -------------------------------------------------------------------------------------------------
// schedules
// -------------------------------------------------------------------------------------------------

/** The iterates x_0 … x_k of `attack` with 1 … k steps (each run is deterministic). */
const iterates = async (attack: Attack, k: number) => {
  const out = [X0.map((r) => [...r])]
  for (let s = 1; s <= k; s++) out.push((await attackRows(pipe(attack, withSteps(s)))).rows)
  return out
}

test.serial('an Exponential schedule scales additive steps: |x_{i+1} − x_i| = α·rate^i under sign(∇)', async (t) =>
  noLeak(t, async () => {
    const [alpha, rate] = [0.01, 0.5]
    const xs = await iterates(pipe(gradient(), sign, scale(alpha, { schedule: exponentialDecay(rate) }), add, iterate(1)), 3)
    for (let i = 0; i < 3; i++)
      xs[i + 1]!.forEach((row, n) => row.forEach((v, d) => close(t, Math.abs(v - xs[i]![n]![d]!), alpha * rate ** i, 1e-6, `step ${i} sample ${n} value ${d}`)))
  }))

test.serial('a StepDecay schedule scales multiplicative steps: |log(x_{i+1}/x_i)| = factor^⌊i/every⌋·ln α under sign(∇)', async (t) =>
  noLeak(t, async () => {
    const [alpha, every, factor] = [1.1, 2, 0.5]
    const xs = await iterates(pipe(gradient(), sign, exponent(alpha, { schedule: stepDecay({ every, factor }) }), multiply, iterate(1)), 4)
    const expected = [1, 1, 0.5, 0.5].map((s) => s * Math.log(alpha))
    for (let i = 0; i < 4; i++)
      xs[i + 1]!.forEach((row, n) => row.forEach((v, d) => close(t, Math.abs(Math.log(v / xs[i]![n]![d]!)), expected[i]!, 1e-5, `step ${i} sample ${n} value ${d}`)))
  }))

test.serial('a schedule counts iterations over the whole attack, across body steps', async (t) =>
  noLeak(t, async () => {
    // two body steps sharing one schedule: iteration i uses rate^i whichever step it runs
    const step = pipe(gradient(), sign, scale(0.01, { schedule: exponentialDecay(0.5) }), add)
    const xs = await iterates(iterate(1)([step, step]), 3)
    for (let i = 0; i < 3; i++) close(t, Math.abs(xs[i + 1]![0]![0]! - xs[i]![0]![0]!), 0.01 * 0.5 ** i, 1e-6, `step ${i}`)
  }))

// -------------------------------------------------------------------------------------------------
// margin
// -------------------------------------------------------------------------------------------------

test.serial('untargeted margin: the objective is max_{j≠y} z_j − z_y and the gradient step is α·(w_j − w_y)/N', async (t) =>
  noLeak(t, async () => {
    const alpha = 0.05
    const losses: number[] = []
    const { rows, result } = await attackRows(pipe(gradient(), scale(alpha), add, iterate(1, { loss: margin() })), {
      onStep: ({ loss }) => void losses.push(loss),
    })
    const before = X0.map((x, n) => marginOf(x, Y[n]!))
    close(t, losses[0]!, (before[0]!.value + before[1]!.value) / 2, 1e-6, 'objective at x0')
    X0.forEach((x0, n) => {
      const w = column(before[n]!.j).map((v, d) => (v - column(Y[n]!)[d]!) / X0.length)
      rows[n]!.forEach((v, d) => close(t, v - x0[d]!, alpha * w[d]!, 1e-6, `sample ${n} value ${d}`))
    })
    const after = rows.map((x, n) => marginOf(x, Y[n]!).value)
    close(t, result.loss, (after[0]! + after[1]!) / 2, 1e-6, 'objective on the returned clip')
    t.true(result.loss > losses[0]!, 'the margin rose')
  }))

test.serial('margin with a confidence cap: min(margin, κ), and a capped sample gets no gradient', async (t) =>
  noLeak(t, async () => {
    const m = X0.map((x, n) => marginOf(x, Y[n]!).value)
    // cap between the two samples' margins: the larger one is capped (flat objective there)
    const kappa = (m[0]! + m[1]!) / 2
    const capped = m[0]! > m[1]! ? 0 : 1
    const losses: number[] = []
    const { rows } = await attackRows(pipe(gradient(), scale(0.05), add, iterate(1, { loss: margin({ confidence: kappa }) })), {
      onStep: ({ loss }) => void losses.push(loss),
    })
    close(t, losses[0]!, (Math.min(m[0]!, kappa) + Math.min(m[1]!, kappa)) / 2, 1e-6, 'capped objective')
    t.deepEqual(rows[capped]!.map((v) => Math.fround(v)), X0[capped]!.map((v) => Math.fround(v)), 'the capped sample did not move')
    t.notDeepEqual(rows[1 - capped]!.map((v) => Math.fround(v)), X0[1 - capped]!.map((v) => Math.fround(v)), 'the other moved')
  }))

test.serial('targeted margin: the objective is z_t − max_{j≠t} z_j and the step is α·(w_t − w_j)/N', async (t) =>
  noLeak(t, async () => {
    const [alpha, target] = [0.05, 2]
    const losses: number[] = []
    const loss = withTarget({ _tag: 'Targeted', label: target })(margin())
    const { rows } = await attackRows(pipe(gradient(), scale(alpha), add, iterate(1, { loss })), { onStep: ({ loss }) => void losses.push(loss) })
    const other = X0.map((x) => marginOf(x, target))
    close(t, losses[0]!, -(other[0]!.value + other[1]!.value) / 2, 1e-6, 'objective at x0')
    X0.forEach((x0, n) => {
      const w = column(target).map((v, d) => (v - column(other[n]!.j)[d]!) / X0.length)
      rows[n]!.forEach((v, d) => close(t, v - x0[d]!, alpha * w[d]!, 1e-6, `sample ${n} value ${d}`))
    })
  }))

// -------------------------------------------------------------------------------------------------
// per-sample targets
// -------------------------------------------------------------------------------------------------

test.serial('TargetedEach pushes sample n towards labels[n]; success is "classified as its own target", with both losses', async (t) =>
  noLeak(t, async () => {
    const targets = [2, 0]
    for (const loss of [targetedEach(targets), withTarget({ _tag: 'TargetedEach', labels: targets })(margin())]) {
      const { rows, result } = await attackRows(pipe(attacks.addLinf({ eps: 1, alpha: 0.2, steps: 10 }), withLoss(loss)))
      const predictions = rows.map((x) => argMax(logitsOf(x)))
      t.deepEqual(result.predictions, predictions, loss._tag)
      t.deepEqual(result.success, [true, true], loss._tag)
      t.deepEqual(predictions, targets, loss._tag)
      t.notDeepEqual(result.cleanPredictions, targets)
    }
    // the per-sample CE objective is −CE(labels[n]) per sample
    const once = await attackRows(pipe(gradient(), scale(0.01), add, iterate(1, { loss: targetedEach(targets) })))
    const expected = once.rows.map((x, n) => -ce(x, targets[n]!))
    close(t, once.result.loss, (expected[0]! + expected[1]!) / 2, 1e-5, 'objective')
  }))

test.serial('TargetedEach with the wrong number of labels, or a label the model lacks, is an InputError naming the numbers', async (t) =>
  noLeak(t, async () => {
    const x = clips(X0)
    // both ways of meeting the model first: a clean start (mult-linf) and a random one (add-linf)
    for (const attack of [attacks.multLinf(), attacks.addLinf()]) {
      const length = await t.throwsAsync(runAttack(pipe(attack, withLoss(targetedEach([2, 0, 1]))), model, x, Y), { instanceOf: InputError })
      t.is(length?.message, "runAttack: the attack's TargetedEach target has 3 labels for 2 clips")
      const range = await t.throwsAsync(runAttack(pipe(attack, withLoss(targetedEach([2, 5]))), model, x, Y), { instanceOf: InputError })
      t.is(range?.message, "runAttack: the target label 5 of sample 1 is not below the model's 3 classes")
    }
    x.dispose()
  }))

// -------------------------------------------------------------------------------------------------
// restarts
// -------------------------------------------------------------------------------------------------

/** Four clips, each with its own label, for restarts. */
const X4 = [X0[0]!, X0[1]!, [0.5, 0.5, 0.5, 0.5], [0.2, 0.8, 0.3, 0.6]]
const Y4 = [0, 1, 2, 0]

test.serial('restarts: each sample keeps its best run (success first, then the higher objective), measured as returned', async (t) =>
  noLeak(t, async () => {
    const R = 4
    const base = attacks.addLinf({ eps: 0.3, alpha: 0.005, steps: 2, seed: 7 })
    // every run on its own: run r is the attack with seed restartSeed(7, r)
    const singles: Array<Awaited<ReturnType<typeof attackRows>>> = []
    for (let r = 0; r < R; r++) singles.push(await attackRows(base, { seed: restartSeed(7, r) }, X4, Y4))
    const judged = singles.map(({ rows }) => rows.map((x, n) => ({ success: argMax(logitsOf(x)) !== Y4[n], objective: ce(x, Y4[n]!) })))
    const expected = Y4.map((_, n) =>
      judged.reduce((best, runs, r) => {
        const [a, b] = [judged[best]![n]!, runs[n]!]
        return (a.success === b.success ? b.objective > a.objective : b.success) ? r : best
      }, 0),
    )
    t.true(new Set(expected).size > 1, `the samples' best runs differ: ${expected}`)
    const seen: StepInfo[] = []
    const { rows, result } = await attackRows(pipe(base, withRestarts(R)), { onStep: (info) => void seen.push(info) }, X4, Y4)
    t.deepEqual(result.bestRun, expected)
    rows.forEach((x, n) => t.deepEqual(x, singles[expected[n]!]!.rows[n], `sample ${n} comes from run ${expected[n]}`))
    // the figures describe the returned clips
    t.deepEqual(result.predictions, rows.map((x) => argMax(logitsOf(x))))
    t.deepEqual(result.success, expected.map((r, n) => judged[r]![n]!.success))
    close(t, result.loss, rows.reduce((s, x, n) => s + ce(x, Y4[n]!), 0) / Y4.length, 1e-5, 'loss')
    result.sanity.linf.forEach((v, n) => t.is(v, singles[expected[n]!]!.result.sanity.linf[n]!))
    t.is(result.seed, 7)
    // onStep counts over the runs
    t.deepEqual(seen.map((s) => s.step), [1, 2, 3, 4, 5, 6, 7, 8])
    t.true(seen.every((s) => s.steps === 8 && s.runs === R))
    t.deepEqual(seen.map((s) => s.run), [0, 0, 1, 1, 2, 2, 3, 3])
  }))

test.serial('restarts: 1 is the attack itself; run 0 of a restarted attack is the attack without restarts', async (t) =>
  noLeak(t, async () => {
    const base = attacks.addLinf({ eps: 0.3, alpha: 0.01, steps: 3, seed: 3 })
    t.is(base.restarts, 1)
    const seen: StepInfo[] = []
    const plain = await attackRows(base, { onStep: (info) => void seen.push(info) })
    const one = await attackRows(pipe(base, withRestarts(1)))
    t.deepEqual(one, plain)
    t.deepEqual(plain.result.bestRun, [0, 0])
    t.deepEqual(seen, [1, 2, 3].map((step) => ({ step, steps: 3, loss: seen[step - 1]!.loss, run: 0, runs: 1 })))
    // with restarts, run 0 sees the same losses as the plain attack
    const restarted: StepInfo[] = []
    await attackRows(pipe(base, withRestarts(2)), { onStep: (info) => void restarted.push(info) })
    t.deepEqual(restarted.slice(0, 3).map((s) => s.loss), seen.map((s) => s.loss))
  }))

test.serial('restarts with searched rectangles search once; momentum restarts from zero in every run', async (t) =>
  noLeak(t, async () => {
    let calls = 0
    const counted: Model = (x) => {
      calls++
      return model(x)
    }
    const x = clips(X0)
    const roa = attacks.roa({ height: 1, width: 1, steps: 2 })
    calls = 0
    const r1 = await runAttack(roa, counted, x, Y)
    const one = calls
    calls = 0
    const r3 = await runAttack(pipe(roa, withRestarts(3)), counted, x, Y)
    // the search's passes are shared: 3 runs cost 2 more runs' steps and evaluations, plus one final evaluation
    const perRun = roa.steps + 1
    t.is(calls, one + 2 * perRun + 1)
    t.deepEqual([...r3.searched.keys()], [...r1.searched.keys()])
    tf.dispose([r1.adversarial, r3.adversarial])
    // a clean start with momentum: every run is the same, so every sample keeps run 0 (ties keep the earlier run)
    const mi = pipe(gradient(), momentum(1), sign, scale(0.01), add, iterate(3))
    const losses: number[][] = [[], [], []]
    const a = await runAttack(mi, model, x, Y)
    const b = await runAttack(pipe(mi, withRestarts(3)), model, x, Y, { onStep: ({ run, loss }) => void losses[run]!.push(loss) })
    t.deepEqual(losses[1], losses[0])
    t.deepEqual(losses[2], losses[0])
    t.deepEqual(await rowsOf(b.adversarial), await rowsOf(a.adversarial))
    t.deepEqual(b.bestRun, [0, 0])
    tf.dispose([a.adversarial, b.adversarial, x])
  }))

test.serial('a failure in any run (a throwing model, a throwing onStep in run 2) leaves no momentum state or best clip behind', async (t) =>
  noLeak(t, async () => {
    const x = clips(X0)
    const mi = pipe(gradient(), momentum(1), sign, scale(0.01), add, iterate(3))
    await t.throwsAsync(runAttack(mi, () => { throw new Error('model exploded') }, x, Y), { message: 'model exploded' })
    const restarted = pipe(attacks.addLinf({ steps: 3 }), (a) => ({ ...a, body: [pipe(gradient(), momentum(0.5), sign, scale(0.01), add)] }), withRestarts(3))
    await t.throwsAsync(
      runAttack(restarted, model, x, Y, { onStep: ({ run, step }) => { if (run === 2 && step === 8) throw new Error('stop') } }),
      { message: 'stop' },
    )
    x.dispose()
  }))
