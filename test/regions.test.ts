/**
 * Regions and the physically realizable attacks (ROA, AF, SPA and their multiplicative twins):
 * masks, per-frame counts, reproducibility, codecs, and accuracy drops on a trained model.
 */
import test from 'ava'
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import * as attacks from '../src/dsl/attacks.js'
import { decodeAttack, encodeAttack } from '../src/dsl/codec.js'
import { box, complement, frames, intersection, pixels, rect, ring, union } from '../src/dsl/constructors.js'
import type { Attack, Region } from '../src/dsl/types.js'
import { toyMotion } from '../src/data/toy.js'
import { initBackend } from '../src/backend/backend.js'
import { regionMask } from '../src/interpreters/regions.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { accuracy, trainTinyMlp, type TinyMlp } from '../src/models/tiny.js'
import { attackArb, scenarioArb, withAttackRun, zeroIsFixed } from '../src/testing/index.js'

const count = (m: Uint8Array, from = 0, to = m.length) => m.subarray(from, to).reduce((s, v) => s + v, 0)
const dims = fc.record({ T: fc.integer({ min: 1, max: 4 }), H: fc.integer({ min: 2, max: 12 }), W: fc.integer({ min: 2, max: 12 }) })

test('rectangles, rings and pixels stay inside the frame, with the sizes they promise, on every frame', (t) => {
  fc.assert(
    fc.property(dims, fc.nat(), fc.nat(200), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (g, seed, sample, a, b) => {
      const frame = g.H * g.W
      const height = 1 + Math.floor(a * (g.H - 1))
      const width = 1 + Math.floor(b * (g.W - 1))
      const w = 1 + Math.floor(a * (Math.floor(Math.min(g.H, g.W) / 2) - 1))
      const perFrame = 1 + Math.floor(b * (frame - 1))
      const draw = { seed, sample }
      for (let t = 0; t < g.T; t++) {
        const [from, to] = [t * frame, (t + 1) * frame]
        if (count(regionMask(rect({ height, width }), g, draw), from, to) !== height * width) return false
        if (count(regionMask(rect({ height, width, placement: 'shared' }), g, draw), from, to) !== height * width) return false
        if (count(regionMask(ring(w), g, draw), from, to) !== frame - (g.H - 2 * w) * (g.W - 2 * w)) return false
        const n = count(regionMask(pixels(perFrame), g, draw), from, to)
        if (n < 1 || n > perFrame) return false
      }
      return regionMask(rect({ height, width }), g, draw).length === g.T * frame
    }),
    { numRuns: 300 },
  )
  t.pass()
})

test('a shared rectangle is at the same place on every frame; per-frame ones move; draws follow the seed and sample', (t) => {
  const g = { T: 6, H: 12, W: 12 }
  const frameOf = (m: Uint8Array, k: number) => Array.from(m.subarray(k * 144, (k + 1) * 144))
  const shared = regionMask(rect({ height: 3, width: 3, placement: 'shared' }), g, { seed: 1, sample: 0 })
  for (let k = 1; k < 6; k++) t.deepEqual(frameOf(shared, k), frameOf(shared, 0))
  const moving = regionMask(rect({ height: 3, width: 3 }), g, { seed: 1, sample: 0 })
  t.true([1, 2, 3, 4, 5].some((k) => frameOf(moving, k).join() !== frameOf(moving, 0).join()))
  const r = pixels(20)
  t.deepEqual(regionMask(r, g, { seed: 4, sample: 2 }), regionMask(r, g, { seed: 4, sample: 2 }))
  t.notDeepEqual(regionMask(r, g, { seed: 4, sample: 2 }), regionMask(r, g, { seed: 5, sample: 2 }))
  t.notDeepEqual(regionMask(r, g, { seed: 4, sample: 2 }), regionMask(r, g, { seed: 4, sample: 3 }))
})

test('union, intersection and complement combine masks', (t) => {
  const g = { T: 2, H: 4, W: 4 }
  const a = box({ top: 0, left: 0, height: 2, width: 4 })
  const b = frames([1])
  const m = (r: Region) => regionMask(r, g)
  t.is(count(m(union(a, b))), 16 + 16 - 8) // 8 box pixels on each frame, frame 1 whole
  t.is(count(m(intersection(a, b))), 8)
  t.is(count(m(complement(a))), 32 - 16)
  t.deepEqual(m(complement(complement(ring(1)))), m(ring(1)))
})

// -------------------------------------------------------------------------------------------------
// attacks on small clips (T=3, 6x6): sizes scaled down from the paper's 112x112
// -------------------------------------------------------------------------------------------------

const small = {
  roa: attacks.roa({ height: 2, width: 3 }),
  multRoa: attacks.multRoa({ height: 2, width: 3 }),
  af: attacks.af({ width: 1 }),
  multAf: attacks.multAf({ width: 1 }),
  spa: attacks.spa({ perFrame: 4 }),
  multSpa: attacks.multSpa({ perFrame: 4 }),
} satisfies Record<string, Attack>
const perFrameLimit: Record<keyof typeof small, number> = { roa: 6, multRoa: 6, af: 20, multAf: 20, spa: 4, multSpa: 4 }
const shape = [2, 3, 6, 6, 3] as const

test.before(async () => {
  await initBackend('wasm')
})

