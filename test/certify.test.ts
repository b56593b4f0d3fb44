/** certify: exact certificates by abstract interpretation; verify: exact violation messages on hand-built clips. */
import test from 'ava'
import fc from 'fast-check'
import { pipe } from 'fp-ts/function'
import * as attacks from '../src/dsl/attacks.js'
import {
  add,
  box,
  clip,
  exponent,
  exponentialDecay,
  fill,
  frames,
  gradient,
  iterate,
  margin,
  maskRegion,
  momentum,
  multiply,
  normalize,
  projectBall,
  projectRatio,
  rect,
  restartSeed,
  restrictTo,
  scale,
  sign,
  stepDecay,
  targetedEach,
  uniform,
  uniformRatio,
  withLoss,
  withRestarts,
} from '../src/dsl/constructors.js'
import type { Attack, Direction } from '../src/dsl/types.js'
import { certify, describeCertificate, verify, type Certificate } from '../src/interpreters/certify.js'
import { batchMask } from '../src/interpreters/regions.js'
import { clipArb } from '../src/testing/arbitraries.js'

const ASSUMPTIONS = ['the clean clip x lies in [0, 1]']
/** The certificate less its reasons (asserted separately). */
const bounds = (c: Certificate) => {
  const { reasons: _reasons, ...rest } = c
  return rest
}

// -------------------------------------------------------------------------------------------------
// certify: the built-ins
// -------------------------------------------------------------------------------------------------

test('Add-L∞: range, L∞ ball ε (and its L2 consequence ε·√N), no ratio, zeros move, support everywhere', (t) => {
  const c = certify(attacks.addLinf())
  t.deepEqual(bounds(c), {
    attack: 'add-linf',
    seed: 0,
    restarts: 1,
    range: { lo: 0, hi: 1 },
    ballLinf: 4 / 255,
    ballL2: { abs: 0, rms: 4 / 255 },
    ratioLinf: null,
    ratioL2: null,
    zeroFixed: false,
    support: { _tag: 'Everywhere' },
    assumptions: ASSUMPTIONS,
  })
  t.deepEqual(c.reasons, [
    'no L∞ ratio bound: the step adds an additive offset after which no ratio projection follows',
    'no L2 ratio bound: the step adds an additive offset after which no ratio projection follows',
    'zero pixels may change: the step adds an additive offset, which moves zero pixels, and no ratio projection follows',
    "every pixel may change: the step's update is not masked",
  ])
})

test('Mult-L∞: ratio bound ε, zeros fixed, range [0, 1], and the implied |x′ − x| ≤ ε − 1 and ‖log(x′/x)‖₂ ≤ ln ε·√N', (t) => {
  const c = certify(attacks.multLinf())
  t.deepEqual(bounds(c), {
    attack: 'mult-linf',
    seed: 0,
    restarts: 1,
    range: { lo: 0, hi: 1 },
    ballLinf: 1.04 - 1,
    ballL2: { abs: 0, rms: 1.04 - 1 },
    ratioLinf: 1.04,
    ratioL2: { reading: 'log', bound: { abs: 0, rms: Math.log(1.04) } },
    zeroFixed: true,
    support: { _tag: 'Everywhere' },
    assumptions: ASSUMPTIONS,
  })
  t.deepEqual(c.reasons, ["every pixel may change: the step's update is not masked"])
})

test('Add-L2: the per-value (rms) L2 ball 0.13·√N; no L∞ ball from an rms step', (t) => {
  const c = certify(attacks.addL2())
  t.deepEqual(c.ballL2, { abs: 0, rms: 0.13 })
  t.is(c.ballLinf, null)
  t.deepEqual(c.range, { lo: 0, hi: 1 })
  t.is(c.reasons[0], "no L∞ ball: the step's offset follows a per-value (rms) step α·√N, with no per-value bound, and no L∞ ball projection follows")
  // absolute units: the L2 radius also bounds every value (‖δ‖∞ ≤ ‖δ‖₂)
  const abs = certify(attacks.addL2({ units: 'absolute', eps: 0.5, alpha: 0.1 }))
  t.deepEqual([abs.ballL2, abs.ballLinf], [{ abs: 0.5, rms: 0 }, 0.5])
})

test('Mult-L2: a log-ratio L2 bound in rms units — the projection radius ln 1.32·√N, or the steps’ own total when smaller', (t) => {
  const big = certify(attacks.multL2({ alpha: 1.5 }))
  t.deepEqual(big.ratioL2, { reading: 'log', bound: { abs: 0, rms: Math.log(1.32) } })
  t.true(big.zeroFixed)
  t.is(big.ratioLinf, null)
  // the defaults (α = 1.002 rms, 5 steps) move ‖log(x'/x)‖₂ by at most 5·ln 1.002·√N < ln 1.32·√N
  const five = [1, 2, 3, 4, 5].reduce((s) => s + Math.log(1.002), 0)
  t.deepEqual(certify(attacks.multL2()).ratioL2, { reading: 'log', bound: { abs: 0, rms: five } })
  t.deepEqual(certify(attacks.multL2({ reading: 'deviation', alpha: 1.5 })).ratioL2, { reading: 'deviation', bound: { abs: 0, rms: 1.32 } })
})

// -------------------------------------------------------------------------------------------------
// certify: transfer rules
// -------------------------------------------------------------------------------------------------

