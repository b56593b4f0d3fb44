/** certify: exact certificates; verify: exact violation messages on hand-built clips. */
import test from 'ava'
import fc from 'fast-check'
import { pipe } from 'fp-ts/function'
import * as attacks from '../src/dsl/attacks.js'
import { add, box, clip, exponent, frames, gradient, iterate, maskRegion, multiply, projectBall, projectRatio, scale, sign } from '../src/dsl/constructors.js'
import { certify, describeCertificate, verify, type Certificate } from '../src/interpreters/certify.js'
import { clipArb } from '../src/testing/arbitraries.js'

const close = (a: number | null, b: number) => a !== null && Math.abs(a - b) < 1e-12

test('Add-L∞: range, L∞ ball ε, no ratio bound, zeros move, support everywhere', (t) => {
  const c = certify(attacks.addLinf())
  t.deepEqual(c.range, { lo: 0, hi: 1 })
  t.true(close(c.ballLinf, 4 / 255))
  t.is(c.ballL2, null)
  t.is(c.ratioLinf, null)
  t.is(c.ratioL2, null)
  t.false(c.zeroFixed)
  t.deepEqual(c.support, { _tag: 'Everywhere' })
  t.deepEqual(c.reasons, [
    'no L2 ball: the L∞ random start has no L2 bound independent of the clip size',
    'no L∞ ratio bound: the step adds an additive offset after which no ratio projection follows',
    'no L2 ratio bound: the step adds an additive offset after which no ratio projection follows',
    'zero pixels may change: the step adds an additive offset that moves zero pixels',
  ])
})

test('Mult-L∞: ratio bound ε, zeros fixed, range, and the implied L∞ ball ε − 1', (t) => {
  const c = certify(attacks.multLinf())
  t.deepEqual(c.range, { lo: 0, hi: 1 })
  t.is(c.ratioLinf, 1.04)
  t.true(close(c.ballLinf, 0.04))
  t.true(c.zeroFixed)
  t.is(c.ratioL2?.reading, 'log')
  t.true(close(c.ratioL2!.bound.rms, 5 * Math.log(1.01)))
})

test('Add-L2 and Mult-L2: per-value (rms) L2 bounds', (t) => {
  t.deepEqual(certify(attacks.addL2()).ballL2, { abs: 0, rms: 0.13 })
  const m = certify(attacks.multL2({ alpha: 1.5 }))
  t.deepEqual(m.ratioL2, { reading: 'log', bound: { abs: 0, rms: Math.log(1.32) } })
  t.true(m.zeroFixed)
})

test('without a projection the ratio grows as α^steps; without a clip there is no range', (t) => {
  const c = certify(pipe(gradient(), sign, exponent(1.01), multiply, iterate(5)))
  t.true(close(c.ratioLinf, 1.01 ** 5))
  t.is(c.range, null)
  t.deepEqual(c.reasons.filter((r) => r.startsWith('no range')), ['no range: the step multiplies by a factor after which no clip follows'])
})

test('the literal L2 reading drops the additive ball; a narrow clip drops bounds and names why', (t) => {
  const literal = certify(
    pipe(gradient(), sign, scale(0.01), add, projectBall({ norm: 'linf', eps: 0.03 }), projectRatio({ norm: 'l2', eps: 5, reading: 'literal' }), iterate(2)),
  )
  t.is(literal.ballLinf, null)
  t.deepEqual(literal.ratioL2, { reading: 'literal', bound: { abs: 5, rms: 0 } })
  t.true(literal.reasons.some((r) => r.includes('literal L2 ratio projection')))
  const narrow = certify(pipe(gradient(), sign, exponent(1.01), multiply, projectRatio({ norm: 'linf', eps: 1.04 }), clip(0.1, 0.9), iterate(3)))
  t.is(narrow.ratioLinf, null)
  t.deepEqual(narrow.range, { lo: 0.1, hi: 0.9 })
  t.false(narrow.zeroFixed)
  t.true(narrow.reasons.some((r) => r.includes('clips to [0.1, 0.9], narrower than [0, 1]')))
})

test('masked updates give a support; alternating steps combine', (t) => {
  const region = box({ top: 0, left: 0, height: 2, width: 2 })
  const a = pipe(gradient(), sign, maskRegion(region), exponent(1.1), multiply, clip(0, 1))
  const b = pipe(gradient(), sign, maskRegion(frames([1])), scale(0.01), add, clip(0, 1))
  const c = certify(iterate(3)([a, b]))
  t.deepEqual(c.support, { _tag: 'Regions', regions: [region, frames([1])] })
  t.false(c.zeroFixed)
})

