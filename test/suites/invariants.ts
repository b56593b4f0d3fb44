/**
 * Spec §5 invariants of the four Lp attacks, and the agreement of the interpreters and the certifier on
 * generated attacks over the whole algebra (momentum, schedules, the margin loss, per-sample targets
 * and restarts included), over generated configurations, on one backend.
 * Registered by test/invariants.<backend>.test.ts (one process per backend). Tests are serial because
 * every one of them checks tf.memory().numTensors against its baseline.
 */
import test from 'ava'
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend, type BackendName } from '../../src/backend/backend.js'
import * as attacks from '../../src/dsl/attacks.js'
import { pipe } from 'fp-ts/lib/function.js'
import { clip, crossEntropy, restartSeed, restrictTo } from '../../src/dsl/constructors.js'
import { match } from '../../src/dsl/match.js'
import type { Attack, Constraint } from '../../src/dsl/types.js'
import { runReference } from '../../src/interpreters/reference.js'
import { project } from '../../src/interpreters/tensor.js'
import {
  attackCaseArb,
  clipArb,
  constraintArb,
  gradientScaleArb,
  linearGradient,
  linearJudge,
  MAX_GRADIENT_SCALE,
  MIN_GRADIENT_SCALE,
  certificateHolds,
  regionArb,
  scenarioArb,
  type Scenario,
  signalDependent,
  staysInRange,
  withAttackRun,
  zeroIsFixed,
} from '../../src/testing/index.js'

const RUNS = { numRuns: 40 }
const close = (a: number, b: number, rtol = 1e-5, atol = 1e-6) => Math.abs(a - b) <= atol + rtol * Math.abs(b)
const f = (min: number, max: number) => fc.double({ min, max, noNaN: true })

/**
 * Gradient scales of the generated models (a factor on ∇ₓ only; their logits do not change): 1 a
 * third of the time (|∇ₓ| ~ 1e−4 … 1 per value), the ends of the range 1e−12 and 1e3 a sixth each,
 * else log-uniform over 1e−12 … 1e3. At 1e−12, |∇ₓ| is near 1e−16 … 1e−12 (the regime of real
 * models' batch-mean gradients, below wasm tf.sign's dead zone at 1.19e−7); at 1e3, near 0.1 … 600.
 */
const scales = {
  gradientScale: fc.oneof(
    { weight: 2, arbitrary: fc.constant(1) },
    { weight: 2, arbitrary: fc.constantFrom(MIN_GRADIENT_SCALE, MAX_GRADIENT_SCALE) },
    { weight: 2, arbitrary: gradientScaleArb() },
  ),
}

/**
 * Throws unless runAttack and runReference give the same x' (tolerances: float32 against float64).
 * They need not grow with the gradient scale: sign(g) and g/‖g‖ do not depend on it, and a bare g
 * enters x' with float32's relative error (≤ 3e−6 against the oracle at 1e−12 and at 1e3).
 *
 * With restarts, both keep each sample's best run, the tensor interpreter by its float32 objective, the
 * reference by the float64 judge: where two runs' objectives differ by less than float32 resolves
 * (`TIE`), the two may keep different runs. There the tensor's clip must be the reference's for the run
 * the tensor kept (`bestRun`), and that run must be best within `TIE` by the judge.
 */
