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
  fill,
  frames,
  gradient,
  iterate,
  maskRegion,
  multiply,
  normalize,
  projectBall,
  projectRatio,
  restrictTo,
  scale,
  sign,
  uniform,
  uniformRatio,
} from '../src/dsl/constructors.js'
import type { Attack } from '../src/dsl/types.js'
import { certify, describeCertificate, verify, type Certificate } from '../src/interpreters/certify.js'
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
}
const x = clipOf([0, 0.5, 0.25, 1])

test('verify: range', (t) => {
  const c = { ...none, range: { lo: 0, hi: 1 } }
  t.deepEqual(verify(c, x, clipOf([0, 1, 0, 1])), [])
  t.deepEqual(verify(c, x, clipOf([0, 1.5, -0.25, 1])), ["range [0, 1] violated at [0,0,0,0,1]: x'=1.5 (2 values)"])
})

test('verify: L∞ ball', (t) => {
  const c = { ...none, ballLinf: 0.1 }
  t.deepEqual(verify(c, x, clipOf([0.1, 0.4, 0.35, 0.9])), [])
  t.deepEqual(verify(c, x, clipOf([0.05, 0.75, 0.25, 0.5])), ["L∞ ball ε=0.1 violated at [0,0,0,0,1]: x=0.5, x'=0.75, |x'−x|=0.25 (2 values)"])
})

test('verify: L2 ball per sample, absolute and per value (rms)', (t) => {
  const two = clipOf([0, 0.5, 0.25, 1, 0, 0.5, 0.25, 1], [2, 1, 1, 2, 2])
  t.deepEqual(verify({ ...none, ballL2: { abs: 0.25, rms: 0 } }, two, clipOf([0, 0.5, 0.25, 0.75, 0, 0.5, 0.25, 1], [2, 1, 1, 2, 2])), [])
  t.deepEqual(verify({ ...none, ballL2: { abs: 0.1, rms: 0 } }, two, clipOf([0, 0.5, 0.25, 0.75, 0, 0.5, 0.25, 1], [2, 1, 1, 2, 2])), [
    "L2 ball ‖x'−x‖₂ ≤ 0.1 violated by sample 0: ‖x'−x‖₂=0.25 (1 sample)",
  ])
  // 0.125·√4 = 0.25
  t.deepEqual(verify({ ...none, ballL2: { abs: 0, rms: 0.125 } }, x, clipOf([0, 0.5, 0.25, 0.75])), [])
  t.deepEqual(verify({ ...none, ballL2: { abs: 0, rms: 0.1 } }, x, clipOf([0, 0.5, 0.25, 0.75])), [
    "L2 ball ‖x'−x‖₂ ≤ 0.1·√N = 0.2 (N=4) violated by sample 0: ‖x'−x‖₂=0.25 (1 sample)",
  ])
})

test('verify: L∞ ratio bound where x > 0, including x′ ≤ 0', (t) => {
  const c = { ...none, ratioLinf: 1.04 }
  t.deepEqual(verify(c, x, clipOf([0.3, 0.52, 0.25 / 1.04, 0.99])), [])
  t.deepEqual(verify(c, x, clipOf([0, 0.53, 0.25, 1])), ["ratio bound ε=1.04 violated at [0,0,0,0,1]: x=0.5, x'=0.53, ratio 1.06 (1 value)"])
  t.deepEqual(verify(c, x, clipOf([0, 0.5, -0.25, 0])), ["ratio bound ε=1.04 violated at [0,0,0,1,0]: x=0.25, x'=-0.25, ratio -1 (2 values)"])
})

test('verify: zero fixed point', (t) => {
  t.deepEqual(verify({ ...none, zeroFixed: true }, x, clipOf([0, 0.9, 0, 0])), [])
  t.deepEqual(verify({ ...none, zeroFixed: true }, x, clipOf([0.01, 0.5, 0.25, 1])), ["zero fixed point violated at [0,0,0,0,0]: x=0, x'=0.01 (1 value)"])
})

test('verify: L2 ratio bound in each reading (ratio 1 where x = 0)', (t) => {
  const xAdv = clipOf([0.7, 0.5, 0.25, 0.5]) // ratios 1 (x = 0), 1, 1, 0.5
  const reading = (r: 'log' | 'literal' | 'deviation', abs: number) => ({ ...none, ratioL2: { reading: r, bound: { abs, rms: 0 } } })
  t.deepEqual(verify(reading('log', 0.7), x, xAdv), [])
  t.deepEqual(verify(reading('log', 0.5), x, xAdv), ["L2 ratio bound (log) ‖log(x'/x)‖₂ ≤ 0.5 violated by sample 0: 0.693147 (1 sample)"])
  t.deepEqual(verify(reading('deviation', 0.5), x, xAdv), [])
  t.deepEqual(verify(reading('deviation', 0.4), x, xAdv), ["L2 ratio bound (deviation) ‖x'/x − 1‖₂ ≤ 0.4 violated by sample 0: 0.5 (1 sample)"])
  t.deepEqual(verify(reading('literal', 1.5), x, xAdv), []) // √(1 + 1 + 0.25) over x > 0
  t.deepEqual(verify(reading('literal', 1.4), x, xAdv), ["L2 ratio bound (literal) ‖x'/x‖₂ ≤ 1.4 violated by sample 0: 1.5 (1 sample)"])
  t.deepEqual(verify({ ...none, ratioL2: { reading: 'log', bound: { abs: 0, rms: 0.3 } } }, x, xAdv), [
    "L2 ratio bound (log) ‖log(x'/x)‖₂ ≤ 0.3·√N = 0.6 (N=4) violated by sample 0: 0.693147 (1 sample)",
  ])
})

