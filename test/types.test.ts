/**
 * The algebra's types make nonsense fail to compile. `npm test` type-checks this file first
 * (tsc --noEmit), so an `@ts-expect-error` that no longer errors fails the suite.
 */
import test from 'ava'
import { pipe } from 'fp-ts/function'
import { add, clip, exponent, gradient, iterate, multiply, projectRatio, scale, sign } from '../src/dsl/constructors.js'

test('well-typed pipelines build attack values', (t) => {
  const attack = pipe(gradient(), sign, exponent(1.01), multiply, projectRatio({ norm: 'linf', eps: 1.04 }), clip(0, 1), iterate(5))
  t.is(attack.body[0]?.update._tag, 'Multiply')
  t.is(attack.steps, 5)
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
  ]
  t.is(typeof nonsense, 'function')
})
