/**
 * The extensions' invariants (momentum, schedules, the margin loss, per-sample targets, restarts), over
 * generated configurations and data, on the cpu backend (the agreement with the reference interpreter
 * and verify(certify(a)) over generated attacks with these nodes run on cpu and wasm in
 * test/invariants.*.test.ts). Serial: every run checks tf.memory().numTensors against its baseline.
 */
import test from 'ava'
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import { pipe } from 'fp-ts/lib/function.js'
import { initBackend } from '../src/backend/backend.js'
import { isMultavError } from '../src/core/errors.js'
import {
  add,
  clean,
  clip,
  constant,
  exponent,
  exponentialDecay,
  gradient,
  iterate,
  maskRegion,
  momentum,
  multiply,
  projectBall,
  projectRatio,
  restartSeed,
  scale,
  sign,
  stepDecay,
  uniform,
  withRestarts,
} from '../src/dsl/constructors.js'
import * as E from 'fp-ts/lib/Either.js'
import { decodeAttack, encodeAttack } from '../src/dsl/codec.js'
import { match } from '../src/dsl/match.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { scheduleAt } from '../src/dsl/schedule.js'
import type { Attack, Direction, Loss, Region, Schedule, Step, Target, Update } from '../src/dsl/types.js'
import {
  attackCaseArb,
  certificateHolds,
  gradientScaleArb,
  linearGradient,
  linearJudge,
  lossArb,
  regionArb,
  scenarioArb,
  scheduleArb,
  shapeArb,
  targetArb,
  toModel,
  type Scenario,
} from '../src/testing/index.js'

const f = (min: number, max: number) => fc.double({ min, max, noNaN: true })
const close = (a: number, b: number, rtol: number, atol: number) => Math.abs(a - b) <= atol + rtol * Math.abs(b)

/** Gradient scales: 1, the ends 1e−12 and 1e3, or log-uniform between (as test/suites/invariants.ts). */
const scales = {
  gradientScale: fc.oneof(fc.constant(1), fc.constantFrom(1e-12, 1e3), gradientScaleArb()),
}

/** What a run returned, read back; the tensors are disposed, and the count of live tensors checked. */
interface Outcome {
  readonly xAdv: Float32Array
  readonly success: ReadonlyArray<boolean>
  readonly loss: number
  readonly losses: ReadonlyArray<number>
  readonly bestRun: ReadonlyArray<number>
}

const outcome = async (attack: Attack, s: Scenario): Promise<Outcome> => {
  const losses: number[] = []
  const before = tf.memory().numTensors
  const x = tf.tensor5d(s.x.data, [...s.x.shape])
  try {
    const r = await runAttack(attack, toModel(s.model), x, s.labels, { onStep: ({ loss }) => void losses.push(loss) })
    const xAdv = (await r.adversarial.data()) as Float32Array
    r.adversarial.dispose()
    return { xAdv, success: r.success, loss: r.loss, losses, bestRun: r.bestRun }
  } finally {
    x.dispose()
    const after = tf.memory().numTensors
    if (after !== before) throw new Error(`tensor leak: ${after - before} tensors left behind`)
  }
}

const firstMismatch = (a: Float32Array, b: Float32Array, rtol = 0, atol = 1e-7): number => a.findIndex((v, i) => !close(v, b[i]!, rtol, atol))

/** Cases of clips in [lo, hi] without exact ends (no clip acts), of generated shapes. */
const interior = (lo: number, hi: number) => scenarioArb({ min: lo, max: hi, extremes: false }, scales)

/** Sets every step's schedule. */
const withSchedule = (schedule: Schedule) =>
  match<Update, Update>({
    Add: (u) => ({ ...u, offset: { ...u.offset, schedule } }),
    Multiply: (u) => ({ ...u, factor: { ...u.factor, schedule } }),
  })

const mapUpdates = (attack: Attack, f: (u: Update) => Update): Attack => ({
  ...attack,
  body: attack.body.map((s): Step => ({ ...s, update: f(s.update) })),
})

test.before(async () => {
  await initBackend('cpu')
})

// -------------------------------------------------------------------------------------------------
// momentum
// -------------------------------------------------------------------------------------------------

