/**
 * Tensors derived from weights, kept for the length of an attack (`withFilterCache`): conv3d's
 * per-tap and stacked filters, its input gradient's flipped sub-filters, and the batch-norm folds
 * (fold.ts). During an attack the weights are constants, so each derived tensor is made at the
 * first step and reused until the scope settles.
 *
 * Keys. A derived tensor is keyed by the dataId of the tensor it comes from (a `tf.Variable.assign`
 * gives the variable a new dataId; a dataId is an object that is never reused, and tfjs has no
 * in-place write), that tensor's shape and dtype (reshapes share a dataId), and a `kind` string that
 * names the derivation and every other tensor it reads (their own keys, from `tensorKey`). So a
 * changed weight — the source or any other input — gives a new key, never a stale tensor.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'

/** More distinct source tensors than a 3D ResNet-18 with denoising blocks derives from (~100). */
const MAX_SOURCES = 256

interface Scope {
  /** By the source's dataId, then by `${shape}|${dtype}|${kind}`. */
  readonly bySource: Map<object, Map<string, tf.Tensor>>
  /** The tensors this scope made (and will dispose). */
  readonly held: WeakSet<tf.Tensor>
}

/** The open `withFilterCache` scope. */
let scope: Scope | undefined

/**
 * Runs `f` with tensors derived from weights made once and kept until `f` settles (then disposed),
 * instead of once per call: an attack takes many gradients through the same, constant weights.
 * Nested scopes share the outermost one. Inside the scope the weights are constants: a weight must
 * not be changed in place except by assignment (tf.Variable.assign gives it a new dataId, so it is
 * not mistaken for the old one), and the derived tensors carry no gradient back to the weights
 * (inference-mode gradients with respect to the weights are taken outside a scope).
 */
export const withFilterCache = async <A>(f: () => Promise<A>): Promise<A> => {
  if (scope) return f()
  const mine: Scope = { bySource: new Map(), held: new WeakSet() }
  scope = mine
  try {
    return await f()
  } finally {
    if (scope === mine) scope = undefined
    for (const byKind of mine.bySource.values()) for (const t of byKind.values()) t.dispose()
  }
}

/** Tensors the open scope holds (0 outside a scope). */
export const filterCacheSize = (): number => [...(scope?.bySource.values() ?? [])].reduce((n, m) => n + m.size, 0)

/** Whether a scope is open. */
export const cacheOpen = (): boolean => scope !== undefined

/** Whether `t` is a tensor the open scope made: a constant until the scope settles. */
export const isCachedConstant = (t: tf.Tensor): boolean => scope?.held.has(t) ?? false

const ids = new WeakMap<object, number>()
let nextId = 0

/** A string that identifies `t`'s data (its dataId), shape and dtype, for the `kind` of a derived tensor. */
export const tensorKey = (t: tf.Tensor): string => {
  let id = ids.get(t.dataId)
  if (id === undefined) ids.set(t.dataId, (id = nextId++))
  return `${id}:${t.shape.join('x')}:${t.dtype}`
}

/**
 * `make()` (a tensor computed from `source` and the tensors `kind` names), from the open scope if any.
 * Outside a scope, or past MAX_SOURCES distinct sources (a source computed anew at every call, with
 * a new dataId each time, would fill the scope), it is made anew and belongs to the caller's tidy.
 */
export const derived = <T extends tf.Tensor>(source: tf.Tensor, kind: string, make: () => T): T => {
  if (!scope || (!scope.bySource.has(source.dataId) && scope.bySource.size >= MAX_SOURCES)) return make()
  const byKind = scope.bySource.get(source.dataId) ?? new Map<string, tf.Tensor>()
  scope.bySource.set(source.dataId, byKind)
  const key = `${source.shape.join('x')}|${source.dtype}|${kind}`
  const hit = byKind.get(key)
  if (hit) return hit as T
  const made = tf.tidy(make)
  if (made === source) return made // nothing derived: the source itself is not the scope's to dispose
  tf.keep(made)
  byKind.set(key, made)
  scope.held.add(made)
  return made
}
