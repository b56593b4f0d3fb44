/**
 * sign(v): exactly +1 for every v > 0, −1 for every v < 0, 0 at ±0 and NaN at NaN, on every backend.
 *
 * `tf.sign` is not that on wasm: tfjs-backend-wasm 4.22.0 returns 0 for every |v| < 1.19e-7 (float32's
 * machine epsilon), and real models' input gradients of a batch-mean loss are routinely that small, so a
 * sign step would leave those values unmoved (docs/correctness.md).
 *
 * Computed as step(v) − step(−v), step(u) = [u > 0]: exact for every float32 down to the smallest
 * denormal, NaN kept (a NaN gradient is not silently turned into "no step"; on wasm a clip would
 * turn it into −1). On wasm it is faster than `tf.sign` itself (0.5 ms against 1.8 ms on a
 * [8, 8, 32, 32, 3] gradient). No gradient is defined through it (an attack's direction is not
 * differentiated).
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'

/** sign(v) ∈ {−1, 0, 1} as float32 (NaN where v is NaN). Call inside a tidy. */
export const sign = <T extends tf.Tensor>(v: T): T => tf.sub(tf.step(v), tf.step(tf.neg(v))) as T
