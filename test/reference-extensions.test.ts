/**
 * The reference interpreter's extensions against hand-computed values: momentum (per-sample
 * normalisation, state per occurrence), step-size schedules (over the attack's iterations), restarts
 * (the per-sample best run by a judge), and restrictTo / multiplicative on such steps.
 */
import test from 'ava'
import { pipe } from 'fp-ts/lib/function.js'
import { InputError } from '../src/core/errors.js'
import type { ClipData } from '../src/core/clip.js'
import * as attacks from '../src/dsl/attacks.js'
import {
  add,
  clip,
  exponent,
  exponentialDecay,
  frames,
  gradient,
  iterate,
  maskRegion,
  momentum,
  multiplicative,
  multiply,
  normalize,
  projectBall,
  restartSeed,
  restrictTo,
  scale,
  scaleFree,
  sign,
  stepDecay,
  withRestarts,
  withSeed,
} from '../src/dsl/constructors.js'
import type { Attack } from '../src/dsl/types.js'
import { runReference, type GradientOracle, type Verdict } from '../src/interpreters/reference.js'

/** A clip of N samples of T frames of 1x`W` pixels, 1 channel. */
const clipOf = (values: ReadonlyArray<number>, N: number, T: number, W = values.length / (N * T)): ClipData => ({
  data: Float32Array.from(values),
  shape: [N, T, 1, W, 1],
})

/** The same gradient at every iterate. */
const constantGradient = (g: ReadonlyArray<number>): GradientOracle => () => Float32Array.from(g)

/** The gradients `gs` in turn, one per call. */
const gradientSequence = (gs: ReadonlyArray<ReadonlyArray<number>>): GradientOracle => {
  let call = 0
  return () => Float32Array.from(gs[call++]!)
}

const close = (t: import('ava').ExecutionContext, actual: ArrayLike<number>, expected: ReadonlyArray<number>, message?: string) => {
  t.is(actual.length, expected.length, message)
  const bad = expected.findIndex((e, i) => !(Math.abs(actual[i]! - e) <= 1e-7 + 1e-6 * Math.abs(e)))
  t.is(bad, -1, `${message ?? ''} value ${bad}: got ${actual[bad]}, expected ${expected[bad]}`)
}

// -------------------------------------------------------------------------------------------------
// momentum
// -------------------------------------------------------------------------------------------------

test('momentum: m ← μ·m + d/mean|d| per sample over 3 steps (constant gradient); an all-zero sample stays put', (t) => {
  // sample 0: g = [1, 3], mean|g| = 2, term [0.5, 1.5]; m₁ + m₂ + m₃ = term·(1 + 1.5 + 1.75) = term·4.25
  const attack = pipe(gradient(), momentum(0.5), scale(0.01), add, iterate(3))
  const x = clipOf([0.2, 0.3, 0.4, 0.5], 2, 1)
  const xAdv = runReference(attack, constantGradient([1, 3, 0, 0]), x)
  close(t, xAdv, [0.2 + 0.01 * 0.5 * 4.25, 0.3 + 0.01 * 1.5 * 4.25, 0.4, 0.5])
})

test('MI-FGSM: sign(momentum(1)(g)) follows the accumulated direction, not the last gradient', (t) => {
  // terms [1, 1], [−2, 0], [0, 2] → m = [1, 1], [−1, 1], [−1, 3] → sign sums to [−1, 3]
  const attack = pipe(gradient(), momentum(1), sign, scale(0.01), add, iterate(3))
  const xAdv = runReference(attack, gradientSequence([[1, 1], [-4, 0], [0, 2]]), clipOf([0.5, 0.5], 1, 1))
  close(t, xAdv, [0.5 - 0.01, 0.5 + 0.03])
})

test('momentum state is per body step: two steps cycling keep two accumulators', (t) => {
  // one value, terms sign(g) = 1, −1, 1, 1; step 0 runs at i = 0, 2 (m = 1, 2), step 1 at i = 1, 3 (m = −1, 0)
  const step = pipe(gradient(), momentum(1), scale(0.01), add)
  const attack = iterate(4)([step, step])
  const xAdv = runReference(attack, gradientSequence([[1], [-1], [1], [1]]), clipOf([0.5], 1, 1))
  close(t, xAdv, [0.5 + 0.01 * (1 + 2 - 1 + 0)]) // one shared accumulator would give 0.5 + 0.01·(1 + 0 + 1 + 2)
})