test.serial('momentum follows m ← μ·m + d/mean|d| per sample and per body step, m₀ = 0 (by hand, float64)', async (t) => {
  // Unconstrained additive steps of the raw momentum of g on clips in [0.2, 0.8]: |g|/mean|g| ≤ 10 for
  // these models, so with μ ≤ 2, 4 steps and |α| ≤ 5e−4 x' moves < 0.13 and no clip acts.
  const body = fc.array(fc.record({ alpha: fc.oneof(f(1e-4, 5e-4), f(-5e-4, -1e-4)), decay: fc.oneof(fc.constantFrom(0, 1), f(0, 2)) }), {
    minLength: 1,
    maxLength: 2,
  })
  await fc.assert(
    fc.asyncProperty(body, fc.integer({ min: 1, max: 4 }), interior(0.2, 0.8), async (steps, count, s) => {
      const attack = pipe(
        steps.map(({ alpha, decay }) => pipe(gradient(), momentum(decay), scale(alpha), add)),
        iterate(count),
      )
      const oracle = linearGradient(s.model, s.labels, attack.loss)
      const [N] = s.x.shape
      const per = s.x.data.length / N
      const state = steps.map(() => new Float64Array(s.x.data.length))
      let xk = Float32Array.from(s.x.data)
      for (let i = 0; i < count; i++) {
        const j = i % steps.length
        const g = oracle(xk)
        const m = state[j]!
        for (let n = 0; n < N; n++) {
          let mean = 0
          for (let v = n * per; v < (n + 1) * per; v++) mean += Math.abs(g[v]!) / per
          for (let v = n * per; v < (n + 1) * per; v++) m[v] = steps[j]!.decay * m[v]! + (mean > 0 ? g[v]! / mean : 0)
        }
        xk = Float32Array.from(xk, (e, v) => e + steps[j]!.alpha * m[v]!)
      }
      const { xAdv } = await outcome(attack, s)
      const bad = xAdv.findIndex((v, i) => !close(v - s.x.data[i]!, xk[i]! - s.x.data[i]!, 1e-3, 2e-6))
      if (bad >= 0) throw new Error(`value ${bad}: x' − x = ${xAdv[bad]! - s.x.data[bad]!}, by hand ${xk[bad]! - s.x.data[bad]!}`)
    }),
    { numRuns: 40, includeErrorInReport: true },
  )
  t.pass()
})

/** The signed attacks' configuration. */
interface Signed {
  readonly multiplicative: boolean
  readonly alpha: number
  readonly eps: number
  readonly steps: number
  readonly schedule: Schedule
  readonly randomStart: boolean
  readonly loss: Loss
  readonly seed: number
}

/**
 * MI-FGSM-style attacks: direction d under the L∞ ball (additive, α, ε, random start or clean) or
 * the L∞ ratio bound (multiplicative, 1 + α, 1 + ε, clean start), then clip[0, 1].
 */
const signedAttack = (o: Signed, d: Direction): Attack =>
  o.multiplicative
    ? pipe(d, exponent(1 + o.alpha, { schedule: o.schedule }), multiply, projectRatio({ norm: 'linf', eps: 1 + o.eps }), clip(0, 1), iterate(o.steps, { loss: o.loss, seed: o.seed }))
    : pipe(
        d,
        scale(o.alpha, { schedule: o.schedule }),
        add,
        projectBall({ norm: 'linf', eps: o.eps }),
        clip(0, 1),
        iterate(o.steps, { loss: o.loss, seed: o.seed, init: o.randomStart ? uniform({ norm: 'linf', eps: o.eps }) : clean() }),
      )

/** x' within the signed attack's bound of x: |x' − x| ≤ ε, or x/(1 + ε) ≤ x' ≤ x·(1 + ε) (zeros fixed). */
const withinBound = (o: Signed, x: number, xAdv: number): boolean =>
  o.multiplicative
    ? xAdv <= x * (1 + o.eps) * (1 + 1e-5) && xAdv >= (x / (1 + o.eps)) * (1 - 1e-5)
    : Math.abs(xAdv - x) <= o.eps * (1 + 1e-5) + 1e-6

interface SignedCase {
  readonly o: Signed
  readonly decay: number
  readonly region: Region | null
  readonly s: Scenario
}