const agreesWithReference = (attack: Attack, s: Scenario): Promise<void> =>
  withAttackRun(attack, s, (x, xAdv, r) => {
    const gradient = linearGradient(s.model, s.labels, attack.loss)
    const judge = linearJudge(s.model, s.labels, attack.loss)
    // searched rectangles need the model: the reference takes the masks the tensor run found; restarts
    // need a judge of each run's x': the same model, labels and loss, in float64
    const expected = runReference(attack, gradient, x, { searched: r.searched, judge })
    const per = x.data.length / x.shape[0]
    const agrees = (a: Float32Array, b: Float32Array, from: number, to: number) => {
      for (let i = from; i < to; i++) if (!close(a[i]!, b[i]!, 1e-3, 1e-4)) return i
      return -1
    }
    // the reference's runs one by one, for samples where the two kept different runs
    let runs: ReadonlyArray<Float32Array> | undefined
    const runsOf = () =>
      (runs ??= Array.from({ length: attack.restarts }, (_, k) =>
        runReference({ ...attack, restarts: 1, seed: restartSeed(attack.seed, k) }, gradient, x, { searched: r.searched }),
      ))
    for (let n = 0; n < x.shape[0]; n++) {
      const [from, to] = [n * per, (n + 1) * per]
      let bad = agrees(xAdv, expected, from, to)
      if (bad >= 0 && attack.restarts > 1) {
        const kept = r.bestRun[n]!
        const verdicts = runsOf().map((run) => judge(run)[n]!)
        const best = verdicts.reduce((a, b) => (b.success !== a.success ? (b.success ? b : a) : b.objective > a.objective ? b : a))
        const mine = verdicts[kept]!
        const tie = mine.success === best.success && mine.objective >= best.objective - TIE * Math.max(1, Math.abs(best.objective))
        if (tie) bad = agrees(xAdv, runsOf()[kept]!, from, to)
        else throw new Error(`sample ${n}: the tensor kept run ${kept} (${JSON.stringify(mine)}), the best is ${JSON.stringify(best)}`)
      }
      if (bad >= 0) {
        const largest = Math.max(...gradient(x.data).map(Math.abs))
        throw new Error(`value ${bad}: tensor ${xAdv[bad]}, reference ${expected[bad]} (max |∇ₓ| at x: ${largest.toExponential(2)})`)
      }
    }
  })

/** Objectives this close (relative, at least absolute) are a tie for a float32 interpreter: ~100 ulps. */
const TIE = 1e-5

/** The named attacks whose direction goes through sign or L2 normalisation, masked or not, on clips of geometry `g`. */
const namedAttackArb = (g: { readonly T: number; readonly H: number; readonly W: number }): fc.Arbitrary<Attack> => {
  const common = { steps: fc.integer({ min: 1, max: 3 }), randomStart: fc.boolean(), seed: fc.nat() }
  const l2 = { units: fc.constantFrom('rms' as const, 'absolute' as const), scope: fc.constantFrom('sample' as const, 'frame' as const) }
  // additive α ≥ 2e−3 and multiplicative α ≥ 1.002: a step not taken shows above the tolerances
  const lp = fc.oneof(
    fc.record({ eps: f(1e-3, 0.1), alpha: f(2e-3, 0.05), ...common }).map(attacks.addLinf),
    fc.record({ eps: f(1.001, 1.3), alpha: f(1.002, 1.1), ...common }).map(attacks.multLinf),
    fc.record({ eps: f(1e-3, 0.3), alpha: f(2e-3, 0.05), ...common, ...l2 }).map(attacks.addL2),
    fc
      .record({ eps: f(1.001, 1.3), alpha: f(1.002, 1.1), ...common, ...l2, reading: fc.constantFrom('log' as const, 'literal' as const, 'deviation' as const) })
      .map(attacks.multL2),
  )
  const rect = { height: fc.integer({ min: 1, max: g.H }), width: fc.integer({ min: 1, max: g.W }), steps: common.steps, seed: common.seed }
  const pixels = { perFrame: fc.integer({ min: 1, max: g.H * g.W }), steps: common.steps, seed: common.seed }
  return fc.oneof(
    lp,
    fc.tuple(lp, regionArb(g)).map(([a, r]) => restrictTo(r)(a)),
    fc.record({ ...rect, alpha: f(2e-3, 0.3) }).map(attacks.roa),
    fc.record({ ...rect, alpha: f(1.01, 2) }).map(attacks.multRoa),
    fc.record({ ...pixels, alpha: f(2e-3, 0.3) }).map(attacks.spa),
    fc.record({ ...pixels, alpha: f(1.01, 2) }).map(attacks.multSpa),
  )
}

/** The literal L2 ratio reading (spec §2.1), whose set need not contain x itself. */
const literalL2 = match<Constraint, boolean>({
  ProjectBall: () => false,
  ProjectRatio: (c) => c.norm === 'l2' && c.reading === 'literal',
  Clip: () => false,
})

/** Pearson correlation. */
const corr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const n = a.length
  const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, e) => s + e, 0) / n
  const [ma, mb] = [mean(a), mean(b)]
  let [sab, saa, sbb] = [0, 0, 0]
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb)
    saa += (a[i]! - ma) ** 2
    sbb += (b[i]! - mb) ** 2
  }
  return sab / Math.sqrt(saa * sbb)
}