test("momentum normalises by the mean over the whole sample, masked values included", (t) => {
  // masked d = [2, 0]: mean|d| = 1 over the sample's 2 values, term [2, 0]
  const attack = pipe(gradient(), maskRegion(frames([0])), momentum(0.9), scale(0.01), add, iterate(1))
  close(t, runReference(attack, constantGradient([2, 5]), clipOf([0.2, 0.2], 1, 2)), [0.22, 0.2])
})

// -------------------------------------------------------------------------------------------------
// schedules
// -------------------------------------------------------------------------------------------------

const signStep = (alpha: number, schedule = exponentialDecay(1)) => pipe(gradient(), sign, scale(alpha, { schedule }), add)

test("schedules: an additive step is α·s_i·d (x' − x), Exponential rate^i and StepDecay factor^⌊i/every⌋", (t) => {
  const x = clipOf([0.2], 1, 1)
  const up = constantGradient([1])
  // 0.1·(1 + 0.5 + 0.25)
  close(t, runReference(iterate(3)(signStep(0.1, exponentialDecay(0.5))), up, x), [0.2 + 0.175])
  // s = 1, 1, 0.5, 0.5, 0.25
  close(t, runReference(iterate(5)(signStep(0.1, stepDecay({ every: 2, factor: 0.5 }))), up, x), [0.2 + 0.1 * 3.25])
  // i counts the attack's iterations: step 0 (decaying) runs at i = 0, 2 (s = 1, 0.25), step 1 at i = 1, 3 (s = 1)
  const cycling = iterate(4)([signStep(0.1, exponentialDecay(0.5)), signStep(0.1)])
  close(t, runReference(cycling, up, x), [0.2 + 0.1 * (1 + 1 + 0.25 + 1)])
})

test("schedules: a multiplicative step has s_i·ln α in its exponent (log(x'/x)), √N with 'rms'", (t) => {
  const exp = (alpha: number, options: Parameters<typeof exponent>[1]) => pipe(gradient(), sign, exponent(alpha, options), multiply)
  const x = clipOf([0.1, 0.2, 0.1, 0.2], 1, 1)
  const up = constantGradient([1, 1, -1, -1])
  const logRatio = (xAdv: Float32Array) => Array.from(xAdv, (v, i) => Math.log(v / x.data[i]!))
  // ln 2·(1 + 0.5 + 0.25)
  const l = Math.log(2) * 1.75
  close(t, logRatio(runReference(iterate(3)(exp(2, { schedule: exponentialDecay(0.5) })), up, x)), [l, l, -l, -l])
  // √4·ln 1.1·(1 + 0.5)
  const r = 2 * Math.log(1.1) * 1.5
  const rms = iterate(2)(exp(1.1, { units: 'rms', schedule: stepDecay({ every: 1, factor: 0.5 }) }))
  close(t, logRatio(runReference(rms, up, x)), [r, r, -r, -r])
})

// -------------------------------------------------------------------------------------------------
// restarts
// -------------------------------------------------------------------------------------------------

const restarted = pipe(attacks.addLinf({ eps: 0.05, alpha: 0.01, steps: 2, seed: 7 }), withRestarts(3))
const x3 = clipOf(Array.from({ length: 12 }, (_, i) => 0.2 + 0.05 * i), 3, 1)
const grad3 = constantGradient(Array.from({ length: 12 }, (_, i) => Math.sin(i + 1)))
/** Run r alone: the attack without restarts, seeded restartSeed(seed, r). */
const alone = (a: Attack, r: number, seed = a.seed) => runReference(pipe(a, withRestarts(1), withSeed(restartSeed(seed, r))), grad3, x3)

/** Verdicts by run (rows) and sample (columns). */
const TABLE: ReadonlyArray<ReadonlyArray<Verdict>> = [
  [{ success: false, objective: 5 }, { success: false, objective: 2 }, { success: true, objective: 0 }],
  [{ success: true, objective: 1 }, { success: false, objective: 3 }, { success: false, objective: 9 }],
  [{ success: true, objective: 0 }, { success: false, objective: 3 }, { success: true, objective: 0 }],
]