/** The signed attacks' cases: configuration, a decay, a region to mask with (or none), the scenario. */
const signedCases = (losses: (N: number) => fc.Arbitrary<Loss>, decays: fc.Arbitrary<number>): fc.Arbitrary<SignedCase> =>
  shapeArb({ maxN: 3 }).chain(([N, T, H, W, C]) =>
    fc.record({
      o: fc.record({
        multiplicative: fc.boolean(),
        alpha: f(1e-3, 0.05),
        eps: f(1e-3, 0.1),
        steps: fc.integer({ min: 1, max: 5 }),
        schedule: scheduleArb,
        randomStart: fc.boolean(),
        loss: losses(N),
        seed: fc.nat(),
      }),
      decay: decays,
      region: fc.option(regionArb({ T, H, W }), { nil: null }),
      s: scenarioArb({ shape: [N, T, H, W, C] }, scales),
    }),
  )

/** sign(momentum_μ(g)) and sign(g), masked alike, give the same x'; the momentum attack keeps its bound and its certificate. */
const momentumAgrees = async ({ o, decay, region, s }: SignedCase): Promise<void> => {
  const masked = (d: Direction) => (region === null ? d : maskRegion(region)(d))
  const withMomentum = signedAttack(o, masked(sign(momentum(decay)(gradient()))))
  const base = await outcome(signedAttack(o, masked(sign(gradient()))), s)
  const mi = await outcome(withMomentum, s)
  const bad = firstMismatch(mi.xAdv, base.xAdv, 0, 1e-6)
  if (bad >= 0) throw new Error(`value ${bad}: sign(momentum_${decay}(g)) gives ${mi.xAdv[bad]}, sign(g) ${base.xAdv[bad]}`)
  const out = s.x.data.findIndex((v, i) => !withinBound(o, v, mi.xAdv[i]!))
  if (out >= 0) throw new Error(`value ${out}: x = ${s.x.data[out]}, x' = ${mi.xAdv[out]} outside the bound ε = ${o.eps}`)
  await certificateHolds(withMomentum, s)
}

test.serial('sign(momentum₀(g)) ≡ sign(g), and its attacks keep their L∞ and ratio bounds and certificates, for every loss', async (t) => {
  await fc.assert(
    fc.asyncProperty(signedCases((N) => lossArb({ batch: N }), fc.constant(0)), momentumAgrees),
    { numRuns: 40, includeErrorInReport: true },
  )
  t.pass()
})

test.serial('sign(momentum_μ(g)) ≡ sign(g) for every μ ∈ [0, 2] where the gradient sign field is constant and g ≠ 0 (linear models, cross-entropy)', async (t) => {
  // every term d/mean|d| has the sign of g, so has m = Σ μ^(k−j)·d_j/mean|d_j| (the margin's capped g = 0 would not do)
  const crossEntropy = (N: number) => targetArb({ batch: N }).map((target): Loss => ({ _tag: 'CrossEntropy', target }))
  await fc.assert(
    fc.asyncProperty(signedCases(crossEntropy, fc.oneof(fc.constantFrom(0, 1), f(0, 2))), momentumAgrees),
    { numRuns: 40, includeErrorInReport: true },
  )
  t.pass()
})

// -------------------------------------------------------------------------------------------------
// schedules
// -------------------------------------------------------------------------------------------------

/** The iterates x'_0 = x, x'_1, …, x'_S of `attack(k)` run for k = 1 … S steps (the schedule's s_i does not depend on S). */
const iterates = async (attack: (k: number) => Attack, S: number, s: Scenario): Promise<ReadonlyArray<Float32Array>> => {
  const out = [s.x.data]
  for (let k = 1; k <= S; k++) out.push((await outcome(attack(k), s)).xAdv)
  return out
}

const ceLoss = (N: number): fc.Arbitrary<Loss> => targetArb({ batch: N }).map((target): Loss => ({ _tag: 'CrossEntropy', target }))

/** A scenario of generated shape and a cross-entropy loss for its batch. */
const withCeLoss = (clips: Parameters<typeof scenarioArb>[0]) =>
  scenarioArb(clips, scales).chain((s) => fc.tuple(fc.constant(s), ceLoss(s.x.shape[0])))