export const registerInvariants = (backend: BackendName): void => {
  test.before(async () => {
    await initBackend(backend)
  })

  test.serial(`${backend}: the backend in use is ${backend}`, (t) => {
    t.is(tf.getBackend(), backend)
  })

  test.serial(`${backend}: Mult-L∞ keeps the ratio bound 1/ε ≤ x'/x ≤ ε after any number of steps`, async (t) => {
    await fc.assert(
      fc.asyncProperty(f(1.001, 1.3), f(1.001, 1.2), fc.integer({ min: 1, max: 8 }), fc.boolean(), scenarioArb(), async (eps, alpha, steps, randomStart, s) =>
        withAttackRun(attacks.multLinf({ eps, alpha, steps, randomStart }), s, (x, xAdv) => {
          x.data.forEach((v, i) => {
            if (v > 0) {
              const r = xAdv[i]! / v
              if (!(r <= eps * (1 + 1e-5) && r >= (1 / eps) * (1 - 1e-5))) throw new Error(`x=${v} x'=${xAdv[i]} ratio ${r} > ε=${eps}`)
            }
          })
        }),
      ),
      RUNS,
    )
    t.pass()
  })

  test.serial(`${backend}: zero pixels are a fixed point of Mult-L∞ and Mult-L2, with no NaN/Inf`, async (t) => {
    const mult = fc.oneof(
      fc.record({ eps: f(1.001, 2), alpha: f(1.001, 1.5), steps: fc.integer({ min: 1, max: 5 }), randomStart: fc.boolean() }).map(attacks.multLinf),
      fc
        .record({
          eps: f(1.001, 2),
          alpha: f(1.0001, 1.5),
          steps: fc.integer({ min: 1, max: 5 }),
          randomStart: fc.boolean(),
          reading: fc.constantFrom('log' as const, 'literal' as const, 'deviation' as const),
          units: fc.constantFrom('rms' as const, 'absolute' as const),
          scope: fc.constantFrom('sample' as const, 'frame' as const),
        })
        .map(attacks.multL2),
    )
    await fc.assert(zeroIsFixed(mult), RUNS)
    t.pass()
  })

  test.serial(`${backend}: one unclipped Mult-L∞ step is exactly x' − x = x ⊙ (α^sign(g) − 1), and log x' − log x = ln α·sign(g)`, async (t) => {
    await fc.assert(
      fc.asyncProperty(f(1.001, 1.2), scenarioArb({ max: 0.8 }, scales), async (alpha, s) => {
        const attack = attacks.multLinf({ alpha, eps: alpha * 1.5, steps: 1 })
        const g = linearGradient(s.model, s.labels, crossEntropy())(s.x.data)
        return withAttackRun(attack, s, (x, xAdv) => {
          x.data.forEach((v, i) => {
            const sg = Math.sign(g[i]!)
            if (!close(xAdv[i]! - v, v * (alpha ** sg - 1), 1e-5, 1e-7)) throw new Error(`x=${v} x'=${xAdv[i]} sign ${sg}`)
            if (v > 1e-3 && !close(Math.log(xAdv[i]!) - Math.log(v), Math.log(alpha) * sg, 1e-4, 1e-6))
              throw new Error(`log-space: x=${v} x'=${xAdv[i]} sign ${sg}`)
            if (Math.abs(xAdv[i]! - v) > (alpha - 1) * v * (1 + 1e-5) + 1e-7) throw new Error(`|x'−x| > (ε−1)x at ${i}`)
          })
        })
      }),
      { ...RUNS, includeErrorInReport: true },
    )
    t.pass()
  })

  test.serial(`${backend}: Mult-L∞ and Mult-L2 are brightness-equivariant: attack(c·x) = c·attack(x)`, async (t) => {
    const mult = fc.oneof(
      fc.record({ eps: f(1.001, 1.5), alpha: f(1.001, 1.1), steps: fc.integer({ min: 1, max: 4 }) }).map(attacks.multLinf),
      // absolute units: per-value factors stay ≤ 1.1⁴ < 2, so clips in [0, 0.5] never reach the clip at 1
      fc.record({ eps: f(1.001, 1.5), alpha: f(1.001, 1.1), steps: fc.integer({ min: 1, max: 4 }) }).map((o) => attacks.multL2({ ...o, units: 'absolute' })),
    )
    await fc.assert(signalDependent(mult), RUNS)
    t.pass()
  })

  test.serial(`${backend}: the additive step is not signal-dependent: x' − x = α·sign(g) whatever x`, async (t) => {
    await fc.assert(
      // c·x ∈ [0.01, 0.9] and α ≤ 0.005: no clipping, so the offset is exactly α·sign(g)
      fc.asyncProperty(f(0.0001, 0.005), f(0.1, 1), scenarioArb({ min: 0.1, max: 0.9, extremes: false }, scales), async (alpha, c, s) => {
        const attack = attacks.addLinf({ alpha, eps: 1, steps: 1, randomStart: false })
        const step = (data: Float32Array) =>
          withAttackRun(attack, { ...s, x: { shape: s.x.shape, data } }, (x, xAdv) => xAdv.map((v, i) => v - x.data[i]!))
        const delta = await step(s.x.data)
        const scaledDelta = await step(s.x.data.map((v) => v * c))
        // Same offset at c·x as at x (not c times it): the perturbation ignores the signal.
        delta.forEach((d, i) => {
          if (!close(Math.abs(d), alpha, 1e-4, 1e-6)) throw new Error(`|δ| = ${d} ≠ α = ${alpha}`)
          if (!close(scaledDelta[i]!, d, 1e-4, 1e-6)) throw new Error(`δ(c·x) = ${scaledDelta[i]} ≠ δ(x) = ${d}`)
        })
      }),
      { ...RUNS, includeErrorInReport: true },
    )
    t.pass()
  })

  test.serial(`${backend}: Add-L∞ and Add-L2 stay in their balls, per sample`, async (t) => {
    await fc.assert(
      fc.asyncProperty(
        f(1e-3, 0.1),
        f(1e-3, 0.1),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        fc.constantFrom('rms' as const, 'absolute' as const),
        scenarioArb(),
        async (eps, alpha, steps, randomStart, units, s) => {
          const [, T, H, W, C] = s.x.shape
          const perSample = T * H * W * C
          await withAttackRun(attacks.addLinf({ eps, alpha, steps, randomStart }), s, (x, xAdv) => {
            const worst = Math.max(...xAdv.map((v, i) => Math.abs(v - x.data[i]!)))
            if (worst > eps * (1 + 1e-5) + 1e-6) throw new Error(`‖δ‖∞ = ${worst} > ε = ${eps}`)
          })
          await withAttackRun(attacks.addL2({ eps, alpha, steps, randomStart, units }), s, (x, xAdv) => {
            const bound = units === 'rms' ? eps * Math.sqrt(perSample) : eps
            for (let n = 0; n < s.x.shape[0]; n++) {
              let sq = 0
              for (let i = n * perSample; i < (n + 1) * perSample; i++) sq += (xAdv[i]! - x.data[i]!) ** 2
              if (Math.sqrt(sq) > bound * (1 + 1e-5) + 1e-6) throw new Error(`sample ${n}: ‖δ‖₂ = ${Math.sqrt(sq)} > ${bound}`)
            }
          })
        },
      ),
      { numRuns: 30 },
    )
    t.pass()
  })

  test.serial(`${backend}: all four attacks keep x' in [0, 1]`, async (t) => {
    const any = fc.oneof(
      fc.record({ eps: f(1e-3, 0.5), alpha: f(1e-3, 0.5), steps: fc.integer({ min: 1, max: 4 }) }).map(attacks.addLinf),
      fc.record({ eps: f(1e-3, 0.5), alpha: f(1e-3, 0.5), steps: fc.integer({ min: 1, max: 4 }) }).map(attacks.addL2),
      fc.record({ eps: f(1.001, 3), alpha: f(1.001, 3), steps: fc.integer({ min: 1, max: 4 }) }).map(attacks.multLinf),
      fc.record({ eps: f(1.001, 3), alpha: f(1.001, 3), steps: fc.integer({ min: 1, max: 4 }) }).map(attacks.multL2),
    )
    await fc.assert(staysInRange(any), RUNS)
    t.pass()
  })

  test.serial(`${backend}: projections are idempotent and the identity perturbation is an exact no-op`, async (t) => {
    const shape = [1, 2, 3, 3, 3] as const
    await fc.assert(
      fc.property(
        constraintArb,
        clipArb({ shape }),
        clipArb({ shape, max: 1.5 }),
        (constraint: Constraint, xc, vc) => {
          // Each projection alone (a composition of projections onto different sets need not be one).
          const constraints = [constraint]
          const before = tf.memory().numTensors
          const x = tf.tensor5d(xc.data, [...shape])
          const v = tf.tensor5d(vc.data, [...shape])
          const once = project(constraints, x, v)
          const twice = project(constraints, x, once)
          const same = project(constraints, x, x)
          const [a, b, s] = [once.dataSync(), twice.dataSync(), same.dataSync()]
          tf.dispose([x, v, once, twice, same])
          if (tf.memory().numTensors !== before) throw new Error('tensor leak')
          a.forEach((e, i) => {
            if (!close(b[i]!, e, 1e-5, 1e-6)) throw new Error(`not idempotent at ${i}: ${e} then ${b[i]}`)
          })
          // The literal L2 reading is degenerate (spec §2.1): x itself lies outside ‖x'/x‖₂ ≤ ε when ε < √N.
          const degenerate = constraints.some(literalL2)
          if (!degenerate)
            s.forEach((e, i) => {
              if (e !== xc.data[i]) throw new Error(`identity perturbation changed value ${i}: ${xc.data[i]} → ${e}`)
            })
        },
      ),
      { numRuns: 100 },
    )
    t.pass()
  })

  test.serial(`${backend}: statistical signature: corr(|x' − x|, x) is strongly positive for Mult-L∞, near 0 for PGD-L∞`, async (t) => {
    const [s] = fc.sample(scenarioArb({ shape: [1, 4, 8, 8, 3], min: 0.05, max: 0.95, extremes: false }), { numRuns: 1, seed: 7 })
    const absDelta = (x: { data: Float32Array }, xAdv: Float32Array) => xAdv.map((v, i) => Math.abs(v - x.data[i]!))
    const mult = await withAttackRun(attacks.multLinf(), s!, (x, xAdv) => corr(absDelta(x, xAdv), x.data))
    const add = await withAttackRun(attacks.addLinf({ seed: 3 }), s!, (x, xAdv) => corr(absDelta(x, xAdv), x.data))
    t.true(mult > 0.8, `Mult-L∞ corr ${mult}`)
    t.true(Math.abs(add) < 0.15, `PGD-L∞ corr ${add}`)
  })

  test.serial(`${backend}: the tensor interpreter agrees with the reference interpreter on generated attacks, at gradient scales 1e-12 … 1e3`, async (t) => {
    await fc.assert(
      fc.asyncProperty(attackCaseArb({}, {}, scales), async ({ attack: generated, scenario: s }) => {
        // Every step ends with clip[0,1]: iterates stay where the linear model's softmax cannot
        // saturate, so float32 (tensor) and float64 (reference) see the same gradient signs.
        const attack = { ...generated, body: generated.body.map((step) => pipe(step, clip(0, 1))) }
        await agreesWithReference(attack, s)
      }),
      { numRuns: 60, includeErrorInReport: true },
    )
    t.pass()
  })

  test.serial(`${backend}: Add-L∞, Mult-L∞, Add-L2, Mult-L2 and masked attacks agree with the reference interpreter at gradient scales 1e-12 … 1e3`, async (t) => {
    const cases = fc
      .tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }))
      .chain(([N, T, H, W]) => fc.tuple(namedAttackArb({ T, H, W }), scenarioArb({ shape: [N, T, H, W, 3] }, scales)))
    await fc.assert(
      fc.asyncProperty(cases, ([attack, s]) => agreesWithReference(attack, s)),
      { numRuns: 40, includeErrorInReport: true },
    )
    t.pass()
  })

  test.serial(`${backend}: verify(certify(a)) holds on what runAttack returns, for generated attacks`, async (t) => {
    await fc.assert(
      fc.asyncProperty(attackCaseArb(), ({ attack, scenario }) => certificateHolds(attack, scenario)),
      { numRuns: 60 },
    )
    t.pass()
  })
}
