/**
 * Training: SGD with momentum and weight decay (PyTorch's convention: v ← μ·v + g + λ·w, w ← w − η·v),
 * a learning-rate schedule, seeded shuffling, checkpoints after every epoch and resume, progress with
 * an ETA — and, given an attack value, adversarial training (Madry et al.): each minibatch is replaced
 * by its adversarial version, attacked in inference mode, before the update in training mode.
 *
 * A run is reproducible: the same seed gives the same weights, and a run resumed from its checkpoint
 * ends with exactly the weights of an uninterrupted one.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-layers' // registers gradients
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { match } from '../dsl/match.js'
import type { Attack, Target } from '../dsl/types.js'
import type { ClipData } from '../core/clip.js'
import { InputError } from '../core/errors.js'
import { runAttack } from '../interpreters/tensor.js'
import { loadWeights, saveWeights } from './weights.js'

/** A model with named trainable variables; `training` selects batch statistics where it matters. */
export interface Trainable {
  readonly apply: (x: tf.Tensor5D, training: boolean) => tf.Tensor2D
  /** What the optimiser updates. */
  readonly variables: Readonly<Record<string, tf.Variable>>
  /** What training updates otherwise (BN running statistics): checkpointed, not differentiated. */
  readonly state?: Readonly<Record<string, tf.Variable>>
}

/** Learning rate per epoch (0-based): constant, step decay, or cosine annealing to 0. */
export type Schedule =
  | { readonly _tag: 'Constant'; readonly lr: number }
  | { readonly _tag: 'Step'; readonly lr: number; readonly every: number; readonly factor: number }
  | { readonly _tag: 'Cosine'; readonly lr: number }

export interface Progress {
  readonly epoch: number
  readonly epochs: number
  readonly step: number
  readonly steps: number
  /** Mean training loss so far in this epoch. */
  readonly loss: number
  /** Training accuracy so far in this epoch (on the adversarial batches when training adversarially). */
  readonly accuracy: number
  readonly etaSeconds: number
}

export interface TrainOptions {
  readonly epochs: number
  readonly batchSize?: number
  readonly schedule?: Schedule
  readonly momentum?: number
  readonly weightDecay?: number
  readonly seed?: number
  /** Save a checkpoint here after every epoch (weights, momentum buffers, epoch). */
  readonly checkpointDir?: string
  /** Continue from the checkpoint in `checkpointDir` when there is one. */
  readonly resume?: boolean
  /** Train on this attack's adversarial minibatches (Madry). */
  readonly attack?: Attack
  readonly onProgress?: (p: Progress) => void
  /** Called after each epoch (and its checkpoint) with the number of epochs done, e.g. to evaluate. */
  readonly onEpoch?: (epochsDone: number) => void | Promise<void>
  /** Stop after this many epochs of this call (for tests of resume; default all). */
  readonly stopAfter?: number
}

export interface TrainReport {
  readonly epochsRun: number
  readonly resumedFrom: number
  readonly finalLoss: number
  readonly seconds: number
}

/** The learning rate of epoch `e` (0-based) out of `epochs`: η, η·factor^⌊e/every⌋, or η·(1 + cos(π·e/epochs))/2. */
export const learningRate: (s: Schedule, e: number, epochs: number) => number = match<Schedule, number, [number, number]>({
  Constant: ({ lr }) => lr,
  Step: ({ lr, factor, every }, e) => lr * factor ** Math.floor(e / every),
  Cosine: ({ lr }, e, epochs) => (lr * (1 + Math.cos((Math.PI * e) / epochs))) / 2,
})

/** Why an attack cannot make the adversarial minibatches, or undefined: per-sample targets fit one batch, training has many. */
const minibatchRefusal = match<Target, string | undefined>({
  Untargeted: () => undefined,
  Targeted: () => undefined,
  TargetedEach: ({ labels }) =>
    `train: the attack's loss has one target per sample of one batch (TargetedEach, ${labels.length} labels), and training attacks every minibatch; use Targeted or an untargeted loss`,
})

