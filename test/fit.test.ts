/** fitsClip: every attack that cannot run on a model's clips and classes is named before any work. */
import test from 'ava'
import fc from 'fast-check'
import { pipe } from 'fp-ts/lib/function.js'
import * as attacks from '../src/dsl/attacks.js'
import { add, box, clip, frames, gradient, iterate, margin, maskRegion, rect, ring, scale, sign, targeted, targetedEach, withTarget } from '../src/dsl/constructors.js'
import { fitsClip } from '../src/dsl/fit.js'
import type { Region } from '../src/dsl/types.js'
import { regionMask } from '../src/interpreters/regions.js'
import { scaledBuiltIns } from '../src/eval/specs.js'

const CLIP = { T: 8, H: 32, W: 32 }

/** A one-step additive attack confined to `region`. */
const masked = (region: Region) => pipe(gradient(), sign, maskRegion(region), scale(0.01), add, clip(0, 1), iterate(1, { name: 'masked' }))

const AT = 'attack.body[0].update.offset.of.region'

test("the issue's misfits are each named with the field and what the clip allows", (t) => {
  t.deepEqual(fitsClip(masked(rect({ height: 40, width: 30 })), CLIP, 6), [`${AT}: Rect 40x30 does not fit the clip's 32x32 frames`])
  t.deepEqual(fitsClip(masked(box({ top: 30, left: 0, height: 4, width: 4 })), CLIP, 6), [`${AT}: Box rows 30..34 lie outside the clip's 32 rows`])
  t.deepEqual(fitsClip(masked(frames([3, 8])), CLIP, 6), [`${AT}.indices[1]: frame 8 lies outside the clip's 8 frames`])
  t.deepEqual(fitsClip(masked(ring(20)), CLIP, 6), [`${AT}: Ring width 20 is more than half of the clip's 32x32 frames`])
  t.deepEqual(fitsClip({ ...attacks.addLinf(), loss: targeted(99) }, CLIP, 6), ["attack.loss.target.label: target class 99 is not one of the model's 6 classes (0–5)"])
  t.deepEqual(fitsClip(attacks.roa({ height: 40 }), CLIP, 6), [
    "attack.init.region: Rect 40x30 does not fit the clip's 32x32 frames",
    "attack.body[0].update.offset.of.region: Rect 40x30 does not fit the clip's 32x32 frames",
  ])
  t.deepEqual(fitsClip(attacks.spa({ perFrame: 5000 }), CLIP, 6), [
    "attack.init.region: Pixels 5000 per frame is more than the clip's 32x32 = 1024 pixels",
    "attack.body[0].update.offset.of.region: Pixels 5000 per frame is more than the clip's 32x32 = 1024 pixels",
  ])
})

test('what fits is accepted: the scaled built-ins on the benchmark, a target among the classes, the edges of the frame', (t) => {
  for (const a of scaledBuiltIns(CLIP.H, CLIP.W)) t.deepEqual(fitsClip(a, CLIP, 6), [], a.name)
  t.deepEqual(fitsClip({ ...attacks.multLinf(), loss: targeted(5) }, CLIP, 6), [])
  t.deepEqual(fitsClip(masked(box({ top: 28, left: 28, height: 4, width: 4 })), CLIP, 6), [])
  t.deepEqual(fitsClip(masked(ring(16)), CLIP, 6), [])
  t.deepEqual(fitsClip(masked(frames([7])), CLIP, 6), [])
})

// A fixed region fits exactly when its mask holds all the pixels it names: nothing is cut off by the
// frame's edges (regionMask, which the tensor interpreter uses, clips them silently).
const geometry = fc.record({ T: fc.integer({ min: 1, max: 6 }), H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }) })
const boxArb = fc.record({ top: fc.nat(14), left: fc.nat(14), height: fc.integer({ min: 1, max: 14 }), width: fc.integer({ min: 1, max: 14 }) })
const ones = (mask: Uint8Array) => mask.reduce((s, m) => s + m, 0)

test('a box or frame list fits iff none of its pixels falls outside the clip (against regionMask)', (t) => {
  fc.assert(
    fc.property(geometry, boxArb, (g, b) => {
      const whole = ones(regionMask(box(b), g)) === g.T * b.height * b.width
      return (fitsClip(masked(box(b)), g, 2).length === 0) === whole
    }),
    { numRuns: 300, seed: 1 },
  )
  fc.assert(
    fc.property(geometry, fc.uniqueArray(fc.nat(8), { minLength: 1, maxLength: 5 }), (g, indices) => {
      const whole = ones(regionMask(frames(indices), g)) === indices.length * g.H * g.W
      return (fitsClip(masked(frames(indices)), g, 2).length === 0) === whole
    }),
    { numRuns: 300, seed: 2 },
  )
  t.pass()
})

test('a target class fits iff it is below the number of classes', (t) => {
  fc.assert(
    fc.property(fc.nat(20), fc.integer({ min: 1, max: 20 }), (label, classes) =>
      (fitsClip({ ...attacks.addLinf(), loss: targeted(label) }, CLIP, classes).length === 0) === label < classes,
    ),
    { numRuns: 200, seed: 3 },
  )
  t.pass()
})

test('per-sample targets: each label among the classes, whichever the loss (the count is checked per batch when it runs)', (t) => {
  const each = (labels: ReadonlyArray<number>) => ({ ...attacks.addLinf(), loss: targetedEach(labels) })
  t.deepEqual(fitsClip(each([0, 5, 2]), CLIP, 6), [])
  t.deepEqual(fitsClip(each([6, 1, 9]), CLIP, 6), [
    "attack.loss.target.labels[0]: target class 6 is not one of the model's 6 classes (0–5)",
    "attack.loss.target.labels[2]: target class 9 is not one of the model's 6 classes (0–5)",
  ])
  const marginEach = { ...attacks.addLinf(), loss: withTarget({ _tag: 'TargetedEach', labels: [3, 7] })(margin()) }
  t.deepEqual(fitsClip(marginEach, CLIP, 6), ["attack.loss.target.labels[1]: target class 7 is not one of the model's 6 classes (0–5)"])
  t.deepEqual(fitsClip({ ...attacks.addLinf(), loss: withTarget({ _tag: 'Targeted', label: 6 })(margin()) }, CLIP, 6), [
    "attack.loss.target.label: target class 6 is not one of the model's 6 classes (0–5)",
  ])
})