test.serial('schedules: an unconstrained signed step at iteration i moves x\' by exactly α·s_i·sign(g) (additive), or multiplies it by α^(s_i·sign(g))', async (t) => {
  // clips in [0.2, 0.8], |α| ≤ 0.02 or α ≤ 1.05, ≤ 4 steps: no clip acts; the models' sign(g) is the same at every x'
  const config = fc.oneof(
    fc.record({ multiplicative: fc.constant(false), alpha: fc.oneof(f(1e-3, 0.02), f(-0.02, -1e-3)) }),
    fc.record({ multiplicative: fc.constant(true), alpha: f(1.001, 1.05) }),
  )
  await fc.assert(
    fc.asyncProperty(config, scheduleArb, fc.integer({ min: 1, max: 4 }), withCeLoss({ min: 0.2, max: 0.8, extremes: false }), async (c, schedule, S, [s, loss]) => {
      const attack = (k: number) =>
        c.multiplicative
          ? pipe(gradient(), sign, exponent(c.alpha, { schedule }), multiply, iterate(k, { loss }))
          : pipe(gradient(), sign, scale(c.alpha, { schedule }), add, iterate(k, { loss }))
      const xs = await iterates(attack, S, s)
      const sg = linearGradient(s.model, s.labels, loss)(s.x.data).map(Math.sign)
      for (let k = 0; k < S; k++) {
        const sk = scheduleAt(schedule, k)
        const [from, to] = [xs[k]!, xs[k + 1]!]
        const expected = (i: number) => (c.multiplicative ? from[i]! * c.alpha ** (sk * sg[i]!) : from[i]! + c.alpha * sk * sg[i]!)
        const bad = to.findIndex((v, i) => !close(v, expected(i), 1e-5, 2e-7))
        if (bad >= 0) throw new Error(`iteration ${k} (s = ${sk}), value ${bad}: ${from[bad]} → ${to[bad]}, expected ${expected(bad)}`)
      }
    }),
    { numRuns: 30, includeErrorInReport: true },
  )
  t.pass()
})

test.serial('schedules: under per-value projections (clip, L∞ ball, L∞ ratio) a step at iteration i ≥ 1 moves each value by at most |α|·s_i (additive), or a factor α^(±s_i)', async (t) => {
  // x'_i already lies in the (convex, per-value) constraint set, and projecting onto it is 1-Lipschitz
  // per value (in log x' for the ratio bound): |x'_{i+1} − x'_i| ≤ |α·s_i·d| ≤ |α|·s_i with |d| ≤ 1 for
  // sign, sign∘momentum and L2-normalised d. Iteration 0 too when the start is clean (x'_0 = x).
  const directions = fc.oneof(
    fc.constant(sign(gradient())),
    fc.oneof(fc.constantFrom(0, 1), f(0, 2)).map((mu) => sign(momentum(mu)(gradient()))),
    fc.constant<Direction>({ _tag: 'Normalize', norm: 'l2', scope: 'sample', of: { _tag: 'Gradient' } }),
  )
  const config = fc.record({
    multiplicative: fc.boolean(),
    alpha: f(1e-3, 0.1),
    negative: fc.boolean(),
    eps: f(1e-3, 0.2),
    randomStart: fc.boolean(),
    clipFirst: fc.boolean(),
    project: fc.boolean(),
  })
  await fc.assert(
    fc.asyncProperty(config, directions, scheduleArb, fc.integer({ min: 1, max: 4 }), withCeLoss({}), async (c, d, schedule, S, [s, loss]) => {
      const projection = c.multiplicative ? projectRatio({ norm: 'linf', eps: 1 + c.eps }) : projectBall({ norm: 'linf', eps: c.eps })
      const constrain = (step: Step): Step => {
        const projected = c.project ? projection(step) : step
        return c.clipFirst ? projection(clip(0, 1)(step)) : clip(0, 1)(projected)
      }
      const init = c.randomStart ? (c.multiplicative ? { _tag: 'UniformRatio' as const, eps: 1 + c.eps } : uniform({ norm: 'linf', eps: c.eps })) : clean()
      const alpha = c.multiplicative ? 1 + c.alpha : c.negative ? -c.alpha : c.alpha
      const attack = (k: number) =>
        c.multiplicative
          ? pipe(d, exponent(alpha, { schedule }), multiply, constrain, iterate(k, { loss, init }))
          : pipe(d, scale(alpha, { schedule }), add, constrain, iterate(k, { loss, init }))
      const xs = await iterates(attack, S, s)
      for (let k = c.randomStart ? 1 : 0; k < S; k++) {
        const sk = scheduleAt(schedule, k)
        const [from, to] = [xs[k]!, xs[k + 1]!]
        const bad = to.findIndex((v, i) =>
          c.multiplicative
            ? !(v <= from[i]! * alpha ** sk * (1 + 1e-5) + 1e-30 && v >= (from[i]! / alpha ** sk) * (1 - 1e-5))
            : !(Math.abs(v - from[i]!) <= Math.abs(alpha) * sk * (1 + 1e-5) + 1e-6),
        )
        if (bad >= 0) throw new Error(`iteration ${k} (s = ${sk}), value ${bad}: ${from[bad]} → ${to[bad]}, α = ${alpha}`)
      }
    }),
    { numRuns: 40, includeErrorInReport: true },
  )
  t.pass()
})

