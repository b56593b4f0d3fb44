/**
 * The algebra's types make nonsense fail to compile. `npm test` type-checks this file first
 * (tsc --noEmit), so an `@ts-expect-error` that no longer errors fails the suite.
 */
import test from 'ava'
import { pipe } from 'fp-ts/function'
import {
  add,
  clip,
  exponent,
  exponentialDecay,
  gradient,
  iterate,
  margin,
  momentum,
  multiply,
  projectBall,
  projectRatio,
  scale,
  sign,
  targetedEach,
  withLoss,
  withRestarts,
  withTarget,
} from '../src/dsl/constructors.js'

test('well-typed pipelines build attack values', (t) => {
  const attack = pipe(gradient(), sign, exponent(1.01), multiply, projectRatio({ norm: 'linf', eps: 1.04 }), clip(0, 1), iterate(5))
  t.is(attack.body[0]?.update._tag, 'Multiply')
  t.is(attack.steps, 5)
  t.is(attack.restarts, 1)
})

test('the extensions compose in the same pipelines: momentum, schedules, margin, per-sample targets, restarts', (t) => {
  const miFgsm = pipe(
    gradient(),
    momentum(1),
    sign,
    scale(1 / 255, { schedule: exponentialDecay(0.9) }),
    add,
    projectBall({ norm: 'linf', eps: 4 / 255 }),
    clip(0, 1),
    iterate(10),
    withLoss(pipe(margin({ confidence: 5 }), withTarget({ _tag: 'Targeted', label: 2 }))),
    withRestarts(3),
  )
  t.deepEqual(miFgsm.body[0]?.update, {
    _tag: 'Add',
    offset: { _tag: 'Scale', alpha: 1 / 255, units: 'absolute', schedule: { _tag: 'Exponential', rate: 0.9 }, of: sign(momentum(1)(gradient())) },
  })
  t.deepEqual(miFgsm.loss, { _tag: 'Margin', target: { _tag: 'Targeted', label: 2 }, confidence: 5 })
  t.is(miFgsm.restarts, 3)
  t.deepEqual(targetedEach([1, 0]), { _tag: 'CrossEntropy', target: { _tag: 'TargetedEach', labels: [1, 0] } })
})

test('nonsense does not compile', (t) => {
  // Never called: only type-checked (running these would fail, which is the point).
  const nonsense = () => [
    // @ts-expect-error multiplying by an additive offset
    pipe(gradient(), sign, scale(1 / 255), multiply),
    // @ts-expect-error adding a multiplicative factor
    pipe(gradient(), sign, exponent(1.01), add),
    // @ts-expect-error a constraint on a direction (no update yet)
    pipe(gradient(), sign, clip(0, 1)),
    // @ts-expect-error iterating a bare direction
    pipe(gradient(), iterate(5)),
    // @ts-expect-error scaling an offset again (α·(β·d) must be written as one scale)
    pipe(gradient(), scale(2), scale(3)),
    // @ts-expect-error momentum of an offset (it accumulates directions)
    pipe(gradient(), scale(2), momentum(0.9)),
    // @ts-expect-error a direction where a schedule goes
    scale(2, { schedule: gradient() }),
    // @ts-expect-error restarting a step (restarts are an attack's)
    pipe(gradient(), sign, scale(1), add, withRestarts(2)),
    // @ts-expect-error a target where a loss goes
    withLoss({ _tag: 'Targeted', label: 1 }),
  ]
  t.is(typeof nonsense, 'function')
})
