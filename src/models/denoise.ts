/**
 * Feature-denoising blocks (Xie et al., "Feature Denoising for Improving Adversarial Robustness",
 * CVPR 2019): Gaussian (embedded) non-local means with a residual connection, as the MultAV paper
 * inserts them after each of the four residual stages of its 3D ResNet-18.
 *
 * For features x of shape [N, T, H, W, C], within each frame (P = H·W positions, D = ⌈C/2⌉):
 *
 *   θ = x·W_θ, φ = x·W_φ                 1x1x1 embeddings C → D
 *   f = softmax_q(θ_p·φ_q / √D)           affinity of position p to q in the same frame, [P, P]
 *   y_p = Σ_q f_pq · x_q                   the denoised feature (a weighted mean over the frame)
 *   out = x + y·W_out                      1x1x1 C → C, W_out zero-initialised: a fresh block is the identity
 *
 * - '3d': one W_θ, W_φ shared by every frame ([C, D] each).
 * - '2d': separate per-frame embeddings, one W_θ, W_φ per time slice of the stage ([T_s, C, D] each),
 *   so the block needs the stage's clip length.
 *
 * W_out is shared by all frames in both. Weights are matrices named `denoise{stage}.{theta,phi,out}.weight`
 * (stage 1–4). Every op here (matMul, softmax, transpose, reshape) has a correct gradient on wasm.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-layers' // registers gradients
import { InputError } from '../core/errors.js'

export type DenoiseKind = 'none' | '3d' | '2d'
export const DENOISE_KINDS: ReadonlyArray<DenoiseKind> = ['none', '3d', '2d']

/** The weights of one block: name suffix → shape. */
export const denoiseShapes = (kind: Exclude<DenoiseKind, 'none'>, channels: number, frames: number): Readonly<Record<'theta' | 'phi' | 'out', number[]>> => {
  const D = embedding(channels)
  const perFrame = kind === '2d' ? [frames] : []
  return { theta: [...perFrame, channels, D], phi: [...perFrame, channels, D], out: [channels, channels] }
}

/** The embedding width D = ⌈C/2⌉ (at least 1). */
export const embedding = (channels: number): number => Math.max(1, Math.ceil(channels / 2))

export interface DenoiseWeights {
  readonly theta: tf.Tensor
  readonly phi: tf.Tensor
  readonly out: tf.Tensor
}

/** x + NonLocal(x)·W_out for x [N, T, H, W, C] (see the module comment); the caller tidies. */
export const denoise = (kind: Exclude<DenoiseKind, 'none'>, x: tf.Tensor5D, w: DenoiseWeights): tf.Tensor5D => {
  const [N, T, H, W, C] = x.shape
  const P = H * W
  const D = embedding(C)
  const embed = (m: tf.Tensor): tf.Tensor3D => {
    if (kind === '3d') return tf.reshape(tf.matMul(tf.reshape(x, [N * T * P, C]), m as tf.Tensor2D), [N * T, P, D])
    if (m.shape[0] !== T) throw new InputError(`denoise('2d'): the block has embeddings for ${m.shape[0]} frames, the features have ${T}`)
    // [N, T, P, C] → [T, N·P, C] · [T, C, D] → [T, N·P, D] → [N·T, P, D]
    const perFrame = tf.reshape(tf.transpose(tf.reshape(x, [N, T, P, C]), [1, 0, 2, 3]), [T, N * P, C])
    const e = tf.matMul(perFrame, m as tf.Tensor3D)
    return tf.reshape(tf.transpose(tf.reshape(e, [T, N, P, D]), [1, 0, 2, 3]), [N * T, P, D])
  }
  const affinity = tf.softmax(tf.div(tf.matMul(embed(w.theta), embed(w.phi), false, true), Math.sqrt(D))) // [N·T, P, P]
  const y = tf.matMul(affinity, tf.reshape(x, [N * T, P, C])) // [N·T, P, C]
  const back = tf.reshape(tf.matMul(tf.reshape(y, [N * T * P, C]), w.out as tf.Tensor2D), x.shape)
  return tf.add(x, back) as tf.Tensor5D
}