test.serial('schedules: Constant, Exponential(1), StepDecay(every, 1) and StepDecay(every ≥ steps, factor) run the same attack; the default (no schedule, in a constructor or a spec) is Constant', async (t) => {
  t.deepEqual(scale(0.01)(gradient()).schedule, constant())
  t.deepEqual(exponent(1.01)(gradient()).schedule, constant())
  const cases = attackCaseArb({ maxRestarts: 1 }, {}, scales).chain(({ attack, scenario }) =>
    fc.tuple(
      fc.constant(attack),
      fc.constant(scenario),
      fc.constantFrom<Schedule>(exponentialDecay(1), { _tag: 'StepDecay', every: 1, factor: 1 }),
      fc.integer({ min: attack.steps, max: attack.steps + 3 }).chain((every) => f(1e-3, 1).map((factor) => stepDecay({ every, factor }))),
    ),
  )
  await fc.assert(
    fc.asyncProperty(cases, async ([attack, s, one, late]) => {
      const constantly = mapUpdates(attack, withSchedule(constant()))
      // no schedule in a spec reads as Constant (and Constant is left out of the encoding)
      const json = JSON.stringify(encodeAttack(constantly))
      if (json.includes('"schedule"')) throw new Error(`Constant schedules encoded: ${json}`)
      const back = decodeAttack(JSON.parse(json))
      if (!E.isRight(back) || JSON.stringify(back.right) !== JSON.stringify(constantly)) throw new Error(`a spec without schedules decodes to ${JSON.stringify(back)}`)
      const base = await outcome(constantly, s)
      for (const schedule of [one, late]) {
        const other = await outcome(mapUpdates(attack, withSchedule(schedule)), s)
        const bad = firstMismatch(other.xAdv, base.xAdv, 0, 1e-7)
        if (bad >= 0) throw new Error(`${JSON.stringify(schedule)}: value ${bad} is ${other.xAdv[bad]}, ${base.xAdv[bad]} with Constant`)
      }
    }),
    { numRuns: 30, includeErrorInReport: true },
  )
  t.pass()
})

// -------------------------------------------------------------------------------------------------
// the margin loss
// -------------------------------------------------------------------------------------------------

/** K-class linear models with weights in ±4/D and biases in [−2, 2]: logits spread over about ±6. */
const randomModelArb = (D: number, K: number) =>
  fc
    .tuple(fc.array(f(-1, 1), { minLength: D * K, maxLength: D * K }), fc.array(f(-2, 2), { minLength: K, maxLength: K }))
    .map(([w, b]) => ({ D, K, weights: Float32Array.from(w, (v) => (v * 4) / D), bias: Float32Array.from(b) }))

/** The margin by its definition: max_{j≠c} z_j − z_c away from c, z_c − max_{j≠c} z_j towards it; min(·, κ). */
const marginByHand = (z: ReadonlyArray<number>, c: number, towards: boolean, kappa: number | null): number => {
  const other = Math.max(...z.filter((_, j) => j !== c))
  const m = towards ? z[c]! - other : other - z[c]!
  return kappa === null ? m : Math.min(m, kappa)
}

/** Per sample, the class a target reads and whether the attack pushes towards it. */
const aim = match<Target, { readonly goal: ReadonlyArray<number>; readonly towards: boolean }, [labels: ReadonlyArray<number>]>({
  Untargeted: (_, labels) => ({ goal: labels, towards: false }),
  Targeted: ({ label }, labels) => ({ goal: labels.map(() => label), towards: true }),
  TargetedEach: ({ labels }) => ({ goal: labels, towards: true }),
})