test('without a projection the ratio grows as α^steps, and so do the bounds it implies', (t) => {
  const c = certify(pipe(gradient(), sign, exponent(1.01), multiply, iterate(5)))
  const eps = [1, 2, 3, 4, 5].reduce((r) => r * Math.exp(Math.log(1.01)), 1)
  t.is(c.ratioLinf, eps)
  t.true(Math.abs(eps - 1.01 ** 5) < 1e-12)
  t.is(c.ballLinf, eps - 1)
  t.deepEqual(c.range, { lo: 0, hi: eps }) // zeros fixed and x ≤ 1: x' = r·x ≤ ε
  t.is(c.ratioL2?.reading, 'log')
  t.is(c.ratioL2?.bound.abs, 0)
  t.true(Math.abs(c.ratioL2!.bound.rms - 5 * Math.log(1.01)) < 1e-15)
  t.true(c.zeroFixed)
})

test('an additive step without projection or clip: the ball grows, the range follows it, and reasons name the step', (t) => {
  const c = certify(pipe(gradient(), sign, scale(0.01), add, iterate(3)))
  t.is(c.ballLinf, 0.01 + 0.01 + 0.01)
  t.deepEqual(c.range, { lo: -0.03, hi: 1.03 })
  t.deepEqual(c.reasons, [
    'no L∞ ratio bound: the step adds an additive offset after which no ratio projection follows',
    'no L2 ratio bound: the step adds an additive offset after which no ratio projection follows',
    'zero pixels may change: the step adds an additive offset, which moves zero pixels, and no ratio projection follows',
    "every pixel may change: the step's update is not masked",
  ])
  const raw = certify(pipe(gradient(), scale(0.01), add, iterate(1)))
  t.deepEqual([raw.ballLinf, raw.ballL2, raw.range], [null, null, null])
  t.deepEqual(raw.reasons.slice(0, 3), [
    'no range: the step adds an offset and no clip follows',
    "no L∞ ball: the step's offset follows the raw gradient, with no per-value bound, and no L∞ ball projection follows",
    "no L2 ball: the step's offset has no L2 bound independent of the clip size, and no L2 ball projection follows",
  ])
})

test('the literal L2 reading is no contraction: it drops the balls and the support, keeps the range with 0', (t) => {
  const c = certify(
    pipe(gradient(), sign, scale(0.01), add, projectBall({ norm: 'linf', eps: 0.03 }), projectRatio({ norm: 'l2', eps: 5, reading: 'literal' }), iterate(2)),
  )
  t.deepEqual(bounds(c), {
    attack: 'custom',
    seed: 0,
    restarts: 1,
    range: { lo: -0.03, hi: 1.03 },
    ballLinf: null,
    ballL2: null,
    ratioLinf: null,
    ratioL2: { reading: 'literal', bound: { abs: 5, rms: 0 } },
    zeroFixed: true,
    support: { _tag: 'Everywhere' },
    assumptions: ASSUMPTIONS,
  })
  const why = "the step's literal L2 ratio projection (constraint 1) scales x'/x toward 0, which moves pixels away from x"
  t.deepEqual(c.reasons, [`no L∞ ball: ${why}`, `no L2 ball: ${why}`, `no L∞ ratio bound: ${why}`, `every pixel may change: ${why}`])
  // a later contraction cannot keep a literal bound: moving x'/x toward 1 can raise ‖x'/x‖₂
  const then = certify(pipe(gradient(), sign, exponent(1.1), multiply, projectRatio({ norm: 'l2', eps: 5, reading: 'literal' }), clip(0, 1), iterate(1)))
  t.is(then.ratioL2, null)
  t.true(then.reasons.includes("no L2 ratio bound: the step's clip to [0, 1] (constraint 1) moves x'/x toward 1, which can raise the literal ‖x'/x‖₂"))
})

test('a clip narrower than [0, 1] drops the bounds it breaks and says why', (t) => {
  const c = certify(pipe(gradient(), sign, exponent(1.01), multiply, projectRatio({ norm: 'linf', eps: 1.04 }), clip(0.1, 0.9), iterate(3)))
  t.deepEqual(c.range, { lo: 0.1, hi: 0.9 })
  t.deepEqual([c.ballLinf, c.ballL2, c.ratioLinf, c.ratioL2, c.zeroFixed, c.support], [null, null, null, null, false, { _tag: 'Everywhere' }])
  const why = "the step's clip to [0.1, 0.9] (constraint 1) is narrower than [0, 1], so it moves clean pixels"
  t.deepEqual(c.reasons, [
    `no L∞ ball: ${why}`,
    `no L2 ball: ${why}`,
    `no L∞ ratio bound: ${why}`,
    `no L2 ratio bound: ${why}`,
    "zero pixels may change: the step's clip to [0.1, 0.9] (constraint 1) moves zero pixels",
    `every pixel may change: ${why}`,
  ])
  // clip[0, 0.5] keeps the zeros
  t.true(certify(pipe(gradient(), sign, exponent(1.01), multiply, projectRatio({ norm: 'linf', eps: 1.04 }), clip(0, 0.5), iterate(1))).zeroFixed)
})

test('masked updates give a support: unions over steps, intersections of nested masks', (t) => {
  const region = box({ top: 0, left: 0, height: 2, width: 2 })
  const a = pipe(gradient(), sign, maskRegion(region), exponent(1.1), multiply, clip(0, 1))
  const b = pipe(gradient(), sign, maskRegion(frames([1])), scale(0.01), add, clip(0, 1))
  const c = certify(iterate(3)([a, b]))
  t.deepEqual(c.support, { _tag: 'Regions', regions: [region, frames([1])] })
  t.false(c.zeroFixed)
  t.is(c.ratioLinf, null)
  const nested = certify(pipe(attacks.multLinf(), restrictTo(frames([0, 1])), restrictTo(region)))
  t.deepEqual(nested.support, { _tag: 'Regions', regions: [{ _tag: 'Intersection', regions: [region, frames([0, 1])] }] })
  t.deepEqual(certify(pipe(attacks.addLinf(), restrictTo(frames([1])))).support, { _tag: 'Regions', regions: [frames([1])] })
})

