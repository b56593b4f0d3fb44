/**
 * What multav attacks: a video classifier as a function of tensors.
 *
 * @since 0.1.0
 */
import type * as tf from '@tensorflow/tfjs-core'

/** A video classifier: `[N, T, H, W, C]` clips in [0, 1] → `[N, K]` logits. */
export type Model = (x: tf.Tensor5D) => tf.Tensor2D
