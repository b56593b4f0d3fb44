/** Wilson score intervals: published values, the edge cases, and properties over all (successes, n). */
import test from 'ava'
import fc from 'fast-check'
import { wilson } from '../src/eval/wilson.js'

const close = (a: number, b: number, tolerance: number) => Math.abs(a - b) <= tolerance

// Newcombe (1998), "Two-sided confidence intervals for the single proportion", the score method
// without continuity correction, to the 4 decimals printed there.
const PUBLISHED: ReadonlyArray<readonly [number, number, number, number]> = [
  [81, 263, 0.2553, 0.3662],
  [15, 148, 0.0624, 0.1605],
  [0, 20, 0, 0.1611],
  [1, 29, 0.0061, 0.1718],
]

// the textbook closed form (2np + z² ∓ z√(z² + 4np(1−p))) / 2(n + z²), z = 1.96, evaluated apart
// (Python, float64) to 6 decimals
const TEXTBOOK: ReadonlyArray<readonly [number, number, number, number]> = [
  [128, 240, 0.470187, 0.595429],
  [232, 240, 0.935614, 0.983015],
  [0, 1, 0, 0.793457],
  [1, 1, 0.206543, 1],
  [5, 10, 0.23659, 0.76341],
  [240, 240, 0.984246, 1],
  [0, 240, 0, 0.015754],
]

test('wilson: published and textbook values', (t) => {
  for (const [k, n, lo, hi] of PUBLISHED) {
    const [a, b] = wilson(k, n)
    t.true(close(a, lo, 5e-5) && close(b, hi, 5e-5), `${k}/${n}: [${a}, ${b}], published [${lo}, ${hi}]`)
  }
  for (const [k, n, lo, hi] of TEXTBOOK) {
    const [a, b] = wilson(k, n)
    t.true(close(a, lo, 5e-7) && close(b, hi, 5e-7), `${k}/${n}: [${a}, ${b}], textbook [${lo}, ${hi}]`)
  }
})

test('wilson: n = 0 has no interval; 0 and n successes reach 0 and 1 exactly; bad arguments are RangeErrors', (t) => {
  t.true(wilson(0, 0).every(Number.isNaN))
  t.deepEqual(JSON.parse(JSON.stringify(wilson(0, 0))), [null, null])
  t.is(wilson(0, 7)[0], 0)
  t.is(wilson(7, 7)[1], 1)
  t.throws(() => wilson(3, 2), { instanceOf: RangeError, message: 'wilson: successes must be an integer from 0 to n = 2, got 3' })
  t.throws(() => wilson(1.5, 2), { instanceOf: RangeError, message: /successes must be an integer/ })
  t.throws(() => wilson(0, -1), { instanceOf: RangeError, message: 'wilson: n must be an integer ≥ 0, got -1' })
  t.throws(() => wilson(1, 2, 0), { instanceOf: RangeError, message: 'wilson: z must be a finite number > 0, got 0' })
})

const counts = fc.integer({ min: 1, max: 5000 }).chain((n) => fc.tuple(fc.integer({ min: 0, max: n }), fc.constant(n)))

test('wilson: inside [0, 1], around the estimate, symmetric, narrower with more trials, wider with larger z', (t) => {
  fc.assert(
    fc.property(counts, ([k, n]) => {
      const [lo, hi] = wilson(k, n)
      const p = k / n
      const [mlo, mhi] = wilson(n - k, n)
      const [lo4, hi4] = wilson(4 * k, 4 * n)
      const [lo99, hi99] = wilson(k, n, 2.576)
      return (
        lo >= 0 && hi <= 1 && lo <= p + 1e-12 && p <= hi + 1e-12 && hi > lo &&
        close(lo, 1 - mhi, 1e-12) && close(hi, 1 - mlo, 1e-12) &&
        hi4 - lo4 < hi - lo &&
        lo99 <= lo + 1e-12 && hi99 >= hi - 1e-12
      )
    }),
  )
  t.pass()
})