const clipOf = (data: number[]) => ({ shape: [1, 1, 1, 2, 2] as const, data: Float32Array.from(data) })
const base: Certificate = {
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

test('verify: each guarantee, held and violated, with exact messages', (t) => {
  t.deepEqual(verify({ ...base, range: { lo: 0, hi: 1 } }, x, clipOf([0, 0.5, 0.25, 1])), [])
  t.deepEqual(verify({ ...base, range: { lo: 0, hi: 1 } }, x, clipOf([0, 1.5, 0.25, 1])), [
    "range [0, 1] violated at [0,0,0,0,1]: x'=1.5 (1 value)",
  ])
  t.deepEqual(verify({ ...base, ballLinf: 0.1 }, x, clipOf([0.05, 0.55, 0.2, 1])), [])
  t.deepEqual(verify({ ...base, ballLinf: 0.1 }, x, clipOf([0.05, 0.75, 0.25, 0.5])), [
    "L∞ ball ε=0.1 violated at [0,0,0,0,1]: x=0.5, x'=0.75, |x'−x|=0.25 (2 values)",
  ])
  t.deepEqual(verify({ ...base, ballL2: { abs: 0.1, rms: 0 } }, x, clipOf([0, 0.5, 0.25, 0.75])), [
    "L2 ball 0.1 violated by sample 0: ‖x'−x‖₂ = 0.25",
  ])
  t.deepEqual(verify({ ...base, ballL2: { abs: 0, rms: 0.125 } }, x, clipOf([0, 0.5, 0.25, 0.75])), []) // 0.125·√4
  t.deepEqual(verify({ ...base, ratioLinf: 1.04 }, x, clipOf([0, 0.52, 0.25, 0.99])), [])
  t.deepEqual(verify({ ...base, ratioLinf: 1.04 }, x, clipOf([0, 0.53, 0.25, 1])), [
    "ratio bound ε=1.04 violated at [0,0,0,0,1]: x=0.5, x'=0.5299999713897705, ratio 1.059999942779541 (1 value)",
  ])
  t.deepEqual(verify({ ...base, zeroFixed: true }, x, clipOf([0.01, 0.5, 0.25, 1])), [
    "zero fixed point violated at [0,0,0,0,0]: x=0, x'=0.009999999776482582 (1 value)",
  ])
  t.deepEqual(verify({ ...base, ratioL2: { reading: 'log', bound: { abs: 0.1, rms: 0 } } }, x, clipOf([0, 0.5, 0.25, 0.5])), [
    'L2 ratio bound (log) 0.1 violated by sample 0: norm 0.6931471805599453',
  ])
  const support = { ...base, support: { _tag: 'Regions' as const, regions: [box({ top: 0, left: 0, height: 1, width: 1 })] } }
  t.deepEqual(verify(support, x, clipOf([0.3, 0.5, 0.25, 1])), [])
  t.deepEqual(verify(support, x, clipOf([0, 0.5, 0.25, 0.9])), [
    "x' ≠ x outside the support at [0,0,0,1,1]: x=1, x'=0.8999999761581421 (1 value)",
  ])
})

test('verify reads tensors (dataSync), so a violation in a tensor is found', async (t) => {
  const tf = await import('@tensorflow/tfjs-core')
  const { initBackend } = await import('../src/interpreters/backend.js')
  await initBackend('cpu')
  const before = tf.memory().numTensors
  const xt = tf.tensor5d(x.data, [1, 1, 1, 2, 2])
  const held = tf.tensor5d([0, 0.52, 0.25, 0.99], [1, 1, 1, 2, 2])
  const broken = tf.tensor5d([0, 0.53, 0.25, 1], [1, 1, 1, 2, 2])
  t.deepEqual(verify({ ...base, ratioLinf: 1.04 }, xt, held), [])
  t.deepEqual(verify({ ...base, ratioLinf: 1.04 }, xt, broken), [
    "ratio bound ε=1.04 violated at [0,0,0,0,1]: x=0.5, x'=0.5299999713897705, ratio 1.059999942779541 (1 value)",
  ])
  tf.dispose([xt, held, broken])
  t.is(tf.memory().numTensors, before)
})

test('verify: shape mismatch and non-finite values are violations', (t) => {
  t.deepEqual(verify(base, x, { shape: [1, 1, 1, 4, 1], data: new Float32Array(4) }), [
    "shapes must be equal [N, T, H, W, C], got x [1, 1, 1, 2, 2] and x' [1, 1, 1, 4, 1]",
  ])
  t.deepEqual(verify(base, x, clipOf([0, Number.NaN, 0.25, 1])), ["x' is not finite at [0,0,0,0,1]: NaN (1 value)"])
})

test('verify(certify(Mult-L∞)) holds for any ratio-bounded perturbation and fails one value past it', (t) => {
  fc.assert(
    fc.property(
      fc.double({ min: 1.001, max: 2, noNaN: true }),
      clipArb({ shape: [1, 2, 3, 3, 3] }),
      fc.infiniteStream(fc.double({ min: -1, max: 1, noNaN: true })),
      (eps, xc, us) => {
        // one step of α = ε: the certificate's L2 log-ratio bound (√N·ln ε) is then implied by the ratio bound
        const c = certify(attacks.multLinf({ eps, alpha: eps, steps: 1 }))
        const it = us[Symbol.iterator]()
        const adv = xc.data.map((v) => Math.min(1, v * Math.exp(Math.log(eps) * 0.999 * (it.next().value as number))))
        if (verify(c, xc, { shape: xc.shape, data: adv }).length !== 0) return false
        const i = xc.data.findIndex((v) => v > 0.01 && v < 0.5)
        if (i < 0) return true
        const broken = Float32Array.from(adv)
        broken[i] = xc.data[i]! * eps * 1.01
        return verify(c, xc, { shape: xc.shape, data: broken }).length > 0
      },
    ),
    { numRuns: 200 },
  )
  t.pass()
})

test('describeCertificate lists what holds and what does not, with why', (t) => {
  t.is(
    describeCertificate(certify(attacks.multLinf())),
    [
      'certificate of mult-linf (N = values per sample; assuming the clean clip x lies in [0, 1]):',
      "  ✓ range: x' ∈ [0, 1]",
      "  ✓ additive L∞ ball: ‖x' − x‖∞ ≤ 0.04",
      "  ✓ ratio bound: max(x'/x, x/x') ≤ 1.04 where x > 0",
      "  ✓ L2 ratio bound (log): ‖log(x'/x)‖₂ ≤ 0.0497517·√N per sample",
      "  ✓ zero fixed point: x = 0 ⇒ x' = 0",
      "  ✗ no L2 ball: the step's multiplicative update has no additive ball unless a ball projection follows",
    ].join('\n'),
  )
})
