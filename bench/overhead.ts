/**
 * DSL overhead: runAttack of Add-L∞ (no random start) and Mult-L∞ against a hand-written tfjs loop of
 * the same math, on the same model and backend, in the same run, at 5 and 20 steps. Two models: the
 * demo's tiny MLP over 32 toy clips of 4x8x8x3 (where interpreter overhead shows most) and the
 * shipped default model (3D ResNet-18, widths 8-16-32-64) on 8 benchmark clips of 8x32x32.
 *
 * Three baselines: the bare loop (tf ops and multav's exact sign), the loop followed by what a caller
 * needs to know whether it worked (one forward pass on the result and its predictions read back) —
 * runAttack returns that —, and that loop written with the pointwise kernels runAttack's steps use
 * (`clampAround`, `powerStep`), so that only the interpreter differs. All run inside conv3d's
 * `withFilterCache`, as runAttack does. From the two step counts: the per-step overhead (slope) and
 * the fixed per-run cost (intercept).
 *
 * The interpreter's cost does not depend on the model (the same model calls on both sides), so a
 * third subject, a linear model over the default model's clips (8x8x32x32x3; its gradient costs
 * ~0.1 ms), measures it where the model's own time, and its noise, are nearly nil: the paired
 * difference runAttack − kernel loop there, over runAttack's time on the default model, is the
 * overhead on the default model with a noise of a few tenths of a percent.
 * Prints tables and writes bench/results/overhead.json.
 *
 * Run: node --import tsx bench/overhead.ts [--backend wasm|cpu] [--reps 15] [--steps 5,20]
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
import { clampAround } from '../src/ops/clamp-around.js'
import { powerStep } from '../src/ops/power-step.js'
import { sign } from '../src/ops/sign.js'
import { benchMeta, iqr, median } from './meta.js'

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, reps: { type: 'string', default: '15' }, steps: { type: 'string', default: '5,20' } } })
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
const LINEAR = 'linear model, 8x8x32x32x3'
const D = 8 * 32 * 32 * 3
const linearWeights = tf.tidy(() => tf.mul(tf.randomNormal([D, 6], 0, 1, 'float32', 4), 1 / Math.sqrt(D)))
/** Logits W·vec(x): a model whose forward pass and gradient cost ~0.1 ms. */
const linear: Model = (x) => tf.tidy(() => tf.matMul(tf.reshape(x, [x.shape[0], D]), linearWeights))
const subjects: Subject[] = [
  { name: 'tiny MLP, 32x4x8x8x3', model: mlp.model, x: tf.tensor5d(toy.clips.data, [...toy.clips.shape]), labels: toy.labels, classes: 2 },
  { name: 'default model, 8x8x32x32x3', model: net.model, x: tf.tensor5d(clips.clips.data, [...clips.clips.shape]), labels: clips.labels, classes: 6 },
  { name: LINEAR, model: linear, x: tf.tensor5d(clips.clips.data, [...clips.clips.shape]), labels: clips.labels, classes: 6 },
]

/**
 * The same math as attacks.addLinf({ randomStart: false }) and attacks.multLinf(), by hand: with tf
 * ops, or (`kernels`) with the pointwise kernels runAttack's steps use.
 */
const handLoop = (s: Subject, kind: 'add' | 'mult', steps: number, kernels = false): tf.Tensor5D => {
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
        const inBall = kernels ? clampAround('ball', eps, x, stepped) : tf.add(x, tf.clipByValue(tf.sub(stepped, x), -eps, eps))
        return tf.clipByValue(inBall, 0, 1)
      }
      const [eps, alpha] = [1.04, 1.01]
      const stepped = kernels ? powerStep(adv, sign(g), Math.log(alpha)) : tf.mul(adv, tf.exp(tf.mul(sign(g), Math.log(alpha))))
      const inRatio = kernels ? clampAround('ratio', eps, x, stepped) : tf.minimum(tf.maximum(stepped, tf.div(x, eps)), tf.mul(x, eps))
      return tf.clipByValue(inRatio, 0, 1)
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
  withPredictions: (s: Subject, kind: 'add' | 'mult', steps: number, kernels = false) => () =>
    withFilterCache(async () => {
      const adv = handLoop(s, kind, steps, kernels)
      const p = tf.tidy(() => tf.argMax(s.model(adv), 1))
      await p.data()
      tf.dispose([adv, p])
    }),
}

