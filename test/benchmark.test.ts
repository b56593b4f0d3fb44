/** The shipped benchmark generator: deterministic fixed splits, balanced classes, natural statistics. */
import test from 'ava'
import { benchmark, BENCHMARK_CLASSES } from '../src/data/benchmark.js'

const small = { T: 4, H: 16, W: 16 }

test('the splits are deterministic and disjoint', (t) => {
  const a = benchmark({ split: 'train', count: 12, ...small })
  const b = benchmark({ split: 'train', count: 12, ...small })
  const c = benchmark({ split: 'test', count: 12, ...small })
  t.deepEqual(a.clips.data, b.clips.data)
  t.notDeepEqual(a.clips.data, c.clips.data)
  t.deepEqual(a.clips.shape, [12, 4, 16, 16, 3])
  t.deepEqual(a.classes, BENCHMARK_CLASSES)
})

test('classes are balanced and the pixel statistics look natural (mean ≈ 0.4, exact zeros, saturated highlights)', (t) => {
  const { clips, labels } = benchmark({ split: 'train', count: 120, ...small })
  t.deepEqual(BENCHMARK_CLASSES.map((_, k) => labels.filter((l) => l === k).length), [20, 20, 20, 20, 20, 20])
  const d = clips.data
  const mean = d.reduce((s, v) => s + v, 0) / d.length
  t.true(mean > 0.35 && mean < 0.45, `mean ${mean}`)
  t.true(d.every((v) => v >= 0 && v <= 1))
  const zeros = d.filter((v) => v === 0).length / d.length
  const ones = d.filter((v) => v === 1).length / d.length
  t.true(zeros > 0.01 && zeros < 0.15, `exact zeros ${zeros}`)
  t.true(ones > 0.001 && ones < 0.05, `saturated ${ones}`)
})

test('frames change over time (motion), and a single frame\'s brightness does not tell the class', (t) => {
  const { clips, labels } = benchmark({ split: 'test', count: 240, ...small })
  const [N, T, H, W, C] = clips.shape
  const frame = H * W * C
  let moving = 0
  const firstFrameMean = BENCHMARK_CLASSES.map(() => [0, 0] as [number, number])
  for (let n = 0; n < N; n++) {
    const clip = clips.data.subarray(n * T * frame, (n + 1) * T * frame)
    let diff = 0
    for (let i = 0; i < frame; i++) diff += Math.abs(clip[3 * frame + i]! - clip[i]!)
    if (diff / frame > 0.005) moving++
    const m = clip.subarray(0, frame).reduce((s, v) => s + v, 0) / frame
    const entry = firstFrameMean[labels[n]!]!
    entry[0] += m
    entry[1]++
  }
  t.true(moving / N > 0.95, `clips with visible motion: ${moving}/${N}`)
  const means = firstFrameMean.map(([s, k]) => s / k)
  t.true(Math.max(...means) - Math.min(...means) < 0.03, `first-frame means per class ${means}`)
})

test('bad sizes are refused with the argument named', (t) => {
  t.throws(() => benchmark({ T: 1 }), { message: 'benchmark: T must be an integer ≥ 2, got 1' })
  t.throws(() => benchmark({ H: 8 }), { message: 'benchmark: H must be an integer ≥ 12, got 8' })
  t.throws(() => benchmark({ count: 2.5 }), { message: 'benchmark: count must be an integer ≥ 1, got 2.5' })
  t.throws(() => benchmark({ count: 100000, T: 64, H: 112, W: 112 }), { message: /more than 402653184/ })
})
