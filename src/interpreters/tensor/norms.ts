/**
 * Per-sample and per-frame reductions of `[N, T, H, W, C]` tensors, and parameters in 'rms' units.
 *
 * @since 0.2.0
 */
import * as tf from '@tensorflow/tfjs-core'
import type { Units } from '../../dsl/types.js'

/** The axes of one sample (T, H, W, C) and of one frame (H, W, C). */
export const SAMPLE_AXES = [1, 2, 3, 4]
export const FRAME_AXES = [2, 3, 4]

/** A parameter in absolute units: 'rms' values are per value, × √(values per sample). */
export const effective = (value: number, units: Units, perSample: number): number =>
  units === 'rms' ? value * Math.sqrt(perSample) : value

/** 1 where v is 0, v elsewhere: a divisor that leaves 0/0 at 0. */
export const nonZero = (v: tf.Tensor): tf.Tensor => tf.where(tf.greater(v, 0), v, tf.onesLike(v))

/**
 * ‖v‖₂ over `axes`, kept for broadcasting, computed as m·‖v/m‖₂ with m = max|v| so that squares of
 * large values (ratios up to 1e30) do not overflow float32 and squares of tiny gradients do not vanish.
 */
export const l2Norm = (v: tf.Tensor, axes: number[]): tf.Tensor => {
  const m = nonZero(tf.max(tf.abs(v), axes, true))
  return tf.mul(m, tf.sqrt(tf.sum(tf.square(tf.div(v, m)), axes, true)))
}

/** ‖v‖₂ over `axes` (kept), with 1 where it is 0 so that v / norm stays 0 there. */
export const safeNorm = (v: tf.Tensor, axes: number[]): tf.Tensor => nonZero(l2Norm(v, axes))

/** scale·v/‖v‖₂ per sample (0 where v is 0). */
export const unitPerSample = (v: tf.Tensor, scale: number): tf.Tensor => tf.mul(tf.div(v, safeNorm(v, SAMPLE_AXES)), scale)

/**
 * v / mean|v| per sample (0 where v is all zero), computed as (v/m) / mean|v/m| with m = max|v| so
 * that tiny gradients do not underflow.
 */
export const perMeanAbs = (v: tf.Tensor): tf.Tensor => {
  const u = tf.div(v, nonZero(tf.max(tf.abs(v), SAMPLE_AXES, true)))
  return tf.div(u, nonZero(tf.mean(tf.abs(u), SAMPLE_AXES, true)))
}