test('ROA: a filled start and unbounded steps give the range and the support, not a ball', (t) => {
  const c = certify(attacks.roa())
  const rect = { _tag: 'Rect', height: 30, width: 30, placement: 'perFrame' } as const
  t.deepEqual([c.range, c.ballLinf, c.zeroFixed, c.support], [{ lo: 0, hi: 1 }, null, false, { _tag: 'Regions', regions: [rect] }])
  t.is(c.reasons[0], 'no L∞ ball: the accumulated bound 1.87255 is no tighter than the range [0, 1] implies (1)')
  const multRoa = certify(attacks.multRoa())
  t.deepEqual([multRoa.ratioLinf, multRoa.zeroFixed, multRoa.support], [32, true, { _tag: 'Regions', regions: [rect] }])
})

test('random starts: additive L2, multiplicative, filled', (t) => {
  const only = (init: Attack['init']) => certify(iterate(0, { init })(pipe(gradient(), sign, scale(0), add)))
  const l2 = only(uniform({ norm: 'l2', eps: 0.5 }))
  t.deepEqual([l2.ballLinf, l2.ballL2, l2.range, l2.zeroFixed], [0.5, { abs: 0.5, rms: 0 }, { lo: 0, hi: 1 }, false])
  const rms = only(uniform({ norm: 'l2', eps: 0.1, units: 'rms', region: frames([0]) }))
  t.deepEqual([rms.ballLinf, rms.ballL2, rms.support], [null, { abs: 0, rms: 0.1 }, { _tag: 'Regions', regions: [frames([0])] }])
  const ratio = only(uniformRatio({ eps: 1.1 }))
  t.deepEqual([ratio.ratioLinf, ratio.zeroFixed, ratio.ballLinf, ratio.range], [1.1, true, 1.1 - 1, { lo: 0, hi: 1 }])
  const grey = only(fill(0.5, box({ top: 0, left: 0, height: 1, width: 1 })))
  t.deepEqual([grey.ballLinf, grey.ballL2, grey.zeroFixed], [0.5, { abs: 0, rms: 0.5 }, false])
  const black = only(fill(0, frames([0])))
  t.deepEqual([black.ballLinf, black.zeroFixed, black.ratioLinf], [null, true, null])
  t.is(black.reasons[0], 'no L∞ ball: the accumulated bound 1 is no tighter than the range [0, 1] implies (1)')
  const clean = only({ _tag: 'Clean' })
  t.deepEqual([clean.ballLinf, clean.ratioLinf, clean.support, clean.reasons], [0, 1, { _tag: 'Nothing' }, []])
})

test('direction bounds: per-frame normalisation is ≤ √N in L2; an rms step of a √N direction has no L2 bound', (t) => {
  const frame = certify(pipe(gradient(), normalize({ scope: 'frame' }), scale(0.1), add, clip(0, 1), iterate(2)))
  t.deepEqual([frame.ballLinf, frame.ballL2], [0.1 + 0.1, { abs: 0, rms: 0.1 + 0.1 }])
  const rmsSign = certify(pipe(gradient(), sign, scale(0.01, { units: 'rms' }), add, clip(0, 1), iterate(1)))
  t.is(rmsSign.ballL2, null)
  t.true(rmsSign.reasons.includes("no L2 ball: the step's offset has no L2 bound independent of the clip size, and no L2 ball projection follows"))
  // an L2 projection after an incomparable bound sets its own
  const l2 = certify(pipe(gradient(), normalize(), scale(0.5), add, projectBall({ norm: 'l2', eps: 0.1, units: 'rms' }), iterate(1)))
  t.deepEqual(l2.ballL2, { abs: 0, rms: 0.1 })
})

test('iterations cycle through the body; a long run equals a short one once the state is a fixed point', (t) => {
  const bounded = pipe(gradient(), sign, exponent(1.01), multiply, projectRatio({ norm: 'linf', eps: 1.04 }), clip(0, 1))
  const shift = pipe(gradient(), sign, scale(0.01), add, clip(0, 1))
  const run = (steps: number) => certify(iterate(steps)([bounded, shift]))
  t.is(run(5).ratioLinf, 1.04) // iteration 4 runs body[0]: the ratio projection comes last
  t.is(run(4).ratioLinf, null) // iteration 3 runs body[1]: an additive step comes last
  t.deepEqual(run(100_001), run(5))
  t.deepEqual(run(100_000), run(4))
})

// -------------------------------------------------------------------------------------------------
// verify
// -------------------------------------------------------------------------------------------------

const clipOf = (data: number[], shape: readonly number[] = [1, 1, 1, 2, 2]) => ({ shape, data: Float32Array.from(data) })
const none: Certificate = {
  attack: 'hand-made',
  seed: 0,
  range: null,
  ballLinf: null,
  ballL2: null,
  ratioLinf: null,
  ratioL2: null,
  zeroFixed: false,
  support: { _tag: 'Everywhere' },
  reasons: [],
  assumptions: [],
  restarts: 1,
}
/** verify's messages (the structured fields are asserted separately). */
const messages = (...args: Parameters<typeof verify>) => verify(...args).map((v) => v.message)
const x = clipOf([0, 0.5, 0.25, 1])

test('verify: range', (t) => {
  const c = { ...none, range: { lo: 0, hi: 1 } }
  t.deepEqual(messages(c, x, clipOf([0, 1, 0, 1])), [])
  t.deepEqual(messages(c, x, clipOf([0, 1.5, -0.25, 1])), ["range [0, 1] violated at [0,0,0,0,1]: x'=1.5 (2 values)"])
})

