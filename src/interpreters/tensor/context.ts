/**
 * The constants and the state of one run of an attack (one restart): the clean clip, the region
 * masks drawn from the run's seed, and the momentum accumulators.
 *
 * @since 0.2.0
 */
import * as tf from '@tensorflow/tfjs-core'
import type { Region } from '../../dsl/types.js'
import { batchMask, regionKey, type Searched } from '../regions.js'

export interface Run {
  readonly clean: tf.Tensor5D
  /** Values per sample, N = T·H·W·C (for 'rms' units). */
  readonly perSample: number
  /** The region's [N, T, H, W, 1] mask (random regions drawn per sample from the run's seed), made once per run. */
  readonly mask: (region: Region) => tf.Tensor
  /**
   * The momentum accumulators m, [N, T, H, W, C], by occurrence ("bodyIndex/path", e.g. "1/of.of"):
   * kept (`tf.keep`) across iterations, each disposed when replaced and at the end of the run.
   */
  readonly momentum: Map<string, tf.Tensor>
  readonly dispose: () => void
}

/** A run on clips `x` seeded `seed`, with the masks the search found. */
export const prepare = (x: tf.Tensor5D, seed: number, searched: Searched): Run => {
  const [N, T, H, W, C] = x.shape
  const masks = new Map<string, tf.Tensor>()
  const momentum = new Map<string, tf.Tensor>()
  const mask = (region: Region): tf.Tensor => {
    const key = regionKey(region)
    const cached = masks.get(key)
    if (cached) return cached
    const m = tf.keep(tf.tensor(Float32Array.from(batchMask(region, { T, H, W }, N, seed, searched)), [N, T, H, W, 1]))
    masks.set(key, m)
    return m
  }
  return {
    clean: x,
    perSample: T * H * W * C,
    mask,
    momentum,
    dispose: () => {
      masks.forEach((m) => m.dispose())
      momentum.forEach((m) => m.dispose())
      masks.clear()
      momentum.clear()
    },
  }
}
