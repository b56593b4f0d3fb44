/**
 * The start x' = init(x), drawn from the run's seed.
 *
 * @since 0.2.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { gaussianNoise, uniformNoise } from '../../core/noise.js'
import { match } from '../../dsl/match.js'
import type { BallNorm, Init, Region } from '../../dsl/types.js'
import type { Run } from './context.js'
import { effective, unitPerSample } from './norms.js'

/** v inside `region` (0 outside), or v everywhere. */
const within = (v: tf.Tensor, region: Region | undefined, run: Run): tf.Tensor => (region ? tf.mul(v, run.mask(region)) : v)

/** The additive random offset δ of a `Uniform` start, ε in absolute units. */
const OFFSET: { readonly [N in BallNorm]: (eps: number, x: tf.Tensor5D, seed: number, region: Region | undefined, run: Run) => tf.Tensor } = {
  // δ = ε·U(−1, 1)
  linf: (eps, x, seed, region, run) => tf.mul(within(tf.tensor(uniformNoise(seed, x.size), x.shape), region, run), eps),
  // δ = ε·z/‖z‖₂ per sample, z ~ N(0, I)
  l2: (eps, x, seed, region, run) => unitPerSample(within(tf.tensor(gaussianNoise(seed, x.size), x.shape), region, run), eps),
}

const start = match<Init, tf.Tensor, [tf.Tensor5D, number, Run]>({
  Clean: (_, x) => tf.clone(x),
  Uniform: (init, x, seed, run) =>
    tf.clipByValue(tf.add(x, OFFSET[init.norm](effective(init.eps, init.units, run.perSample), x, seed, init.region, run)), 0, 1),
  // x ⊙ (1 − M) + value·M
  Fill: ({ value, region }, x, _, run) => {
    const inside = run.mask(region)
    return tf.add(tf.mul(x, tf.sub(1, inside)), tf.mul(inside, value))
  },
  // log(x'/x) ~ U(−ln ε, ln ε)
  UniformRatio: ({ eps, region }, x, seed, run) =>
    tf.clipByValue(tf.mul(x, tf.exp(within(tf.mul(tf.tensor(uniformNoise(seed, x.size), x.shape), Math.log(eps)), region, run))), 0, 1),
})

/** x' = init(x) for a run seeded `seed`, in its own tidy. */
export const initialise = (init: Init, x: tf.Tensor5D, seed: number, run: Run): tf.Tensor5D =>
  tf.tidy(() => start(init, x, seed, run) as tf.Tensor5D)

/** True when the attack starts at the clean clip (no random draw, no forward pass needed before it). */
export const startsClean = match<Init, boolean>({
  Clean: () => true,
  Uniform: () => false,
  UniformRatio: () => false,
  Fill: () => false,
})