test('verify: L∞ ball', (t) => {
  const c = { ...none, ballLinf: 0.1 }
  t.deepEqual(messages(c, x, clipOf([0.1, 0.4, 0.35, 0.9])), [])
  t.deepEqual(messages(c, x, clipOf([0.05, 0.75, 0.25, 0.5])), ["L∞ ball ε=0.1 violated at [0,0,0,0,1]: x=0.5, x'=0.75, |x'−x|=0.25 (2 values)"])
})

test('verify: L2 ball per sample, absolute and per value (rms)', (t) => {
  const two = clipOf([0, 0.5, 0.25, 1, 0, 0.5, 0.25, 1], [2, 1, 1, 2, 2])
  t.deepEqual(messages({ ...none, ballL2: { abs: 0.25, rms: 0 } }, two, clipOf([0, 0.5, 0.25, 0.75, 0, 0.5, 0.25, 1], [2, 1, 1, 2, 2])), [])
  t.deepEqual(messages({ ...none, ballL2: { abs: 0.1, rms: 0 } }, two, clipOf([0, 0.5, 0.25, 0.75, 0, 0.5, 0.25, 1], [2, 1, 1, 2, 2])), [
    "L2 ball ‖x'−x‖₂ ≤ 0.1 violated by sample 0: ‖x'−x‖₂=0.25 (1 sample)",
  ])
  // 0.125·√4 = 0.25
  t.deepEqual(messages({ ...none, ballL2: { abs: 0, rms: 0.125 } }, x, clipOf([0, 0.5, 0.25, 0.75])), [])
  t.deepEqual(messages({ ...none, ballL2: { abs: 0, rms: 0.1 } }, x, clipOf([0, 0.5, 0.25, 0.75])), [
    "L2 ball ‖x'−x‖₂ ≤ 0.1·√N = 0.2 (N=4) violated by sample 0: ‖x'−x‖₂=0.25 (1 sample)",
  ])
})

test('verify: L∞ ratio bound where x > 0, including x′ ≤ 0', (t) => {
  const c = { ...none, ratioLinf: 1.04 }
  t.deepEqual(messages(c, x, clipOf([0.3, 0.52, 0.25 / 1.04, 0.99])), [])
  t.deepEqual(messages(c, x, clipOf([0, 0.53, 0.25, 1])), ["ratio bound ε=1.04 violated at [0,0,0,0,1]: x=0.5, x'=0.53, ratio 1.06 (1 value)"])
  t.deepEqual(messages(c, x, clipOf([0, 0.5, -0.25, 0])), ["ratio bound ε=1.04 violated at [0,0,0,1,0]: x=0.25, x'=-0.25, ratio -1 (2 values)"])
})

test('verify: zero fixed point', (t) => {
  t.deepEqual(messages({ ...none, zeroFixed: true }, x, clipOf([0, 0.9, 0, 0])), [])
  t.deepEqual(messages({ ...none, zeroFixed: true }, x, clipOf([0.01, 0.5, 0.25, 1])), ["zero fixed point violated at [0,0,0,0,0]: x=0, x'=0.01 (1 value)"])
})

test('verify: L2 ratio bound in each reading (ratio 1 where x = 0)', (t) => {
  const xAdv = clipOf([0.7, 0.5, 0.25, 0.5]) // ratios 1 (x = 0), 1, 1, 0.5
  const reading = (r: 'log' | 'literal' | 'deviation', abs: number) => ({ ...none, ratioL2: { reading: r, bound: { abs, rms: 0 } } })
  t.deepEqual(messages(reading('log', 0.7), x, xAdv), [])
  t.deepEqual(messages(reading('log', 0.5), x, xAdv), ["L2 ratio bound (log) ‖log(x'/x)‖₂ ≤ 0.5 violated by sample 0: 0.693147 (1 sample)"])
  t.deepEqual(messages(reading('deviation', 0.5), x, xAdv), [])
  t.deepEqual(messages(reading('deviation', 0.4), x, xAdv), ["L2 ratio bound (deviation) ‖x'/x − 1‖₂ ≤ 0.4 violated by sample 0: 0.5 (1 sample)"])
  t.deepEqual(messages(reading('literal', 1.5), x, xAdv), []) // √(1 + 1 + 0.25) over x > 0
  t.deepEqual(messages(reading('literal', 1.4), x, xAdv), ["L2 ratio bound (literal) ‖x'/x‖₂ ≤ 1.4 violated by sample 0: 1.5 (1 sample)"])
  t.deepEqual(messages({ ...none, ratioL2: { reading: 'log', bound: { abs: 0, rms: 0.3 } } }, x, xAdv), [
    "L2 ratio bound (log) ‖log(x'/x)‖₂ ≤ 0.3·√N = 0.6 (N=4) violated by sample 0: 0.693147 (1 sample)",
  ])
})

test('verify: support — bit-identical outside the regions (or everywhere for Nothing)', (t) => {
  const regions = { ...none, support: { _tag: 'Regions' as const, regions: [box({ top: 0, left: 0, height: 1, width: 1 })] } }
  t.deepEqual(messages(regions, x, clipOf([0.3, 0.5, 0.25, 1])), [])
  t.deepEqual(messages(regions, x, clipOf([0, 0.5, 0.25, 0.9999999])), [
    "x' ≠ x outside the support (box 1x1 @(0,0)) at [0,0,0,1,1]: x=1, x'=0.9999999 (1 value)",
  ])
  const nothing = { ...none, support: { _tag: 'Nothing' as const } }
  t.deepEqual(messages(nothing, x, clipOf([0, 0.5, 0.25, 1])), [])
  t.deepEqual(messages(nothing, x, clipOf([0, 0.5, 0.26, 1])), ["x' ≠ x outside the support (nothing) at [0,0,0,1,0]: x=0.25, x'=0.26 (1 value)"])
  // frames{1} of a [1, 2, 1, 1, 2] clip: frame 0 must not change
  const frameSupport = { ...none, support: { _tag: 'Regions' as const, regions: [frames([1])] } }
  const x2 = clipOf([0.1, 0.2, 0.3, 0.4], [1, 2, 1, 1, 2])
  t.deepEqual(messages(frameSupport, x2, clipOf([0.1, 0.2, 0.9, 0.9], [1, 2, 1, 1, 2])), [])
  t.deepEqual(messages(frameSupport, x2, clipOf([0.1, 0.25, 0.9, 0.9], [1, 2, 1, 1, 2])), [
    "x' ≠ x outside the support (frames{1}) at [0,0,0,0,1]: x=0.2, x'=0.25 (1 value)",
  ])
})

