/**
 * Generator tables: one fast-check arbitrary per tag of a sort, and the union arbitrary built from
 * them. A table is a mapped type over the sort's tags (like `Rules` in src/dsl/match.ts), so a new
 * tag is a compile error until it has a generator; the union draws from every tag in `TAGS` order, so
 * a new primitive is generated, and property-tested, as soon as its entry exists.
 *
 * @example
 * import { TAGS, type Schedule } from 'multav'
 * import { fc, unionOf, type Generators } from 'multav/testing'
 * const schedules: Generators<Schedule> = {
 *   Constant: () => fc.constant({ _tag: 'Constant' as const }),
 *   Exponential: () => fc.record({ _tag: fc.constant('Exponential' as const), rate: fc.double({ min: 0.5, max: 1, noNaN: true }) }),
 *   StepDecay: () => undefined, // not drawn here
 * }
 * const scheduleArb = unionOf(TAGS.Schedule, schedules, { Constant: 2 })()
 *
 * @since 0.2.0
 */
import fc from 'fast-check'
import { InternalError } from '../../core/errors.js'
import type { Tagged, Variant } from '../../dsl/match.js'

/**
 * One generator per tag of `U`: the arbitrary of variant K in a context, or `undefined` where the
 * context admits no such variant (a recursive node at depth 0, a ring on a one-pixel frame).
 */
export type Generators<U extends Tagged, Ctx extends ReadonlyArray<unknown> = []> = {
  readonly [K in U['_tag']]: (...context: Ctx) => fc.Arbitrary<Variant<U, K>> | undefined
}

/** How often each tag is drawn, relative to the others (default 1). */
export type Weights<U extends Tagged> = { readonly [K in U['_tag']]?: number }

/**
 * The arbitrary of the union `U` in a context: a weighted choice among the tags whose generator
 * applies, in the order of `tags` (fast-check shrinks towards the first: list the simplest first).
 */
export const unionOf =
  <U extends Tagged, Ctx extends ReadonlyArray<unknown> = []>(
    tags: ReadonlyArray<U['_tag']>,
    generators: Generators<U, Ctx>,
    weights: Weights<U> = {},
  ) =>
  (...context: Ctx): fc.Arbitrary<U> => {
    const options = tags.flatMap((tag) => {
      const arbitrary = generators[tag](...context) as fc.Arbitrary<U> | undefined
      const weight = weights[tag] ?? 1
      return arbitrary === undefined || weight <= 0 ? [] : [{ weight, arbitrary }]
    })
    if (options.length === 0) throw new InternalError(`unionOf: no tag of [${tags.join(', ')}] has a generator in this context`)
    return fc.oneof(...options)
  }