const STEPS = values.steps.split(',').map(Number)
if (STEPS.length === 0 || STEPS.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--steps: expected step counts like 5,20, got "${values.steps}"`)
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
      const run = {
        dsl: variants.runAttack(s, attack),
        bare: variants.bare(s, kind, steps),
        pred: variants.withPredictions(s, kind, steps),
        kernels: variants.withPredictions(s, kind, steps, true),
      }
      for (let w = 0; w < 2; w++) for (const f of Object.values(run)) await once(f) // warm-up
      // paired: the three run back to back in every round, so that drift of the machine's speed
      // hits a pair alike; the ratio is the median of the per-round ratios
      const dsl: number[] = []
      const bare: number[] = []
      const pred: number[] = []
      const kern: number[] = []
      for (let r = 0; r < reps; r++) {
        dsl.push(await once(run.dsl))
        bare.push(await once(run.bare))
        pred.push(await once(run.pred))
        kern.push(await once(run.kernels))
      }
      const ratioBare = dsl.map((d, i) => d / bare[i]!)
      const ratioPred = dsl.map((d, i) => d / pred[i]!)
      const ratioKern = dsl.map((d, i) => d / kern[i]!)
      const diffKern = dsl.map((d, i) => d - kern[i]!)
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
        kernelLoopMs: median(kern),
        ratioKernelLoop: median(ratioKern),
        ratioKernelLoopIqr: iqr(ratioKern, 3),
        minusKernelLoopMs: median(diffKern),
        minusKernelLoopIqr: iqr(diffKern, 2),
      })
    }
    const [lo, hi] = [STEPS[0]!, STEPS.at(-1)!]
    const slope = (v: 'dsl' | 'bare') => (hi === lo ? Number.NaN : (medians[hi]![v] - medians[lo]![v]) / (hi - lo))
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
const measured = [...rows]
// the interpreter's cost measured on the linear model, as a share of runAttack's time on the default model
const overheadOnDefault = STEPS.flatMap((steps) =>
  ['Add-L∞', 'Mult-L∞'].map((attack) => {
    const cell = (model: string) => measured.find((r) => r.model === model && r.attack === attack)!.steps.find((c) => c.steps === steps)!
    const extra = cell(LINEAR)
    const onDefault = cell(subjects[1]!.name)
    return { attack, steps, interpreterMs: extra.minusKernelLoopMs, interpreterIqr: extra.minusKernelLoopIqr, defaultRunAttackMs: onDefault.runAttackMs, overhead: extra.minusKernelLoopMs / onDefault.runAttackMs }
  }),
)
for (const s of subjects) s.x.dispose()
linearWeights.dispose()
mlp.dispose()
net.dispose()

const meta = { ...benchMeta(backend), reps }
console.log(`DSL overhead, backend ${backend}, ${reps} paired rounds per cell after 2 warm-ups (median, interquartile range):`)
console.log('| model | attack | steps | runAttack (ms) | hand loop (ms) | ratio (paired) | hand loop + predictions (ms) | ratio (paired) | kernel loop + predictions (ms) | ratio (paired) | runAttack − kernel loop (ms, paired) |')
console.log('|---|---|---|---|---|---|---|---|---|---|---|')
for (const r of rows)
  for (const c of r.steps)
    console.log(
      `| ${r.model} | ${r.attack} | ${c.steps} | ${c.runAttackMs.toFixed(1)} (${c.runAttackIqr}) | ${c.bareMs.toFixed(1)} (${c.bareIqr}) | ${c.ratioBare.toFixed(3)} (${c.ratioBareIqr}) | ${c.withPredictionsMs.toFixed(1)} | ${c.ratioWithPredictions.toFixed(3)} | ${c.kernelLoopMs.toFixed(1)} | ${c.ratioKernelLoop.toFixed(3)} (${c.ratioKernelLoopIqr}) | ${c.minusKernelLoopMs.toFixed(2)} (${c.minusKernelLoopIqr}) |`,
    )
console.log('\nthe interpreter\'s cost (runAttack − kernel loop on the linear model) over runAttack on the default model:')
console.log('| attack | steps | interpreter (ms, IQR) | runAttack, default model (ms) | overhead |\n|---|---|---|---|---|')
for (const o of overheadOnDefault)
  console.log(`| ${o.attack} | ${o.steps} | ${o.interpreterMs.toFixed(2)} (${o.interpreterIqr}) | ${o.defaultRunAttackMs.toFixed(1)} | ${(100 * o.overhead).toFixed(2)}% |`)
if (STEPS.length > 1) {
  console.log('\n| model | attack | per step: runAttack (ms) | per step: hand loop (ms) | per-step overhead | fixed cost per run (ms) |')
  console.log('|---|---|---|---|---|---|')
  for (const r of rows)
    console.log(`| ${r.model} | ${r.attack} | ${r.perStepMs.dsl.toFixed(2)} | ${r.perStepMs.bare.toFixed(2)} | ${(100 * r.perStepOverhead).toFixed(1)}% | ${r.fixedMs.toFixed(1)} |`)
}
await mkdir('bench/results', { recursive: true })
await writeFileAtomic('bench/results/overhead.json', JSON.stringify({ meta, rows, overheadOnDefault }, null, 2) + '\n')