test('verify: shapes, non-finite values and the assumption x ∈ [0, 1]', (t) => {
  t.deepEqual(messages(none, x, { shape: [1, 1, 1, 4, 1], data: new Float32Array(4) }), [
    "shapes must be equal [N, T, H, W, C], got x [1, 1, 1, 2, 2] and x' [1, 1, 1, 4, 1]",
  ])
  t.deepEqual(messages(none, clipOf([0, 0.5, 0.25, 1], [4]), clipOf([0, 0.5, 0.25, 1], [4])), [
    "shapes must be equal [N, T, H, W, C], got x [4] and x' [4]",
  ])
  t.deepEqual(messages(none, x, { shape: [1, 1, 1, 2, 2], data: new Float32Array(3) }), ["shape [1, 1, 1, 2, 2] holds 4 values, but x has 4 and x' 3"])
  t.deepEqual(messages(none, x, clipOf([0, Number.NaN, 0.25, Infinity])), ["x' is not finite at [0,0,0,0,1]: NaN (2 values)"])
  t.deepEqual(messages(none, clipOf([0, 1.5, 0.25, 1]), clipOf([0, 1.5, 0.25, 1])), ['assumption x ∈ [0, 1] violated at [0,0,0,0,1]: x=1.5 (1 value)'])
})

test('verify: tolerances — bound·(1 + rtol) + atol', (t) => {
  const c = { ...none, ballLinf: 0.1 }
  const xAdv = clipOf([0.1000005, 0.5, 0.25, 1])
  t.deepEqual(messages(c, x, xAdv), [])
  t.deepEqual(messages(c, x, xAdv, { rtol: 0, atol: 0 }), ["L∞ ball ε=0.1 violated at [0,0,0,0,0]: x=0, x'=0.1000005, |x'−x|=0.100001 (1 value)"])
})

test('verify reads anything with dataSync (a tfjs tensor), duck-typed', (t) => {
  const tensor = (data: number[]) => ({ shape: [1, 1, 1, 2, 2], dataSync: () => Float32Array.from(data), data: async () => Float32Array.from(data) })
  t.deepEqual(messages({ ...none, ratioLinf: 1.04 }, tensor([0, 0.5, 0.25, 1]), tensor([0, 0.52, 0.25, 0.99])), [])
  t.deepEqual(messages({ ...none, ratioLinf: 1.04 }, tensor([0, 0.5, 0.25, 1]), tensor([0, 0.53, 0.25, 1])), [
    "ratio bound ε=1.04 violated at [0,0,0,0,1]: x=0.5, x'=0.53, ratio 1.06 (1 value)",
  ])
})

test('verify reads real tfjs tensors, and leaves none behind', async (t) => {
  const tf = await import('@tensorflow/tfjs-core')
  const { initBackend } = await import('../src/backend/backend.js')
  await initBackend('cpu')
  const before = tf.memory().numTensors
  const xt = tf.tensor5d(x.data, [1, 1, 1, 2, 2])
  const broken = tf.tensor5d([0.01, 0.5, 0.25, 1], [1, 1, 1, 2, 2])
  t.deepEqual(messages({ ...none, zeroFixed: true }, xt, broken), ["zero fixed point violated at [0,0,0,0,0]: x=0, x'=0.01 (1 value)"])
  tf.dispose([xt, broken])
  t.is(tf.memory().numTensors, before)
})

test('verify(certify(Mult-L∞)) holds for any ratio-bounded x′ = clip(x·r), and fails once one value is pushed past ε', (t) => {
  fc.assert(
    fc.property(
      fc.double({ min: 1.001, max: 1.05, noNaN: true }),
      clipArb({ shape: [2, 2, 3, 3, 3] }), // exact zeros and ones among the values
      fc.infiniteStream(fc.double({ min: -1, max: 1, noNaN: true })),
      fc.nat(),
      (eps, xc, us, pick) => {
        const c = certify(attacks.multLinf({ eps }))
        const u = us[Symbol.iterator]()
        const adv = xc.data.map((v) => Math.min(1, v * Math.exp(Math.log(eps) * (u.next().value as number))))
        if (verify(c, xc, { shape: xc.shape, data: adv }).length !== 0) return false
        const broken = Float32Array.from(adv)
        const positive = Array.from(xc.data).flatMap((v, i) => (v > 0 ? [i] : []))
        if (positive.length === 0) {
          broken[pick % broken.length] = 0.01
          return verify(c, xc, { shape: xc.shape, data: broken }).some((v) => v.bound === 'zeroFixed' && v.message.startsWith('zero fixed point violated'))
        }
        const i = positive[pick % positive.length]!
        broken[i] = xc.data[i]! / (eps * 1.001)
        return verify(c, xc, { shape: xc.shape, data: broken }).some((v) => v.bound === 'ratioLinf' && v.message.startsWith(`ratio bound ε=`))
      },
    ),
    { numRuns: 300 },
  )
  t.pass()
})