test.serial('masked attacks change at most the region per frame, never outside it (bit-identical), and keep [0, 1]', async (t) => {
  for (const [name, attack] of Object.entries(small) as [keyof typeof small, Attack][]) {
    await fc.assert(
      fc.asyncProperty(scenarioArb({ shape }), fc.nat(), (s, seed) =>
        withAttackRun({ ...attack, seed }, s, (x, xAdv, r) => {
          const [N, T, H, W, C] = shape
          for (let n = 0; n < N; n++)
            for (let f = 0; f < T; f++) {
              let changed = 0
              for (let p = 0; p < H * W; p++) {
                const base = ((n * T + f) * H * W + p) * C
                if ([0, 1, 2].some((c) => xAdv[base + c] !== x.data[base + c])) changed++
              }
              if (changed > perFrameLimit[name]) throw new Error(`${name}: ${changed} pixels changed on frame ${f} of sample ${n}`)
            }
          if (xAdv.some((v) => !(v >= 0 && v <= 1))) throw new Error(`${name}: value outside [0, 1]`)
          if (r.certificate.support._tag !== 'Regions') throw new Error(`${name}: no support in the certificate`)
        }),
      ),
      { numRuns: 15 },
    )
  }
  t.pass()
})

test.serial('the multiplicative twins never change a zero pixel and never emit NaN/Inf', async (t) => {
  for (const attack of [small.multRoa, small.multAf, small.multSpa]) await fc.assert(zeroIsFixed(attack, { shape }), { numRuns: 20 })
  t.pass()
})

test.serial('results are reproducible for a seed and differ across seeds', async (t) => {
  const [s] = fc.sample(scenarioArb({ shape, extremes: false }), { numRuns: 1, seed: 3 })
  for (const attack of [small.roa, small.spa, small.multSpa]) {
    const run = (seed: number) => withAttackRun({ ...attack, seed }, s!, (_x, xAdv) => Array.from(xAdv))
    t.deepEqual(await run(1), await run(1), attack.name)
    t.notDeepEqual(await run(1), await run(2), attack.name)
  }
})

test('codecs: the six attacks round-trip; region problems are named against the clip', (t) => {
  for (const attack of [attacks.roa(), attacks.multRoa(), attacks.af(), attacks.multAf(), attacks.spa(), attacks.multSpa()])
    t.deepEqual(decodeAttack(JSON.parse(JSON.stringify(encodeAttack(attack)))), E.right(attack), attack.name)
  const on = (T: number, H: number, W: number) => ({ clip: { T, H, W } })
  t.deepEqual(decodeAttack(encodeAttack(attacks.roa()), on(4, 16, 16)), E.left([
    "attack.init.region: Rect 30x30 does not fit the clip's 16x16 frames",
    "attack.body[0].update.offset.of.region: Rect 30x30 does not fit the clip's 16x16 frames",
  ]))
  t.deepEqual(decodeAttack(encodeAttack(attacks.af({ width: 9 })), on(4, 16, 16)), E.left([
    "attack.body[0].update.offset.of.region: Ring width 9 is more than half of the clip's 16x16 frames",
  ]))
  t.deepEqual(decodeAttack(encodeAttack(attacks.spa({ perFrame: 300 })), on(4, 16, 16)), E.left([
    "attack.init.region: Pixels 300 per frame is more than the clip's 16x16 = 256 pixels",
    "attack.body[0].update.offset.of.region: Pixels 300 per frame is more than the clip's 16x16 = 256 pixels",
  ]))
  const badFill = { ...(encodeAttack(attacks.spa()) as Record<string, unknown>), init: { _tag: 'Fill', value: 2, region: { _tag: 'Pixels', perFrame: 0 } } }
  t.deepEqual(decodeAttack(badFill), E.left([
    'attack.init.value: expected a number in [0, 1] (a pixel value), got 2',
    'attack.init.region.perFrame: expected an integer ≥ 1 (a size in pixels), got 0',
  ]))
  fc.assert(
    fc.property(attackArb({ geometry: { T: 3, H: 5, W: 7 } }), (a) => {
      const back = decodeAttack(JSON.parse(JSON.stringify(encodeAttack(a))), { clip: { T: 3, H: 5, W: 7 } })
      return E.isRight(back) && JSON.stringify(back.right) === JSON.stringify(a)
    }),
    { numRuns: 200 },
  )
})

// -------------------------------------------------------------------------------------------------
// accuracy on the trained tiny model (4x8x8 toy clips)
// -------------------------------------------------------------------------------------------------

let mlp: TinyMlp
const testSet = toyMotion({ count: 96, seed: 2 })

test.serial('each masked attack lowers the trained model\'s accuracy', async (t) => {
  const train = toyMotion({ count: 384, seed: 1 })
  mlp = await trainTinyMlp(train.clips, train.labels, 2, { epochs: 40, seed: 0 })
  const clean = await accuracy(mlp.model, testSet.clips, testSet.labels)
  t.true(clean >= 0.95)
  const before = tf.memory().numTensors
  const x = tf.tensor5d(testSet.clips.data, [...testSet.clips.shape])
  for (const attack of [
    attacks.roa({ height: 3, width: 3 }),
    attacks.multRoa({ height: 3, width: 3 }),
    attacks.af({ width: 1 }),
    attacks.multAf({ width: 1 }),
    attacks.spa({ perFrame: 8 }),
    attacks.multSpa({ perFrame: 8 }),
  ]) {
    const r = await runAttack(attack, mlp.model, x, testSet.labels)
    r.adversarial.dispose()
    const attacked = r.success.filter((s) => !s).length / r.success.length
    t.log(`${attack.name}: ${attacked}`)
    t.true(attacked <= clean - 0.3, `${attack.name}: accuracy ${attacked} (clean ${clean})`)
  }
  x.dispose()
  mlp.dispose()
  t.is(tf.memory().numTensors, before - 4)
})
