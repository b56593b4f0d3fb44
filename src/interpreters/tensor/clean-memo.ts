/**
 * What attacks on the same clean clips share (`withCleanMemo`): the model's logits at the clean clip
 * x, and per objective its value and input gradient there — the gradient that every attack starting
 * at x takes at its first step. An evaluation runs ten attacks on each batch; six of the paper's ten
 * start at x (Mult-L∞, Mult-L2, AF and the three masked multiplicative ones) and four need the clean
 * predictions first, so the memo saves five gradients and four forward passes per batch.
 *
 * Exact: each entry is what the attack would compute, by the same kernels on the same values, so
 * results are bit for bit those without the memo. Valid only while the model is a constant function
 * of its input (weights unchanged, no randomness): the caller opens the memo where that holds.
 *
 * @since 0.2.0
 */
import * as tf from '@tensorflow/tfjs-core'
import type { Model } from '../../core/model.js'
import type { Target } from '../../dsl/types.js'
import { checkIsTensor, checkLogits } from './checks.js'

interface Memo {
  readonly model: Model
  readonly x: tf.Tensor5D
  /** By key: the tensors computed at x, kept until the memo closes. */
  readonly entries: Map<string, ReadonlyArray<tf.Tensor>>
}

/** The open memo (the innermost `withCleanMemo`). */
let open: Memo | undefined

/**
 * Runs `f` with what `runAttack(…, model, x, …)` computes at the clean clips `x` made once and reused
 * by every such call in `f` (the same model function and the same `x` tensor): the clean forward pass
 * and each objective's first gradient. The caller promises that `model` is a constant function of
 * its input while `f` runs (weights not assigned, no dropout). The tensors are released when `f`
 * settles.
 */
export const withCleanMemo = async <A>(model: Model, x: tf.Tensor5D, f: () => Promise<A>): Promise<A> => {
  const outer = open
  const mine: Memo = { model, x, entries: new Map() }
  open = mine
  try {
    return await f()
  } finally {
    open = outer
    for (const ts of mine.entries.values()) for (const t of ts) t.dispose()
  }
}

/**
 * `make()` — tensors computed at the clean clips x — once per open memo for (model, x) and `key`,
 * returned as clones (the caller owns them, as it owns `make()`'s tensors without a memo). `key`
 * names everything besides x and the model that the tensors depend on. Nothing is kept when `make`
 * throws.
 */
export const atClean = <T extends ReadonlyArray<tf.Tensor>>(model: Model, x: tf.Tensor5D, key: string, make: () => T): T => {
  const memo = open !== undefined && open.model === model && open.x === x && !x.isDisposed ? open : undefined
  if (memo === undefined) return make()
  let kept = memo.entries.get(key)
  if (kept === undefined) {
    kept = make().map((t) => tf.keep(t))
    memo.entries.set(key, kept)
  }
  return kept.map((t) => tf.clone(t)) as unknown as T
}

/** The model's [N, K] output on the clean clips (checked to be a tensor of N rows; the caller disposes it). */
export const cleanLogits = (model: Model, x: tf.Tensor5D): tf.Tensor2D => {
  const [logits] = atClean(model, x, 'logits', (): [tf.Tensor2D] => [
    tf.tidy(() => {
      const out: unknown = model(x)
      checkIsTensor(out, x.shape[0]) // inside the tidy: whatever the model made is released
      return out as tf.Tensor2D
    }),
  ])
  return logits
}

/** The model's classes on the clean clips (one forward pass, or the memo's), its output checked first. */
export const cleanPass = async (model: Model, x: tf.Tensor5D, labels: ReadonlyArray<number>, target: Target): Promise<ReadonlyArray<number>> => {
  const logits = cleanLogits(model, x)
  try {
    checkLogits(logits, labels, target)
    const predictions = tf.argMax(logits, 1)
    try {
      return Array.from(await predictions.data())
    } finally {
      predictions.dispose()
    }
  } finally {
    logits.dispose()
  }
}
