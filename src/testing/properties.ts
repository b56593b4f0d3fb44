/**
 * Ready-made properties for attack values, to run with `fc.assert` in any test runner:
 *
 * @example
 * import { attacks, initBackend } from 'multav'
 * import { fc, respectsCertificate } from 'multav/testing'
 * await initBackend('cpu')
 * await fc.assert(respectsCertificate(attacks.multLinf()), { numRuns: 3 })
 *
 * Each property runs the tensor interpreter on generated clips against a small linear model (whose
 * gradient sign field does not depend on x'), and fails with a message naming what broke. Each also
 * checks that no tensor is left behind. A given attack runs on batches of as many clips as its
 * `TargetedEach` labels; a generated one has its labels fitted to each batch (`fitBatch`).
 *
 * @since 0.1.0
 */
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import type { Attack } from '../dsl/types.js'
import { verify } from '../interpreters/certify.js'
import type { ClipData } from '../core/clip.js'
import { runAttack, type AttackResult } from '../interpreters/tensor.js'
import { batchOf, fitBatch, scenarioArb, toModel, type ClipConstraints, type Scenario } from './arbitraries.js'

type AttackSource = Attack | fc.Arbitrary<Attack>

/** An arbitrary by its shape (an `instanceof` would miss another copy of fast-check). */
const isArbitrary = (a: AttackSource): a is fc.Arbitrary<Attack> => typeof (a as Partial<fc.Arbitrary<Attack>>).generate === 'function'

/**
 * The property `check` over attacks from `a` and scenarios on clips as `clips` asks. A given attack's
 * scenarios have as many clips as its `TargetedEach` labels; a generated attack's labels are cycled or
 * cut to the batch it runs on (`fitBatch`).
 */
const over = <A extends ReadonlyArray<unknown>>(
  a: AttackSource,
  clips: ClipConstraints,
  more: { [K in keyof A]: fc.Arbitrary<A[K]> },
  check: (attack: Attack, s: Scenario, ...rest: A) => Promise<void>,
) => {
  if (isArbitrary(a))
    return fc.asyncProperty(a, scenarioArb(clips), ...more, (attack: Attack, s: Scenario, ...rest: A) =>
      check(fitBatch(attack, s.x.shape[0]), s, ...rest),
    )
  const N = batchOf(a)
  return fc.asyncProperty(fc.constant(a), scenarioArb(N === undefined ? clips : { ...clips, N }), ...more, check)
}

/**
 * Runs `attack` on a scenario, hands the clean and adversarial clips to `check`, disposes everything,
 * and fails if the number of live tensors changed.
 */
export const withAttackRun = async <T>(
  attack: Attack,
  s: Scenario,
  check: (x: ClipData, xAdv: Float32Array, result: AttackResult) => T,
): Promise<T> => {
  const before = tf.memory().numTensors
  const x = tf.tensor5d(s.x.data, [...s.x.shape])
  try {
    const result = await runAttack(attack, toModel(s.model), x, s.labels)
    const xAdv = (await result.adversarial.data()) as Float32Array
    result.adversarial.dispose()
    return check(s.x, xAdv, result)
  } finally {
    x.dispose()
    const after = tf.memory().numTensors
    if (after !== before) throw new Error(`tensor leak: ${after - before} tensors left behind (${before} → ${after})`)
  }
}

/** Throws unless `verify(certify(a), x, x')` is empty for the clip the tensor interpreter returns. */
export const certificateHolds = (attack: Attack, s: Scenario): Promise<void> =>
  withAttackRun(attack, s, (x, xAdv, r) => {
    const violations = verify(r.certificate, x, { shape: x.shape, data: xAdv }, { searched: r.searched })
    if (violations.length > 0) throw new Error(`certificate violated:\n  ${violations.map((v) => v.message).join('\n  ')}`)
  })

/**
 * `verify(certify(a), x, x')` finds no violation on the clip the tensor interpreter returns.
 * For attacks with regions, pass `clips.shape` so that the clips fit them.
 */
export const respectsCertificate = (attack: AttackSource, clips: ClipConstraints = {}) =>
  over(attack, clips, [], certificateHolds)

/** x = 0 ⇒ x' = 0, and no NaN/Inf anywhere (every multiplicative attack). */
export const zeroIsFixed = (attack: AttackSource, clips: ClipConstraints = {}) =>
  over(attack, { ...clips, extremes: true }, [], (a, s) =>
    withAttackRun(a, s, (x, xAdv) => {
      const bad = xAdv.findIndex((v, i) => !Number.isFinite(v) || (x.data[i] === 0 && v !== 0))
      if (bad >= 0) throw new Error(`value ${bad}: x = ${x.data[bad]}, x' = ${xAdv[bad]}`)
    }),
  )

/** x' ∈ [0, 1] everywhere. */
export const staysInRange = (attack: AttackSource, clips: ClipConstraints = {}) =>
  over(attack, clips, [], (a, s) =>
    withAttackRun(a, s, (_x, xAdv) => {
      const bad = xAdv.findIndex((v) => !(v >= 0 && v <= 1))
      if (bad >= 0) throw new Error(`value ${bad}: x' = ${xAdv[bad]} outside [0, 1]`)
    }),
  )

/**
 * Signal dependence: for c ∈ (0, 1], attack(c·x) = c·attack(x) (relative tolerance `rtol`). Holds for
 * multiplicative attacks with sign or normalised directions while no clip is active, so clips are
 * drawn in [0, `maxPixel`] (default 0.5): keep the attack's total ratio below 1/maxPixel.
 */
export const signalDependent = (attack: AttackSource, options: { readonly maxPixel?: number; readonly rtol?: number } = {}) =>
  over(
    attack,
    { max: options.maxPixel ?? 0.5 },
    [fc.double({ min: 0.1, max: 1, noNaN: true })],
    async (a, s, c: number) => {
      const base = await withAttackRun(a, s, (_x, xAdv) => xAdv)
      const scaled: Scenario = { ...s, x: { shape: s.x.shape, data: s.x.data.map((v) => v * c) } }
      const out = await withAttackRun(a, scaled, (_x, xAdv) => xAdv)
      const rtol = options.rtol ?? 1e-4
      const bad = out.findIndex((v, i) => Math.abs(v - c * base[i]!) > rtol * Math.abs(c * base[i]!) + 1e-7)
      if (bad >= 0) throw new Error(`value ${bad}: attack(c·x) = ${out[bad]} but c·attack(x) = ${c * base[bad]!} (c = ${c})`)
    },
  )
