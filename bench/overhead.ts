/**
 * DSL overhead: runAttack of Add-L∞ (no random start) and Mult-L∞ against a hand-written tfjs loop of
 * the same math, on the same model and backend, in the same run, at 5 and 20 steps. Two models: the
 * demo's tiny MLP over 32 toy clips of 4x8x8x3 (where interpreter overhead shows most) and the
 * shipped default model (3D ResNet-18, widths 8-16-32-64) on 8 benchmark clips of 8x32x32.
 *
 * Two baselines: the bare loop, and the loop followed by what a caller needs to know whether it
 * worked (one forward pass on the result and its predictions read back) — runAttack returns that.
 * Both run inside conv3d's `withFilterCache`, as runAttack does, so that only the interpreter differs.
 * From the two step counts: the per-step overhead (slope) and the fixed per-run cost (intercept).
 * Prints tables and writes bench/results/overhead.json.
 *
 * Run: node --import tsx bench/overhead.ts [--backend wasm|cpu] [--reps 15]
 */
import * as tf from '@tensorflow/tfjs-core'
import writeFileAtomic from 'write-file-atomic'
import { mkdir } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import * as attacks from '../src/dsl/attacks.js'
import { withSteps } from '../src/dsl/constructors.js'
import type { Attack } from '../src/dsl/types.js'
import { benchmark } from '../src/data/benchmark.js'
import { toyMotion } from '../src/data/toy.js'
import { initBackend, type BackendChoice } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { type Model } from '../src/core/model.js'
import { pretrained } from '../src/models/pretrained.js'
import { trainTinyMlp } from '../src/models/tiny.js'
import { withFilterCache } from '../src/ops/conv3d.js'
import { sign } from '../src/ops/sign.js'
import { benchMeta, iqr, median } from './meta.js'

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, reps: { type: 'string', default: '15' } } })
const backend = await initBackend(values.backend as BackendChoice)
const reps = Number(values.reps)

interface Subject {
  readonly name: string
  readonly model: Model
  readonly x: tf.Tensor5D
  readonly labels: ReadonlyArray<number>
  readonly classes: number
}

const toy = toyMotion({ count: 32, seed: 2 })
const train = toyMotion({ count: 256, seed: 1 })
const mlp = await trainTinyMlp(train.clips, train.labels, 2, { epochs: 10 })
const net = await pretrained('default')
const clips = benchmark({ split: 'test', count: 8 })
const subjects: Subject[] = [
  { name: 'tiny MLP, 32x4x8x8x3', model: mlp.model, x: tf.tensor5d(toy.clips.data, [...toy.clips.shape]), labels: toy.labels, classes: 2 },
  { name: 'default model, 8x8x32x32x3', model: net.model, x: tf.tensor5d(clips.clips.data, [...clips.clips.shape]), labels: clips.labels, classes: 6 },
]

/** The same math as attacks.addLinf({ randomStart: false }) and attacks.multLinf(), by hand. */
const handLoop = (s: Subject, kind: 'add' | 'mult', steps: number): tf.Tensor5D => {
  const oneHot = tf.oneHot(tf.tensor1d([...s.labels], 'int32'), s.classes)
  const loss = (v: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, s.model(v as tf.Tensor5D)) as tf.Scalar
  const x = s.x
  let adv = tf.clone(x) as tf.Tensor5D
  for (let i = 0; i < steps; i++) {
    const next = tf.tidy(() => {
      const g = tf.grad(loss)(adv)
      if (kind === 'add') {
        const [eps, alpha] = [4 / 255, 1 / 255]
        const stepped = tf.add(adv, tf.mul(sign(g), alpha))
        return tf.clipByValue(tf.add(x, tf.clipByValue(tf.sub(stepped, x), -eps, eps)), 0, 1)
      }
      const [eps, alpha] = [1.04, 1.01]
      const stepped = tf.mul(adv, tf.exp(tf.mul(sign(g), Math.log(alpha))))
      return tf.clipByValue(tf.minimum(tf.maximum(stepped, tf.div(x, eps)), tf.mul(x, eps)), 0, 1)
    }) as tf.Tensor5D
    adv.dispose()
    adv = next
  }
  oneHot.dispose()
  return adv
}

/** Milliseconds of one call of `f`, device sync included. */
const once = async (f: () => Promise<void>): Promise<number> => {
  const t0 = performance.now()
  await f()
  return performance.now() - t0
}

