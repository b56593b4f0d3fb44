/** ROA location search: exhaustive and gradient-guided, per frame or shared, batched. */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { pipe } from 'fp-ts/lib/function.js'
import * as attacks from '../src/dsl/attacks.js'
import { withSteps } from '../src/dsl/constructors.js'
import { initBackend } from '../src/backend/backend.js'
import { verify } from '../src/interpreters/certify.js'
import { regionKey } from '../src/interpreters/regions.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { type Model } from '../src/core/model.js'

const [T, H, W, C] = [3, 8, 8, 3]
const D = T * H * W * C
/** The window (per frame) where a grey patch hurts the model: rows r..r+1, columns c..c+1. */
const hotspots = [
  [1, 5],
  [4, 2],
  [6, 6],
] as const

/** A linear 2-class model whose class-0 logit has strongly negative weights on frame t's hotspot. */
const hotspotModel = (spots: ReadonlyArray<readonly [number, number]>): { model: Model; calls: () => number } => {
  const w = new Float32Array(D * 2)
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++)
      for (let v = 0; v < W; v++)
        for (let c = 0; c < C; c++) {
          const [r, k] = spots[t]!
          const hot = h >= r && h < r + 2 && v >= k && v < k + 2
          w[((((t * H + h) * W + v) * C + c) * 2)] = hot ? -3 : 0.01 * Math.sin(h + v + c)
        }
  let n = 0
  const weights = tf.keep(tf.tensor2d(w, [D, 2]))
  return {
    model: (x) => {
      n++
      return tf.tidy(() => tf.matMul(tf.reshape(x, [x.shape[0], D]), weights))
    },
    calls: () => n,
  }
}

test.before(async () => {
  await initBackend('cpu')
})

const clips = (N: number) => tf.tensor5d(new Float32Array(N * D).fill(0.2), [N, T, H, W, C])

/** Top-left corner of the mask on each frame of sample n. */
const corners = (mask: Uint8Array, n: number) =>
  Array.from({ length: T }, (_, t) => {
    const i = mask.subarray((n * T + t) * H * W, (n * T + t + 1) * H * W).indexOf(1)
    return [Math.floor(i / W), i % W]
  })

for (const method of ['exhaustive', 'gradient'] as const) {
  test.serial(`${method} search finds each frame's hotspot (per frame) for every sample`, async (t) => {
    const { model } = hotspotModel(hotspots)
    const x = clips(2)
    const attack = pipe(attacks.roa({ height: 2, width: 2, search: { method, stride: 1, topK: 3 } }), withSteps(1))
    const r = await runAttack(attack, model, x, [0, 0])
    const [mask] = [...r.searched.values()]
    t.deepEqual(corners(mask!, 0), hotspots.map((p) => [...p]))
    t.deepEqual(corners(mask!, 1), hotspots.map((p) => [...p]))
    t.deepEqual(verify(r.certificate, x, r.adversarial, { searched: r.searched }), [])
    tf.dispose([x, r.adversarial])
  })
}

test.serial('a shared search puts the rectangle at one place on every frame, the best one overall', async (t) => {
  const spots = [
    [3, 3],
    [3, 3],
    [0, 0],
  ] as const
  const { model } = hotspotModel(spots)
  const x = clips(1)
  for (const method of ['exhaustive', 'gradient'] as const) {
    const attack = pipe(attacks.roa({ height: 2, width: 2, placement: 'shared', search: { method, stride: 1, topK: 4 } }), withSteps(1))
    const r = await runAttack(attack, model, x, [0])
    t.deepEqual(corners([...r.searched.values()][0]!, 0), [[3, 3], [3, 3], [3, 3]], method)
    r.adversarial.dispose()
  }
  x.dispose()
})

test.serial('scoring is batched: exhaustive shared search of P positions for N clips takes ⌈P·N/32⌉ forward passes', async (t) => {
  const { model, calls } = hotspotModel(hotspots)
  const x = clips(3)
  const attack = pipe(attacks.roa({ height: 2, width: 2, placement: 'shared', search: { method: 'exhaustive', stride: 2 } }), withSteps(1))
  const before = calls()
  const r = await runAttack(attack, model, x, [0, 0, 0])
  const positions = 4 * 4 // rows 0, 2, 4, 6 × columns 0, 2, 4, 6
  const searchPasses = Math.ceil(positions / Math.floor(32 / 3))
  // + the clean pass, one gradient step and the final evaluation
  t.is(calls() - before, searchPasses + 3)
  tf.dispose([x, r.adversarial])
})

test.serial('without the masks, verify checks a searched rectangle by its size', async (t) => {
  const { model } = hotspotModel(hotspots)
  const x = clips(1)
  const r = await runAttack(pipe(attacks.roa({ height: 2, width: 2, search: { method: 'gradient', stride: 1 } }), withSteps(2)), model, x, [0])
  t.deepEqual(verify(r.certificate, x, r.adversarial), [])
  const tampered = Float32Array.from(await r.adversarial.data())
  tampered[0] = 0.9 // pixel (0, 0) of frame 0: far from that frame's window at (1, 5)
  const violations = verify(r.certificate, x, { shape: x.shape, data: tampered })
  t.deepEqual(
    violations.map((v) => v.message),
    ['changed pixels of sample 0, frame 0 (rows 0..2, columns 0..6) do not fit the searched rectangle of 2x2'],
  )
  t.like(violations[0], { bound: 'support', sample: 0, frame: 0 })
  t.true(r.searched.has(regionKey({ _tag: 'SearchedRect', height: 2, width: 2, search: 'gradient', scope: 'perFrame', stride: 1, topK: 8, fill: 0.5 })))
  tf.dispose([x, r.adversarial])
})