/** Epoch `e`'s order of the N clips: a Fisher–Yates shuffle seeded by (seed, e). */
export const shuffled = (N: number, seed: number, e: number): number[] => {
  const rng = xoroshiro128plus((seed * 1000003 + e) | 0)
  const order = Array.from({ length: N }, (_, i) => i)
  for (let i = N - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

const EPOCH_KEY = '__epoch__'
const momentumKey = (name: string) => `momentum/${name}`

/** Trains `net` on `data` with the given options; returns a short report. */
export const train = async (net: Trainable, data: { clips: ClipData; labels: ReadonlyArray<number> }, o: TrainOptions): Promise<TrainReport> => {
  const refusal = o.attack === undefined ? undefined : minibatchRefusal(o.attack.loss.target)
  if (refusal !== undefined) throw new InputError(refusal)
  const started = Date.now()
  const [N, T, H, W, C] = data.clips.shape
  const batch = o.batchSize ?? 16
  const schedule = o.schedule ?? { _tag: 'Constant', lr: 0.01 }
  const mu = o.momentum ?? 0.9
  const decay = o.weightDecay ?? 5e-4
  const seed = o.seed ?? 0
  const names = Object.keys(net.variables)
  const velocity: Record<string, tf.Variable> = Object.fromEntries(
    names.map((n) => [n, tf.tidy(() => tf.variable(tf.zerosLike(net.variables[n]!), false))]),
  )
  let first = 0
  try {
    if (o.resume && o.checkpointDir && existsSync(join(o.checkpointDir, 'model.json'))) first = await restore(o.checkpointDir, net, velocity)
    const x = tf.tensor5d(data.clips.data, [N, T, H, W, C])
    const steps = Math.ceil(N / batch)
    const last = Math.min(o.epochs, first + (o.stopAfter ?? o.epochs))
    let finalLoss = Number.NaN
    try {
      for (let e = first; e < last; e++) {
        const lr = learningRate(schedule, e, o.epochs)
        const order = shuffled(N, seed, e)
        let [lossSum, correct, seen] = [0, 0, 0]
        for (let s = 0; s < steps; s++) {
          const idx = order.slice(s * batch, (s + 1) * batch)
          const labels = idx.map((i) => data.labels[i]!)
          let xb = tf.tidy(() => tf.gather(x, tf.tensor1d(idx, 'int32'))) as tf.Tensor5D
          if (o.attack) {
            const r = await runAttack({ ...o.attack, seed: o.attack.seed + e * steps + s }, (v) => net.apply(v, false), xb, labels)
            xb.dispose()
            xb = r.adversarial
          }
          const [loss, hits] = sgdStep(net, velocity, xb, labels, { lr, mu, decay })
          xb.dispose()
          lossSum += loss * idx.length
          correct += hits
          seen += idx.length
          const done = (e - first) * steps + s + 1
          const total = (last - first) * steps
          o.onProgress?.({
            epoch: e + 1,
            epochs: o.epochs,
            step: s + 1,
            steps,
            loss: lossSum / seen,
            accuracy: correct / seen,
            etaSeconds: (((Date.now() - started) / 1000) * (total - done)) / done,
          })
        }
        finalLoss = lossSum / seen
        if (o.checkpointDir) await checkpoint(o.checkpointDir, net, velocity, e + 1)
        await o.onEpoch?.(e + 1)
      }
    } finally {
      x.dispose()
    }
    return { epochsRun: last - first, resumedFrom: first, finalLoss, seconds: (Date.now() - started) / 1000 }
  } finally {
    tf.dispose(Object.values(velocity))
  }
}

/** One update on a minibatch; returns its mean loss and the number of correct predictions. */
const sgdStep = (
  net: Trainable,
  velocity: Record<string, tf.Variable>,
  xb: tf.Tensor5D,
  labels: ReadonlyArray<number>,
  h: { readonly lr: number; readonly mu: number; readonly decay: number },
): [number, number] => {
  const [loss, hits] = tf.tidy(() => {
    const truth = tf.tensor1d([...labels], 'int32')
    let predictions: tf.Tensor | undefined
    const { value, grads } = tf.variableGrads(() => {
      const logits = net.apply(xb, true)
      predictions = tf.keep(tf.argMax(logits, 1))
      return tf.losses.softmaxCrossEntropy(tf.oneHot(truth, logits.shape[1]), logits) as tf.Scalar
    }, Object.values(net.variables))
    for (const [name, w] of Object.entries(net.variables)) {
      const g = grads[w.name]
      if (!g) continue
      const v = velocity[name]!
      // v ← μ·v + g + λ·w ; w ← w − η·v
      v.assign(tf.add(tf.mul(v, h.mu), tf.add(g, tf.mul(w, h.decay))))
      w.assign(tf.sub(w, tf.mul(v, h.lr)))
    }
    const hitCount = tf.sum(tf.cast(tf.equal(predictions!, truth), 'int32'))
    tf.dispose(predictions!)
    return [value, hitCount]
  })
  const result: [number, number] = [loss.dataSync()[0]!, hits.dataSync()[0]!]
  tf.dispose([loss, hits])
  return result
}

const checkpoint = async (dir: string, net: Trainable, velocity: Record<string, tf.Variable>, epochsDone: number) => {
  const epoch = tf.scalar(epochsDone)
  try {
    await saveWeights(dir, {
      ...net.variables,
      ...net.state,
      ...Object.fromEntries(Object.entries(velocity).map(([n, v]) => [momentumKey(n), v])),
      [EPOCH_KEY]: epoch,
    })
  } finally {
    epoch.dispose()
  }
}

/** Loads a checkpoint into the model and the momentum buffers; returns the epochs already done. */
const restore = async (dir: string, net: Trainable, velocity: Record<string, tf.Variable>): Promise<number> => {
  const model = { ...net.variables, ...net.state }
  const expected = {
    ...Object.fromEntries(Object.entries(model).map(([n, v]) => [n, v.shape])),
    ...Object.fromEntries(Object.entries(velocity).map(([n, v]) => [momentumKey(n), v.shape])),
    [EPOCH_KEY]: [],
  }
  const { weights } = await loadWeights(dir, expected)
  try {
    for (const [n, v] of Object.entries(model)) v.assign(weights[n]!)
    for (const [n, v] of Object.entries(velocity)) v.assign(weights[momentumKey(n)]!)
    return weights[EPOCH_KEY]!.dataSync()[0]!
  } finally {
    tf.dispose(Object.values(weights))
  }
}
