/**
 * Directions as tensors: a function of the loss gradient g = ∇ₓL at the current iterate, `[N, T, H, W, C]`.
 * Call inside the step's tidy.
 *
 * @since 0.2.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { match } from '../../dsl/match.js'
import type { Direction, NormScope } from '../../dsl/types.js'
import { sign } from '../../ops/sign.js'
import type { Run } from './context.js'
import { FRAME_AXES, perMeanAbs, safeNorm, SAMPLE_AXES } from './norms.js'

/** What a direction reads: the gradient, and the run (masks, momentum state). */
export interface Here {
  readonly g: tf.Tensor5D
  readonly run: Run
}

const NORM_AXES: { readonly [S in NormScope]: number[] } = { sample: SAMPLE_AXES, frame: FRAME_AXES }

/** The position of a direction's child: "1/" → "1/of" → "1/of.of". */
const child = (at: string): string => (at.endsWith('/') ? `${at}of` : `${at}.of`)

/**
 * m ← μ·m + d / mean|d| (per sample), m = 0 before the first step, for the occurrence `key`. The new m
 * is kept past the step's tidy and replaces (disposes) the old one.
 */
const accumulate = (state: Map<string, tf.Tensor>, key: string, decay: number, d: tf.Tensor): tf.Tensor => {
  const term = perMeanAbs(d)
  const previous = state.get(key)
  const m = tf.keep(previous === undefined ? term : tf.add(tf.mul(previous, decay), term))
  previous?.dispose()
  state.set(key, m)
  return m
}

/**
 * The direction `d` at position `at` ("bodyIndex/path" of the node inside its step's direction,
 * e.g. "0/" for the root of step 0's direction): the key of its momentum state.
 */
export const direction: (d: Direction, here: Here, at: string) => tf.Tensor = match<Direction, tf.Tensor, [Here, string]>({
  Gradient: (_, { g }) => g,
  // exactly ±1 for every non-zero value (tf.sign has a dead zone below 1.19e-7 on wasm)
  Sign: ({ of }, here, at) => sign(direction(of, here, child(at))),
  // d / ‖d‖₂ per sample or frame, 0 where the norm is 0
  Normalize: ({ scope, of }, here, at) => {
    const v = direction(of, here, child(at))
    return tf.div(v, safeNorm(v, NORM_AXES[scope]))
  },
  MaskRegion: ({ region, of }, here, at) => tf.mul(direction(of, here, child(at)), here.run.mask(region)),
  Momentum: ({ decay, of }, here, at) => accumulate(here.run.momentum, at, decay, direction(of, here, child(at))),
})