test('verify: support — bit-identical outside the regions (or everywhere for Nothing)', (t) => {
  const regions = { ...none, support: { _tag: 'Regions' as const, regions: [box({ top: 0, left: 0, height: 1, width: 1 })] } }
  t.deepEqual(verify(regions, x, clipOf([0.3, 0.5, 0.25, 1])), [])
  t.deepEqual(verify(regions, x, clipOf([0, 0.5, 0.25, 0.9999999])), [
    "x' ≠ x outside the support (box 1x1 @(0,0)) at [0,0,0,1,1]: x=1, x'=0.9999999 (1 value)",
  ])
  const nothing = { ...none, support: { _tag: 'Nothing' as const } }
  t.deepEqual(verify(nothing, x, clipOf([0, 0.5, 0.25, 1])), [])
  t.deepEqual(verify(nothing, x, clipOf([0, 0.5, 0.26, 1])), ["x' ≠ x outside the support (nothing) at [0,0,0,1,0]: x=0.25, x'=0.26 (1 value)"])
  // frames{1} of a [1, 2, 1, 1, 2] clip: frame 0 must not change
  const frameSupport = { ...none, support: { _tag: 'Regions' as const, regions: [frames([1])] } }
  const x2 = clipOf([0.1, 0.2, 0.3, 0.4], [1, 2, 1, 1, 2])
  t.deepEqual(verify(frameSupport, x2, clipOf([0.1, 0.2, 0.9, 0.9], [1, 2, 1, 1, 2])), [])
  t.deepEqual(verify(frameSupport, x2, clipOf([0.1, 0.25, 0.9, 0.9], [1, 2, 1, 1, 2])), [
    "x' ≠ x outside the support (frames{1}) at [0,0,0,0,1]: x=0.2, x'=0.25 (1 value)",
  ])
})

test('verify: shapes, non-finite values and the assumption x ∈ [0, 1]', (t) => {
  t.deepEqual(verify(none, x, { shape: [1, 1, 1, 4, 1], data: new Float32Array(4) }), [
    "shapes must be equal [N, T, H, W, C], got x [1, 1, 1, 2, 2] and x' [1, 1, 1, 4, 1]",
  ])
  t.deepEqual(verify(none, clipOf([0, 0.5, 0.25, 1], [4]), clipOf([0, 0.5, 0.25, 1], [4])), [
    "shapes must be equal [N, T, H, W, C], got x [4] and x' [4]",
  ])
  t.deepEqual(verify(none, x, { shape: [1, 1, 1, 2, 2], data: new Float32Array(3) }), ["shape [1, 1, 1, 2, 2] holds 4 values, but x has 4 and x' 3"])
  t.deepEqual(verify(none, x, clipOf([0, Number.NaN, 0.25, Infinity])), ["x' is not finite at [0,0,0,0,1]: NaN (2 values)"])
  t.deepEqual(verify(none, clipOf([0, 1.5, 0.25, 1]), clipOf([0, 1.5, 0.25, 1])), ['assumption x ∈ [0, 1] violated at [0,0,0,0,1]: x=1.5 (1 value)'])
})

test('verify: tolerances — bound·(1 + rtol) + atol', (t) => {
  const c = { ...none, ballLinf: 0.1 }
  const xAdv = clipOf([0.1000005, 0.5, 0.25, 1])
  t.deepEqual(verify(c, x, xAdv), [])
  t.deepEqual(verify(c, x, xAdv, { rtol: 0, atol: 0 }), ["L∞ ball ε=0.1 violated at [0,0,0,0,0]: x=0, x'=0.1000005, |x'−x|=0.100001 (1 value)"])
})

test('verify reads anything with dataSync (a tfjs tensor), duck-typed', (t) => {
  const tensor = (data: number[]) => ({ shape: [1, 1, 1, 2, 2], dataSync: () => Float32Array.from(data), data: async () => Float32Array.from(data) })
  t.deepEqual(verify({ ...none, ratioLinf: 1.04 }, tensor([0, 0.5, 0.25, 1]), tensor([0, 0.52, 0.25, 0.99])), [])
  t.deepEqual(verify({ ...none, ratioLinf: 1.04 }, tensor([0, 0.5, 0.25, 1]), tensor([0, 0.53, 0.25, 1])), [
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
  t.deepEqual(verify({ ...none, zeroFixed: true }, xt, broken), ["zero fixed point violated at [0,0,0,0,0]: x=0, x'=0.01 (1 value)"])
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
          return verify(c, xc, { shape: xc.shape, data: broken }).some((m) => m.startsWith('zero fixed point violated'))
        }
        const i = positive[pick % positive.length]!
        broken[i] = xc.data[i]! / (eps * 1.001)
        return verify(c, xc, { shape: xc.shape, data: broken }).some((m) => m.startsWith(`ratio bound ε=`))
      },
    ),
    { numRuns: 300 },
  )
  t.pass()
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
