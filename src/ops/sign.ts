/**
 * sign(v): exactly +1 for every v > 0, −1 for every v < 0, and 0 at ±0 (and at NaN), on every backend.
 *
 * `tf.sign` is not that on wasm: tfjs-backend-wasm 4.22.0 returns 0 for every |v| < 1.19e-7 (float32's
 * machine epsilon), and real models' input gradients of a batch-mean loss are routinely that small, so a
 * sign step would leave those values unmoved. Two comparisons and a subtraction are exact on every
 * backend (docs/kernel-audit.md). No gradient is defined through it (the attack's direction is not
 * differentiated).
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'

/** sign(v) = [v > 0] − [v < 0], as float32. Call inside a tidy. */
export const sign = <T extends tf.Tensor>(v: T): T =>
  tf.sub(tf.cast(tf.greater(v, 0), 'float32'), tf.cast(tf.less(v, 0), 'float32')) as T