test('verify: violations are records — the guarantee, the first offender, how many, the measured value and its limit', (t) => {
  t.deepEqual(verify({ ...none, range: { lo: 0, hi: 1 } }, x, clipOf([0, 1.5, -0.25, 1])), [
    { bound: 'range', sample: 0, index: [0, 0, 0, 0, 1], count: 2, got: 1.5, allowed: 1, message: "range [0, 1] violated at [0,0,0,0,1]: x'=1.5 (2 values)" },
  ])
  t.deepEqual(verify({ ...none, range: { lo: 0, hi: 1 } }, x, clipOf([-0.25, 0.5, 0.25, 1]))[0]?.allowed, 0) // the end that is crossed
  const [linf] = verify({ ...none, ballLinf: 0.1 }, x, clipOf([0.05, 0.75, 0.25, 0.5]))
  t.like(linf, { bound: 'ballLinf', sample: 0, index: [0, 0, 0, 0, 1], count: 2, got: 0.25, allowed: 0.1 })
  const [ratio] = verify({ ...none, ratioLinf: 1.04 }, x, clipOf([0, 0.53, 0.25, 1]))
  t.like(ratio, { bound: 'ratioLinf', index: [0, 0, 0, 0, 1], count: 1, got: Math.fround(0.53) / 0.5, allowed: 1.04 })
  t.is(verify({ ...none, ratioLinf: 1.04 }, x, clipOf([0, 0.5, -0.25, 0]))[0]?.got, Infinity) // x' ≤ 0 where x > 0
  t.like(verify({ ...none, zeroFixed: true }, x, clipOf([0.01, 0.5, 0.25, 1]))[0], { bound: 'zeroFixed', got: Math.fround(0.01), allowed: 0 })
  const two = clipOf([0, 0.5, 0.25, 1, 0, 0.5, 0.25, 1], [2, 1, 1, 2, 2])
  const [l2] = verify({ ...none, ballL2: { abs: 0.1, rms: 0 } }, two, clipOf([0, 0.5, 0.25, 1, 0, 0.5, 0.25, 0.75], [2, 1, 1, 2, 2]))
  t.deepEqual(l2, {
    bound: 'ballL2',
    sample: 1,
    count: 1,
    got: 0.25,
    allowed: 0.1,
    message: "L2 ball ‖x'−x‖₂ ≤ 0.1 violated by sample 1: ‖x'−x‖₂=0.25 (1 sample)",
  })
  // a per-value (rms) bound is evaluated at this clip's N: 0.3·√4
  const [logRatio] = verify({ ...none, ratioL2: { reading: 'log', bound: { abs: 0, rms: 0.3 } } }, x, clipOf([0.7, 0.5, 0.25, 0.5]))
  t.like(logRatio, { bound: 'ratioL2', sample: 0, count: 1, got: Math.log(2), allowed: 0.6 })
  const [support] = verify({ ...none, support: { _tag: 'Nothing' } }, x, clipOf([0, 0.5, 0.26, 1]))
  t.like(support, { bound: 'support', sample: 0, index: [0, 0, 0, 1, 0], count: 1, got: Math.fround(0.26) })
  t.deepEqual(verify(none, x, { shape: [1, 1, 1, 4, 1], data: new Float32Array(4) }), [
    { bound: 'shape', message: "shapes must be equal [N, T, H, W, C], got x [1, 1, 1, 2, 2] and x' [1, 1, 1, 4, 1]" },
  ])
  t.like(verify(none, x, clipOf([0, Number.NaN, 0.25, Infinity]))[0], { bound: 'finite', index: [0, 0, 0, 0, 1], count: 2, got: Number.NaN })
  t.like(verify(none, clipOf([0, 1.5, 0.25, 1]), clipOf([0, 1.5, 0.25, 1]))[0], { bound: 'assumption', count: 1, got: 1.5 })
})

// -------------------------------------------------------------------------------------------------
// certify: momentum, schedules, margin and per-sample targets, restarts
// -------------------------------------------------------------------------------------------------

test('momentum under a sign or a normalisation keeps the bounds of the sign or the normalisation (MI-FGSM)', (t) => {
  // multiplicative MI-FGSM: the certificate of Mult-L∞'s step, L∞ ratio, zeros, implied balls and all
  const multiplicative = (d: Direction) =>
    certify(pipe(d, sign, exponent(1.01), multiply, projectRatio({ norm: 'linf', eps: 1.04 }), clip(0, 1), iterate(5)))
  t.deepEqual(multiplicative(pipe(gradient(), momentum(0.9))), multiplicative(gradient()))
  t.is(multiplicative(pipe(gradient(), momentum(0.9))).ratioLinf, 1.04)
  // without a projection the bounds still use |sign(m)| ≤ 1: the ratio grows as 1.01^steps, the ball as 0.01·steps
  const unprojected = certify(pipe(gradient(), momentum(1), sign, exponent(1.01), multiply, iterate(5)))
  t.is(unprojected.ratioLinf, certify(pipe(gradient(), sign, exponent(1.01), multiply, iterate(5))).ratioLinf)
  const additive = certify(pipe(gradient(), momentum(0.9), sign, scale(0.01), add, iterate(3)))
  t.deepEqual([additive.ballLinf, additive.range], [0.01 + 0.01 + 0.01, { lo: -0.03, hi: 1.03 }])
  // d/‖d‖₂ of the momentum: (1, 1) per sample
  const normalized = certify(pipe(gradient(), momentum(0.5), normalize(), scale(0.1), add, clip(0, 1), iterate(2)))
  t.deepEqual([normalized.ballLinf, normalized.ballL2], [0.1 + 0.1, { abs: 0.1 + 0.1, rms: 0 }])
  // additive MI-FGSM: Add-L∞'s certificate
  const linf = (d: Direction) => certify(pipe(d, sign, scale(1 / 255), add, projectBall({ norm: 'linf', eps: 4 / 255 }), clip(0, 1), iterate(10)))
  t.deepEqual(linf(pipe(gradient(), momentum(0.9))), linf(gradient()))
  t.is(linf(pipe(gradient(), momentum(0.9))).ballLinf, 4 / 255)
})