test.serial('margin: the objective runAttack reports is the mean of min(max_{j≠y} z_j − z_y, κ) (or z_t − max_{j≠t} z_j) on random logits, and never above κ', async (t) => {
  const cases = shapeArb({ maxN: 3 }).chain(([N, T, H, W, C]) =>
    fc.integer({ min: 2, max: 5 }).chain((K) =>
      fc.record({
        x: scenarioArb({ shape: [N, T, H, W, C] }).map((s) => s.x),
        labels: fc.array(fc.integer({ min: 0, max: K - 1 }), { minLength: N, maxLength: N }),
        model: randomModelArb(T * H * W * C, K),
        target: targetArb({ classes: K, batch: N }),
        confidence: fc.option(fc.oneof(f(0, 2), f(0, 10)), { nil: null }),
        alpha: f(0, 0.05),
        steps: fc.integer({ min: 1, max: 3 }),
      }),
    ),
  )
  await fc.assert(
    fc.asyncProperty(cases, async ({ x, labels, model, target, confidence, alpha, steps }) => {
      const loss: Loss = { _tag: 'Margin', target, confidence }
      const s: Scenario = { x, labels, model }
      const r = await outcome(pipe(gradient(), sign, scale(alpha), add, clip(0, 1), iterate(steps, { loss })), s)
      const { goal, towards } = aim(target, labels)
      const [N] = x.shape
      const judged = linearJudge(model, labels, loss)(r.xAdv)
      const byHand = Array.from({ length: N }, (_, n) => {
        const z = Array.from(model.bias, (b, k) => {
          let v = b
          for (let d = 0; d < model.D; d++) v += r.xAdv[n * model.D + d]! * model.weights[d * model.K + k]!
          return v
        })
        return marginByHand(z, goal[n]!, towards, confidence)
      })
      byHand.forEach((m, n) => {
        if (!close(judged[n]!.objective, m, 1e-9, 1e-9)) throw new Error(`linearJudge: sample ${n} objective ${judged[n]!.objective}, by hand ${m}`)
      })
      const mean = byHand.reduce((a, b) => a + b, 0) / N
      if (!close(r.loss, mean, 1e-4, 1e-5)) throw new Error(`runAttack's objective ${r.loss}, by hand ${mean} (per sample ${byHand.join(', ')})`)
      const cap = confidence ?? Infinity
      const above = [r.loss, ...r.losses].find((l) => !(l <= cap + 1e-5))
      if (above !== undefined) throw new Error(`objective ${above} above κ = ${cap}`)
    }),
    { numRuns: 50, includeErrorInReport: true },
  )
  t.pass()
})

// -------------------------------------------------------------------------------------------------
// per-sample targets
// -------------------------------------------------------------------------------------------------

test.serial('TargetedEach with every label l runs as Targeted(l), for both losses', async (t) => {
  const cases = attackCaseArb({}, {}, scales).chain(({ attack, scenario }) => fc.tuple(fc.constant(attack), fc.constant(scenario), fc.integer({ min: 0, max: 1 })))
  await fc.assert(
    fc.asyncProperty(cases, async ([attack, s, label]) => {
      const aimed = (target: Target): Attack => ({ ...attack, loss: { ...attack.loss, target } })
      const one = await outcome(aimed({ _tag: 'Targeted', label }), s)
      const each = await outcome(aimed({ _tag: 'TargetedEach', labels: s.labels.map(() => label) }), s)
      const bad = firstMismatch(each.xAdv, one.xAdv, 0, 1e-7)
      if (bad >= 0) throw new Error(`value ${bad}: TargetedEach ${each.xAdv[bad]}, Targeted ${one.xAdv[bad]}`)
      if (JSON.stringify(each.success) !== JSON.stringify(one.success)) throw new Error(`success ${each.success} ≠ ${one.success}`)
      if (!close(each.loss, one.loss, 1e-6, 1e-7)) throw new Error(`objective ${each.loss} ≠ ${one.loss}`)
    }),
    { numRuns: 30, includeErrorInReport: true },
  )
  t.pass()
})