const variants = {
  runAttack: (s: Subject, attack: Attack) => async () => {
    const r = await runAttack(attack, s.model, s.x, s.labels)
    r.adversarial.dispose()
  },
  // the hand loops get conv3d's sub-filter cache too, as runAttack does: only the DSL differs
  bare: (s: Subject, kind: 'add' | 'mult', steps: number) => () =>
    withFilterCache(async () => {
      const adv = handLoop(s, kind, steps)
      await adv.data()
      adv.dispose()
    }),
  withPredictions: (s: Subject, kind: 'add' | 'mult', steps: number) => () =>
    withFilterCache(async () => {
      const adv = handLoop(s, kind, steps)
      const p = tf.tidy(() => tf.argMax(s.model(adv), 1))
      await p.data()
      tf.dispose([adv, p])
    }),
}

const STEPS = [5, 20] as const
const rows = []
for (const s of subjects) {
  for (const [label, kind, base] of [
    ['Add-L∞', 'add', attacks.addLinf({ randomStart: false })],
    ['Mult-L∞', 'mult', attacks.multLinf()],
  ] as const) {
    const cells = []
    const medians: Record<number, { dsl: number; bare: number }> = {}
    for (const steps of STEPS) {
      const attack = withSteps(steps)(base)
      const run = { dsl: variants.runAttack(s, attack), bare: variants.bare(s, kind, steps), pred: variants.withPredictions(s, kind, steps) }
      for (let w = 0; w < 2; w++) for (const f of Object.values(run)) await once(f) // warm-up
      // paired: the three run back to back in every round, so that drift of the machine's speed
      // hits a pair alike; the ratio is the median of the per-round ratios
      const dsl: number[] = []
      const bare: number[] = []
      const pred: number[] = []
      for (let r = 0; r < reps; r++) {
        dsl.push(await once(run.dsl))
        bare.push(await once(run.bare))
        pred.push(await once(run.pred))
      }
      const ratioBare = dsl.map((d, i) => d / bare[i]!)
      const ratioPred = dsl.map((d, i) => d / pred[i]!)
      medians[steps] = { dsl: median(dsl), bare: median(bare) }
      cells.push({
        steps,
        runAttackMs: median(dsl),
        runAttackIqr: iqr(dsl),
        bareMs: median(bare),
        bareIqr: iqr(bare),
        withPredictionsMs: median(pred),
        ratioBare: median(ratioBare),
        ratioBareIqr: iqr(ratioBare, 3),
        ratioWithPredictions: median(ratioPred),
      })
    }
    const [lo, hi] = STEPS
    const slope = (v: 'dsl' | 'bare') => (medians[hi]![v] - medians[lo]![v]) / (hi - lo)
    const perStep = { dsl: slope('dsl'), bare: slope('bare') }
    rows.push({
      model: s.name,
      attack: label,
      steps: cells,
      perStepMs: perStep,
      perStepOverhead: perStep.dsl / perStep.bare - 1,
      fixedMs: medians[lo]!.dsl - lo * perStep.dsl - (medians[lo]!.bare - lo * perStep.bare),
    })
  }
}
for (const s of subjects) s.x.dispose()
mlp.dispose()
net.dispose()

const meta = { ...benchMeta(backend), reps }
console.log(`DSL overhead, backend ${backend}, ${reps} paired rounds per cell after 2 warm-ups (median, interquartile range):`)
console.log('| model | attack | steps | runAttack (ms) | hand loop (ms) | ratio (paired) | hand loop + predictions (ms) | ratio (paired) |')
console.log('|---|---|---|---|---|---|---|---|')
for (const r of rows)
  for (const c of r.steps)
    console.log(
      `| ${r.model} | ${r.attack} | ${c.steps} | ${c.runAttackMs.toFixed(1)} (${c.runAttackIqr}) | ${c.bareMs.toFixed(1)} (${c.bareIqr}) | ${c.ratioBare.toFixed(3)} (${c.ratioBareIqr}) | ${c.withPredictionsMs.toFixed(1)} | ${c.ratioWithPredictions.toFixed(3)} |`,
    )
console.log('\n| model | attack | per step: runAttack (ms) | per step: hand loop (ms) | per-step overhead | fixed cost per run (ms) |')
console.log('|---|---|---|---|---|---|')
for (const r of rows)
  console.log(`| ${r.model} | ${r.attack} | ${r.perStepMs.dsl.toFixed(2)} | ${r.perStepMs.bare.toFixed(2)} | ${(100 * r.perStepOverhead).toFixed(1)}% | ${r.fixedMs.toFixed(1)} |`)
await mkdir('bench/results', { recursive: true })
await writeFileAtomic('bench/results/overhead.json', JSON.stringify({ meta, rows }, null, 2) + '\n')