test('raw momentum claims no |d| ≤ 1 bound: d/mean|d| can reach N in one value, whatever it accumulates', (t) => {
  const raw = certify(pipe(gradient(), sign, momentum(0.9), scale(0.01), add, iterate(3)))
  t.deepEqual([raw.ballLinf, raw.ballL2, raw.range], [null, null, null])
  t.deepEqual(raw.reasons.slice(0, 3), [
    'no range: the step adds an offset and no clip follows',
    "no L∞ ball: the step's offset follows the raw momentum, with no per-value bound, and no L∞ ball projection follows",
    "no L2 ball: the step's offset has no L2 bound independent of the clip size, and no L2 ball projection follows",
  ])
  // decay 0 is no exception: one term d/mean|d| is already unbounded
  t.is(certify(pipe(gradient(), normalize(), momentum(0), scale(0.01), add, clip(0, 1), iterate(1))).ballLinf, null)
  // a clip gives the range only; a projection sets its own ball
  const clipped = certify(pipe(gradient(), sign, momentum(0.9), scale(0.01), add, clip(0, 1), iterate(3)))
  t.deepEqual([clipped.range, clipped.ballLinf, clipped.ballL2], [{ lo: 0, hi: 1 }, null, null])
  const projected = certify(pipe(gradient(), momentum(0.9), scale(0.01), add, projectBall({ norm: 'linf', eps: 0.03 }), clip(0, 1), iterate(3)))
  t.is(projected.ballLinf, 0.03)
  // multiplicative: no ratio bound from a raw momentum exponent; zeros stay fixed (a factor keeps 0)
  const mult = certify(pipe(gradient(), sign, momentum(0.9), exponent(1.01), multiply, clip(0, 1), iterate(2)))
  t.deepEqual([mult.ratioLinf, mult.ratioL2, mult.zeroFixed, mult.range], [null, null, true, { lo: 0, hi: 1 }])
  t.true(mult.reasons.includes("no L∞ ratio bound: the step's factor has no per-value bound (raw momentum) and no L∞ ratio projection follows"))
  t.true(mult.reasons.includes("no L2 ratio bound: the step's factor has no L2 bound on log(x'/x) independent of the clip size"))
})

test("momentum keeps its child's support: what it accumulates is 0 outside the mask", (t) => {
  const region = box({ top: 0, left: 0, height: 2, width: 2 })
  const inside = certify(pipe(gradient(), maskRegion(region), momentum(0.9), sign, scale(0.01), add, clip(0, 1), iterate(3)))
  t.deepEqual(inside.support, { _tag: 'Regions', regions: [region] })
  const outside = certify(pipe(gradient(), momentum(0.9), maskRegion(region), sign, scale(0.01), add, clip(0, 1), iterate(3)))
  t.deepEqual(outside.support, { _tag: 'Regions', regions: [region] })
  const nested = certify(pipe(gradient(), maskRegion(frames([0])), momentum(1), maskRegion(region), scale(0.01), add, clip(0, 1), iterate(3)))
  t.deepEqual(nested.support, { _tag: 'Regions', regions: [{ _tag: 'Intersection', regions: [region, frames([0])] }] })
  const everywhere = certify(pipe(gradient(), momentum(0.9), sign, scale(0.01), add, clip(0, 1), iterate(3)))
  t.deepEqual(everywhere.support, { _tag: 'Everywhere' })
  t.true(everywhere.reasons.includes("every pixel may change: the step's update is not masked"))
})

test('a schedule keeps every bound derived from α (s_i ≤ 1): the certificate is the constant schedule’s', (t) => {
  for (const schedule of [exponentialDecay(0.5), stepDecay({ every: 2, factor: 0.1 })]) {
    const additive = (o: Parameters<typeof scale>[1]) => certify(pipe(gradient(), sign, scale(0.01, o), add, iterate(3)))
    t.deepEqual(additive({ schedule }), additive({}))
    t.is(additive({ schedule }).ballLinf, 0.01 + 0.01 + 0.01) // α per step: not the smaller Σ α·s_i
    const rms = (o: Parameters<typeof scale>[1]) => certify(pipe(gradient(), normalize(), scale(0.01, o), add, clip(0, 1), iterate(4)))
    t.deepEqual(rms({ schedule, units: 'rms' }), rms({ units: 'rms' }))
    const multiplicative = (o: Parameters<typeof exponent>[1]) => certify(pipe(gradient(), sign, exponent(1.01, o), multiply, iterate(5)))
    t.deepEqual(multiplicative({ schedule }), multiplicative({}))
    const projected = (o: Parameters<typeof exponent>[1]) =>
      certify(pipe(gradient(), sign, exponent(1.01, o), multiply, projectRatio({ norm: 'linf', eps: 1.04 }), clip(0, 1), iterate(5)))
    t.deepEqual(projected({ schedule }), projected({}))
  }
  // a hand-built schedule outside (0, 1]: the per-step bound uses sup|s_i| over the iterations (2² here)
  const growing = certify(pipe(gradient(), sign, scale(0.01, { schedule: { _tag: 'Exponential', rate: 2 } }), add, iterate(3)))
  t.is(growing.ballLinf, 0.04 + 0.04 + 0.04)
  const broken = certify(pipe(gradient(), sign, scale(0.01, { schedule: { _tag: 'StepDecay', every: 0, factor: 1 } }), add, iterate(3)))
  t.is(broken.ballLinf, null)
  t.is(broken.reasons[1], "no L∞ ball: the step's offset follows a schedule with no bound on its multiplier, with no per-value bound, and no L∞ ball projection follows")
})

