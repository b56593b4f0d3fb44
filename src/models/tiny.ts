/**
 * A tiny MLP video classifier (flatten → dense → ReLU → dense) for tests and the demo, trained with
 * Adam on whatever backend is in use. Real 3D video models are their own issue.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-layers' // registers gradients
import type { Model } from '../core/model.js'
import type { Trainable } from './train.js'
import type { ClipData } from '../core/clip.js'
import { gaussianNoise } from '../core/noise.js'

export interface TinyMlp {
  readonly model: Model
  readonly variables: ReadonlyArray<tf.Variable>
  readonly dispose: () => void
}

export interface TrainOptions {
  readonly hidden?: number
  readonly epochs?: number
  readonly batchSize?: number
  readonly learningRate?: number
  readonly seed?: number
  readonly onEpoch?: (epoch: number, loss: number) => void
}

/** Trains a `D → hidden → K` MLP on `clips` with cross-entropy; returns it with its variables. */
export const trainTinyMlp = async (
  clips: ClipData,
  labels: ReadonlyArray<number>,
  classes: number,
  o: TrainOptions = {},
): Promise<TinyMlp> => {
  const [N, T, H, W, C] = clips.shape
  const D = T * H * W * C
  const net = tinyMlp(D, o.hidden ?? 32, classes, o.seed ?? 0)
  const { model } = net
  const trainable = Object.values(net.variables)
  const optimizer = tf.train.adam(o.learningRate ?? 0.01)
  const x = tf.tensor2d(clips.data, [N, D])
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d([...labels], 'int32'), classes))
  const batch = o.batchSize ?? 32
  try {
    for (let epoch = 0; epoch < (o.epochs ?? 30); epoch++) {
      let total = 0
      for (let start = 0; start < N; start += batch) {
        const size = Math.min(batch, N - start)
        const cost = optimizer.minimize(
          () => {
            const xb = tf.reshape(tf.slice(x, [start, 0], [size, D]), [size, T, H, W, C]) as tf.Tensor5D
            return tf.losses.softmaxCrossEntropy(tf.slice(y, [start, 0], [size, classes]), model(xb)) as tf.Scalar
          },
          true,
          trainable,
        )
        total += (await cost!.data())[0]! * size
        cost!.dispose()
      }
      o.onEpoch?.(epoch + 1, total / N)
    }
  } finally {
    tf.dispose([x, y])
    optimizer.dispose()
  }
  return { model, variables: trainable, dispose: net.dispose }
}

/** An untrained `D → hidden → K` MLP over flattened clips, as a `Trainable` (He-normal, seeded). */
export const tinyMlp = (D: number, hidden: number, K: number, seed = 0): Trainable & { readonly model: Model; readonly dispose: () => void } => {
  const normal = (shape: [number, number], std: number, stream: number) =>
    tf.tidy(() => tf.variable(tf.mul(tf.tensor2d(gaussianNoise(seed * 2 + stream, shape[0] * shape[1]), shape), std)))
  const variables = {
    w1: normal([D, hidden], Math.sqrt(2 / D), 0),
    b1: tf.tidy(() => tf.variable(tf.zeros([hidden]))),
    w2: normal([hidden, K], Math.sqrt(1 / hidden), 1),
    b2: tf.tidy(() => tf.variable(tf.zeros([K]))),
  }
  const model: Model = (x) =>
    tf.tidy(() =>
      tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(tf.reshape(x, [x.shape[0], D]), variables.w1), variables.b1)), variables.w2), variables.b2),
    )
  return { apply: (x) => model(x), model, variables, dispose: () => tf.dispose(Object.values(variables)) }
}

/** Accuracy of `model` on `clips` (fraction of argmax = label). */
export const accuracy = async (model: Model, clips: ClipData, labels: ReadonlyArray<number>): Promise<number> => {
  const predictions = tf.tidy(() => tf.argMax(model(tf.tensor5d(clips.data, [...clips.shape])), 1))
  const p = await predictions.data()
  predictions.dispose()
  return labels.filter((l, i) => p[i] === l).length / labels.length
}
