/**
 * Restarts: per sample, the best of the runs so far. A run beats the best so far on sample n when it
 * succeeds there and the best does not, or both agree on success and its per-sample objective is
 * strictly higher; a tie keeps the earlier run.
 *
 * @since 0.2.0
 */
import * as tf from '@tensorflow/tfjs-core'
import type { Figures } from './sanity.js'

/** What a run (or the per-sample best of several) achieved, per sample. */
export type Standing = Pick<Figures, 'success' | 'objective'>

export interface Best {
  /** Sample n's clip from run `run[n]`, `[N, T, H, W, C]`. */
  readonly xAdv: tf.Tensor5D
  readonly standing: Standing
  readonly run: ReadonlyArray<number>
}

/** Run b beats a on sample n. */
const beats = (a: Standing, b: Standing, n: number): boolean =>
  a.success[n] === b.success[n] ? b.objective[n]! > a.objective[n]! : b.success[n]!

/** The first run as the best so far. */
export const first = (xAdv: tf.Tensor5D, standing: Standing): Best => ({ xAdv, standing, run: standing.success.map(() => 0) })

/** The per-sample best of `best` and run `r` (its clip and standing). Takes both clips: the loser's values are disposed. */
export const keepBest = (best: Best, xAdv: tf.Tensor5D, standing: Standing, r: number): Best => {
  const take = best.run.map((_, n) => beats(best.standing, standing, n))
  const pick = <T>(a: ReadonlyArray<T>, b: ReadonlyArray<T>) => a.map((v, n) => (take[n] ? b[n]! : v))
  const next: Best = {
    xAdv: take.every((t) => !t) ? best.xAdv : take.every((t) => t) ? xAdv : merge(take, xAdv, best.xAdv),
    standing: { success: pick(best.standing.success, standing.success), objective: pick(best.standing.objective, standing.objective) },
    run: pick(best.run, best.run.map(() => r)),
  }
  if (next.xAdv !== best.xAdv) best.xAdv.dispose()
  if (next.xAdv !== xAdv) xAdv.dispose()
  return next
}

/** Sample n from `a` where take[n], from `b` elsewhere. */
const merge = (take: ReadonlyArray<boolean>, a: tf.Tensor5D, b: tf.Tensor5D): tf.Tensor5D =>
  tf.tidy(() => tf.where(tf.reshape(tf.tensor1d([...take], 'bool'), [take.length, 1, 1, 1, 1]), a, b) as tf.Tensor5D)