test('the loss does not enter the certificate: margin and per-sample targets certify as cross-entropy does', (t) => {
  for (const loss of [margin(), margin({ confidence: 5 }), targetedEach([1, 0, 2])]) {
    t.deepEqual(certify(withLoss(loss)(attacks.multLinf())), certify(attacks.multLinf()))
    t.deepEqual(certify(withLoss(loss)(attacks.roa())), certify(attacks.roa()))
  }
})

test('restarts keep every per-sample bound: the certificate is the single run’s, with its number of runs', (t) => {
  for (const a of [attacks.addLinf(), attacks.multLinf(), attacks.addL2(), attacks.roa(), attacks.spa(), attacks.multAf()]) {
    const c = certify(withRestarts(4)(a))
    t.is(c.restarts, 4)
    t.deepEqual({ ...c, restarts: 1 }, certify(a))
  }
})

test('verify with restarts: a random support holds for each sample’s own run, whichever it is', (t) => {
  const region = rect({ height: 2, width: 2 })
  const g = { T: 1, H: 8, W: 8 }
  const runs = 6
  const masks = Array.from({ length: runs }, (_, r) => batchMask(region, g, 2, restartSeed(7, r)))
  const frame = 64
  const sample0 = (m: Uint8Array) => m.slice(0, frame).join('')
  const other = masks.findIndex((m) => sample0(m) !== sample0(masks[0]!))
  t.true(other > 0) // some run draws sample 0's rectangle elsewhere
  const c: Certificate = { ...none, seed: 7, restarts: runs, support: { _tag: 'Regions', regions: [region] } }
  const clean = clipOf(Array.from({ length: 2 * frame }, () => 0.5), [2, 1, 8, 8, 1])
  // sample 0 changed where run `other` draws it, sample 1 where run 0 does
  const adv = Float32Array.from(clean.data, (v, i) => ((i < frame ? masks[other]! : masks[0]!)[i] ? 0.9 : v))
  const xAdv = { shape: clean.shape, data: adv }
  t.deepEqual(verify(c, clean, xAdv), [])
  // with one run, sample 0 is outside run 0's draw
  const [single] = verify({ ...c, restarts: 1 }, clean, xAdv)
  t.like(single, { bound: 'support', sample: 0 })
  t.regex(single!.message, /^x' ≠ x outside the support \(rect 2x2[^)]*\) at \[0,0,/)
  // a change outside every run's draw of sample 1
  const drawn = new Set(masks.flatMap((m) => Array.from(m.slice(frame), (v, k) => (v ? k : -1))))
  const free = Array.from({ length: frame }, (_, k) => k).find((k) => !drawn.has(k))!
  const tampered = Float32Array.from(adv)
  tampered[frame + free] = 0.1
  const [stray] = verify(c, clean, { shape: clean.shape, data: tampered })
  t.like(stray, { bound: 'support', sample: 1, count: 1, got: Math.fround(0.1) })
  t.true(stray!.message.includes(`in each of the ${runs} runs' draws) at [1,0,${Math.floor(free / 8)},${free % 8},0]`))
})

// -------------------------------------------------------------------------------------------------
// describe
// -------------------------------------------------------------------------------------------------

test('describeCertificate lists what holds, then what does not and why', (t) => {
  t.is(
    describeCertificate(certify(attacks.multLinf())),
    [
      'certificate of mult-linf (N = values per sample; assuming the clean clip x lies in [0, 1]):',
      "  ✓ range: x' ∈ [0, 1]",
      "  ✓ additive L∞ ball: ‖x' − x‖∞ ≤ 0.04",
      "  ✓ additive L2 ball: ‖x' − x‖₂ ≤ 0.04·√N per sample",
      "  ✓ ratio bound: max(x'/x, x/x') ≤ 1.04 where x > 0",
      "  ✓ L2 ratio bound (log): ‖log(x'/x)‖₂ ≤ 0.0392207·√N per sample",
      "  ✓ zero fixed point: x = 0 ⇒ x' = 0",
      "  ✗ every pixel may change: the step's update is not masked",
    ].join('\n'),
  )
  t.is(
    describeCertificate(certify(attacks.multAf())),
    [
      'certificate of mult-af (N = values per sample; assuming the clean clip x lies in [0, 1]):',
      "  ✓ range: x' ∈ [0, 1]",
      "  ✓ ratio bound: max(x'/x, x/x') ≤ 32 where x > 0",
      "  ✓ L2 ratio bound (log): ‖log(x'/x)‖₂ ≤ 3.46574·√N per sample",
      "  ✓ zero fixed point: x = 0 ⇒ x' = 0",
      "  ✓ support: x' = x (bit-identical) outside ring 10",
      '  ✗ no L∞ ball: the accumulated bound 31 is no tighter than the range [0, 1] implies (1)',
      '  ✗ no L2 ball: the accumulated bound 31·√N is no tighter than the range [0, 1] implies (1)',
    ].join('\n'),
  )
})

test('describeCertificate with restarts: best of R runs, random regions drawn by each sample’s own run', (t) => {
  t.is(
    describeCertificate(certify(withRestarts(3)(attacks.roa()))).split('\n').slice(0, 3).join('\n'),
    [
      'certificate of roa (N = values per sample; best of 3 runs, each sample the output of one; assuming the clean clip x lies in [0, 1]):',
      "  ✓ range: x' ∈ [0, 1]",
      "  ✓ support: x' = x (bit-identical) outside rect 30x30 per frame, as drawn by the run each sample comes from (one of 3)",
    ].join('\n'),
  )
  // a fixed region is the same in every run
  t.true(describeCertificate(certify(withRestarts(3)(attacks.af()))).includes("  ✓ support: x' = x (bit-identical) outside ring 10\n"))
})