test('restarts: each sample keeps its best run (success, then objective, then the earlier run); run r is seeded restartSeed(seed, r)', (t) => {
  const seen: Float32Array[] = []
  const judge = (xAdv: Float32Array) => {
    seen.push(Float32Array.from(xAdv))
    return TABLE[seen.length - 1]!
  }
  const xAdv = runReference(restarted, grad3, x3, { judge })
  const runs = [0, 1, 2].map((r) => alone(restarted, r))
  t.deepEqual(seen, runs, 'the judge sees each run, in order')
  t.notDeepEqual(runs[0], runs[1], 'the random starts differ between runs')
  // sample 0: run 1 (succeeds, higher objective than run 2); sample 1: run 1 (tie with run 2 at 3); sample 2: run 0 (tie with run 2)
  const pick = [1, 1, 0]
  t.deepEqual(xAdv, Float32Array.from({ length: 12 }, (_, i) => runs[pick[Math.floor(i / 4)]!]![i]!))
  // options.seed seeds run 0, and the restarts follow it
  const reseeded = runReference(restarted, grad3, x3, { seed: 11, judge: () => TABLE[1]!.map(() => ({ success: false, objective: 0 })) })
  t.deepEqual(reseeded, alone(restarted, 0, 11))
})

test('restarts: more than one run needs a judge, whose verdicts cover the batch (InputError otherwise)', (t) => {
  t.throws(() => runReference(restarted, grad3, x3), {
    instanceOf: InputError,
    message: "runReference: attack.restarts is 3: picking each sample's best run needs options.judge",
  })
  t.throws(() => runReference(restarted, grad3, x3, { judge: () => [{ success: true, objective: 0 }] }), {
    instanceOf: InputError,
    message: 'runReference: options.judge gave 1 verdicts for a batch of 3 samples',
  })
  t.throws(() => runReference(withRestarts(0)(restarted), grad3, x3), { instanceOf: InputError, message: /attack\.restarts: expected an integer ≥ 1/ })
  t.deepEqual(runReference(withRestarts(1)(restarted), grad3, x3), alone(restarted, 0), 'one run needs no judge')
})

// -------------------------------------------------------------------------------------------------
// restrictTo and multiplicative on steps with schedules and momentum
// -------------------------------------------------------------------------------------------------

// g = [1, 3] on two frames: term [0.5, 1.5]; m_i = term·(1, 1.5, 1.75); s_i = (1, 0.5, 0.25): Σ s_i·m_i = term·2.1875
const decaying = exponentialDecay(0.5)
const base = pipe(gradient(), momentum(0.5), scale(0.01, { schedule: decaying }), add, projectBall({ norm: 'linf', eps: 0.5 }), clip(0, 1), iterate(3))
const x2 = clipOf([0.3, 0.3], 1, 2)
const g2 = constantGradient([1, 3])

test('restrictTo masks the momentum direction and keeps the schedule', (t) => {
  const restricted = restrictTo(frames([0]))(base)
  t.deepEqual(restricted.body[0]!.update, {
    _tag: 'Add',
    offset: { _tag: 'Scale', alpha: 0.01, units: 'absolute', schedule: decaying, of: pipe(gradient(), momentum(0.5), maskRegion(frames([0]))) },
  })
  close(t, runReference(base, g2, x2), [0.3 + 0.01 * 0.5 * 2.1875, 0.3 + 0.01 * 1.5 * 2.1875])
  close(t, runReference(restricted, g2, x2), [0.3 + 0.01 * 0.5 * 2.1875, 0.3])
})

test('multiplicative carries the schedule and the momentum into the exponent', (t) => {
  const mult = pipe(base, restrictTo(frames([0])), multiplicative({ alpha: 1.2, eps: 1.5 }))
  t.deepEqual(mult.body[0], {
    _tag: 'Step',
    update: {
      _tag: 'Multiply',
      factor: { _tag: 'Exponent', alpha: 1.2, units: 'absolute', schedule: decaying, of: pipe(gradient(), momentum(0.5), maskRegion(frames([0]))) },
    },
    constraints: [
      { _tag: 'ProjectRatio', norm: 'linf', eps: 1.5, reading: 'log', units: 'absolute' },
      { _tag: 'Clip', lo: 0, hi: 1 },
    ],
  })
  t.is(mult.name, 'mult-custom')
  // log(x'/x) = ln 1.2·0.5·2.1875 on frame 0, nothing on frame 1
  close(t, runReference(mult, g2, x2), [0.3 * 1.2 ** (0.5 * 2.1875), 0.3])
  t.deepEqual(multiplicative({ alpha: 3 })(mult).body, mult.body, 'a multiplicative step (and its schedule) is kept')
})

test('scaleFree: a momentum is scale-free but not bounded by 1, so only under sign or normalize', (t) => {
  const m = pipe(gradient(), momentum(0.9))
  t.false(scaleFree(m))
  t.false(scaleFree(maskRegion(frames([0]))(m)))
  t.true(scaleFree(sign(m)))
  t.true(scaleFree(normalize()(m)))
  t.true(scaleFree(maskRegion(frames([0]))(sign(m))))
  t.false(scaleFree(gradient()))
})