test.serial('TargetedEach with fewer or more labels than clips: an InputError naming both numbers', async (t) => {
  const [s] = fc.sample(scenarioArb({ shape: [2, 1, 2, 2, 3] }), { numRuns: 1, seed: 11 })
  const before = tf.memory().numTensors
  const x = tf.tensor5d(s!.x.data, [...s!.x.shape])
  for (const labels of [[1], [0, 1, 1]]) {
    const attack = pipe(gradient(), sign, scale(0.01), add, iterate(2, { loss: { _tag: 'CrossEntropy', target: { _tag: 'TargetedEach', labels } } }))
    const error = await t.throwsAsync(runAttack(attack, toModel(s!.model), x, s!.labels))
    t.true(isMultavError(error) && error.kind === 'input', String(error))
    t.regex(error!.message, new RegExp(`\\b${labels.length}\\b[^]*\\b2\\b|\\b2\\b[^]*\\b${labels.length}\\b`))
  }
  x.dispose()
  t.is(tf.memory().numTensors, before)
})

// -------------------------------------------------------------------------------------------------
// restarts
// -------------------------------------------------------------------------------------------------

test.serial('restarts: an attack that draws nothing at random runs the same with 1, 2 or 3 restarts (all runs tie, the first is kept)', async (t) => {
  const cases = scenarioArb({}, scales).chain((s) =>
    fc.tuple(fc.constant(s), lossArb({ batch: s.x.shape[0] }), f(1e-3, 0.05), f(1e-3, 0.1), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 3 })),
  )
  await fc.assert(
    fc.asyncProperty(cases, async ([s, loss, alpha, eps, steps, R]) => {
      const attack = pipe(gradient(), sign, scale(alpha), add, projectBall({ norm: 'linf', eps }), clip(0, 1), iterate(steps, { loss }))
      const once = await outcome(attack, s)
      const again = await outcome(withRestarts(R)(attack), s)
      const bad = firstMismatch(again.xAdv, once.xAdv, 0, 1e-7)
      if (bad >= 0) throw new Error(`value ${bad}: ${R} restarts ${again.xAdv[bad]}, one run ${once.xAdv[bad]}`)
      if (JSON.stringify(again.success) !== JSON.stringify(once.success)) throw new Error(`success ${again.success} ≠ ${once.success}`)
    }),
    { numRuns: 20, includeErrorInReport: true },
  )
  t.pass()
})

test.serial('restarts: each sample of the returned clip is that of one run, the best: successful first, then the highest objective (so never worse than run 0)', async (t) => {
  const cases = attackCaseArb({ maxRestarts: 1 }, {}, scales).chain(({ attack, scenario }) =>
    fc.tuple(fc.constant(attack), fc.constant(scenario), fc.integer({ min: 2, max: 3 })),
  )
  await fc.assert(
    fc.asyncProperty(cases, async ([attack, s, R]) => {
      const judge = linearJudge(s.model, s.labels, attack.loss)
      const runs = []
      for (let r = 0; r < R; r++) runs.push(await outcome({ ...attack, seed: restartSeed(attack.seed, r) }, s))
      const best = await outcome(withRestarts(R)(attack), s)
      const [N] = s.x.shape
      const per = s.x.data.length / N
      const objectives = runs.map((run) => judge(run.xAdv).map((j) => j.objective))
      const returned = judge(best.xAdv).map((j) => j.objective)
      for (let n = 0; n < N; n++) {
        const slice = (v: Float32Array) => v.subarray(n * per, (n + 1) * per)
        const from = best.bestRun[n]!
        if (!(from >= 0 && from < R) || firstMismatch(slice(best.xAdv), slice(runs[from]!.xAdv), 1e-6, 1e-6) >= 0)
          throw new Error(`sample ${n}: the returned clip is not that of run ${from}, its bestRun`)
        if (best.success[n] !== runs[from]!.success[n]) throw new Error(`sample ${n}: success ${best.success[n]}, run ${from}'s ${runs[from]!.success[n]}`)
        runs.forEach((run, r) => {
          const worse = run.success[n]! && !best.success[n]!
          const lower = run.success[n] === best.success[n] && returned[n]! < objectives[r]![n]! - (1e-5 * Math.abs(objectives[r]![n]!) + 1e-6)
          if (worse || lower)
            throw new Error(`sample ${n}: kept run ${from} (success ${best.success[n]}, objective ${returned[n]}) over run ${r} (success ${run.success[n]}, objective ${objectives[r]![n]})`)
        })
      }
    }),
    { numRuns: 30, includeErrorInReport: true },
  )
  t.pass()
})
