/**
 * What `runAttack` takes as options and returns.
 *
 * @since 0.1.0
 */
import type * as tf from '@tensorflow/tfjs-core'
import type { Certificate } from '../certify.js'
import type { Searched } from '../regions.js'

export interface StepInfo {
  /** 1-based iteration number, counted over every run: run r's iteration i is r·steps + i + 1. */
  readonly step: number
  /** The iterations of every run: steps·restarts. */
  readonly steps: number
  /** The attacker's objective at the iterate the gradient was taken at (mean over the batch), in this run. */
  readonly loss: number
  /** The run (0-based) this iteration belongs to; 0 when the attack has no restarts. */
  readonly run: number
  /** The number of runs, the attack's `restarts`. */
  readonly runs: number
}

export interface RunOptions {
  /** Overrides the attack's seed (run r of a restarted attack uses `restartSeed(seed, r)`). */
  readonly seed?: number
  /** Called after every iteration of every run (reads the loss from the device, so it costs a sync). */
  readonly onStep?: (info: StepInfo) => void | Promise<void>
  /**
   * The clip the model's figures are taken on: `success`, `predictions` and `loss` (and, with
   * restarts, which run each sample keeps) come from the model's output on `measureOn(adversarial)`
   * — e.g. the 8-bit quantised clip an image or video file will hold — instead of on `adversarial`
   * itself; `sanity` (the norms) stays that of the returned clip. Called inside a `tf.tidy`; it must
   * return a tensor of the clip's shape. Default: the identity.
   */
  readonly measureOn?: (adversarial: tf.Tensor5D) => tf.Tensor5D
}

/** What the returned clip achieved, per sample unless stated. */
export interface Sanity {
  /** ‖x' − x‖∞. */
  readonly linf: ReadonlyArray<number>
  /** ‖x' − x‖₂. */
  readonly l2: ReadonlyArray<number>
  /** max over x > 0 of max(x'/x, x/x') (1 when nothing changed; Infinity if a positive pixel hit 0). */
  readonly ratioLinf: ReadonlyArray<number>
  /** ‖log(x'/x)‖₂ over x > 0. */
  readonly logRatioL2: ReadonlyArray<number>
  /** Non-finite values in the whole returned batch. */
  readonly nanCount: number
  readonly min: number
  readonly max: number
}

export interface AttackResult {
  /**
   * The adversarial clips, `[N, T, H, W, C]`: with restarts, sample n's clip from its best run. The
   * caller owns (and disposes) this tensor.
   */
  readonly adversarial: tf.Tensor5D
  /** Per sample: misclassified (untargeted) or classified as its target (targeted), on `adversarial` (or `measureOn(adversarial)`). */
  readonly success: ReadonlyArray<boolean>
  /** Per sample: the model's class on `adversarial` (or `measureOn(adversarial)`). */
  readonly predictions: ReadonlyArray<number>
  /** Per sample: the model's class on the clean clip (one forward pass before the attack). */
  readonly cleanPredictions: ReadonlyArray<number>
  /** The attacker's objective on `adversarial` (or `measureOn(adversarial)`): the mean over the batch of the loss's per-sample objective. */
  readonly loss: number
  readonly sanity: Sanity
  /** What the attack's structure guarantees; `adversarial` has been projected onto it. */
  readonly certificate: Certificate
  /** The masks ([N, T, H, W]) the search found for the attack's searched rectangles, by region key. */
  readonly searched: Searched
  /** Per sample: the run (0-based) its clip comes from (all 0 without restarts). */
  readonly bestRun: ReadonlyArray<number>
  /** The TensorFlow.js backend the run used ('wasm', 'cpu', 'tensorflow', …). */
  readonly backend: string
  /** The attack's seed (or `options.seed`); run r used `restartSeed(seed, r)`. */
  readonly seed: number
}
