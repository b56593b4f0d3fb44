/**
 * ROA location search (Wu et al., ICLR 2020): place each searched rectangle, per sample, where a
 * patch of its `fill` value raises the attacker's loss most — on each frame or shared by all frames.
 *
 * - 'exhaustive' scores every position of a `stride` grid;
 * - 'gradient' ranks the windows by the energy Σ g² of the loss gradient at the clean clip inside them
 *   (a box filter of the squared gradient, one avgPool) and scores only the best `topK`.
 *
 * Candidates are scored in batches of clips (one forward pass for up to `batch` candidate clips), all
 * samples at once: exhaustive costs ⌈P·N/batch⌉ forward passes when shared and ⌈T·P·N/batch⌉ per frame
 * (P positions), gradient-guided 1 gradient + ⌈k·N/batch⌉ forward passes.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import type { Region } from '../dsl/types.js'
import { regionKey, type Searched } from './regions.js'

type SearchedRect = Extract<Region, { _tag: 'SearchedRect' }>

export interface SearchContext {
  readonly model: (x: tf.Tensor5D) => tf.Tensor2D
  readonly x: tf.Tensor5D
  /** The attacker's loss per clip, for `[reps·N, K]` logits of `reps` stacked copies of the batch. */
  readonly loss: (logits: tf.Tensor2D, reps: number) => tf.Tensor1D
  /** Clips per forward pass while scoring (default 32). */
  readonly batch?: number
}

/** A placement: for each sample and frame, the top-left corner of the rectangle (or none). */
type Placement = ReadonlyArray<ReadonlyArray<readonly [number, number] | undefined>>

/** The masks ([N, T, H, W], 1 inside) of every searched rectangle, by region key. */
export const searchRegions = async (regions: ReadonlyArray<SearchedRect>, ctx: SearchContext): Promise<Searched> => {
  const found = new Map<string, Uint8Array>()
  for (const r of regions) {
    const key = regionKey(r)
    if (!found.has(key)) found.set(key, await searchOne(r, ctx))
  }
  return found
}

const searchOne = async (r: SearchedRect, ctx: SearchContext): Promise<Uint8Array> => {
  const [N, T, H, W] = ctx.x.shape
  const grid = (size: number, extent: number) => Array.from({ length: Math.floor((extent - size) / r.stride) + 1 }, (_, i) => i * r.stride)
  const positions = grid(r.height, H).flatMap((top) => grid(r.width, W).map((left) => [top, left] as const))
  const everyFrame = (p: readonly [number, number]) => Array.from({ length: T }, () => p)
  const candidates: ReadonlyArray<ReadonlyArray<Placement[number]>> =
    r.search === 'exhaustive'
      ? r.scope === 'shared'
        ? positions.map((p) => Array.from({ length: N }, () => everyFrame(p)))
        : positions.flatMap((p) =>
            Array.from({ length: T }, (_, t) => Array.from({ length: N }, () => Array.from({ length: T }, (_, u) => (u === t ? p : undefined)))),
          )
      : await rankedByGradient(r, ctx, positions)
  const losses = await scoreCandidates(r, ctx, candidates)
  // Per sample: the best candidate (shared, or gradient-ranked), or per frame the best position.
  const best: Placement = Array.from({ length: N }, (_, n) => {
    if (r.search === 'exhaustive' && r.scope === 'perFrame')
      return Array.from({ length: T }, (_, t) => {
        const onFrame = candidates.map((c, i) => [c[n]![t], losses[i]![n]!] as const).filter(([p]) => p !== undefined)
        return onFrame.reduce((a, b) => (b[1] > a[1] ? b : a))[0]
      })
    const i = losses.reduce((bestI, l, k) => (l[n]! > losses[bestI]![n]! ? k : bestI), 0)
    return candidates[i]![n]!
  })
  return maskOf(best, r, [N, T, H, W])
}

/** Gradient-guided candidates: candidate j puts, per sample (and frame), the j-th most energetic window. */
const rankedByGradient = async (
  r: SearchedRect,
  ctx: SearchContext,
  positions: ReadonlyArray<readonly [number, number]>,
): Promise<ReadonlyArray<ReadonlyArray<Placement[number]>>> => {
  const [N, T, H, W] = ctx.x.shape
  const energy = tf.tidy(() => {
    const g = tf.grad((v: tf.Tensor) => tf.sum(ctx.loss(ctx.model(v as tf.Tensor5D), 1)))(ctx.x)
    const perPixel = tf.reshape(tf.sum(tf.square(g), 4), [N * T, H, W, 1]) as tf.Tensor4D
    // window energy at every stride-grid position ('valid': windows inside the frame)
    const windows = tf.avgPool(perPixel, [r.height, r.width], r.stride, 'valid')
    const [, Hs, Ws] = windows.shape
    const perFrame = tf.reshape(windows, [N, T, Hs * Ws])
    return r.scope === 'shared' ? tf.sum(perFrame, 1, true) : perFrame
  })
  const scores = (await energy.array()) as number[][][]
  energy.dispose()
  const k = Math.min(r.topK, positions.length)
  const ranked = scores.map((frames) => frames.map((s) => s.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, k)))
  return Array.from({ length: k }, (_, j) =>
    Array.from({ length: N }, (_, n) => Array.from({ length: T }, (_, t) => positions[ranked[n]![r.scope === 'shared' ? 0 : t]![j]![1]]!)),
  )
}

/** The attacker's loss per candidate and sample, `[candidates][N]`, in batched forward passes. */
const scoreCandidates = async (
  r: SearchedRect,
  ctx: SearchContext,
  candidates: ReadonlyArray<ReadonlyArray<Placement[number]>>,
): Promise<number[][]> => {
  const [N, T, H, W] = ctx.x.shape
  const perPass = Math.max(1, Math.floor((ctx.batch ?? 32) / N))
  const out: number[][] = []
  for (let start = 0; start < candidates.length; start += perPass) {
    const chunk = candidates.slice(start, start + perPass)
    const masks = new Float32Array(chunk.length * N * T * H * W)
    chunk.forEach((c, i) => masks.set(maskOf(c, r, [N, T, H, W]), i * N * T * H * W))
    const losses = tf.tidy(() => {
      const m = tf.tensor5d(masks, [chunk.length * N, T, H, W, 1])
      const clips = tf.concat(Array.from({ length: chunk.length }, () => ctx.x))
      // x ⊙ (1 − M) + fill·M
      const patched = tf.add(tf.mul(clips, tf.sub(1, m)), tf.mul(m, r.fill)) as tf.Tensor5D
      return ctx.loss(ctx.model(patched), chunk.length)
    })
    const values = Array.from(await losses.data())
    losses.dispose()
    chunk.forEach((_, i) => out.push(values.slice(i * N, (i + 1) * N)))
  }
  return out
}

/** The [N, T, H, W] mask of a placement. */
const maskOf = (placement: Placement, r: SearchedRect, [N, T, H, W]: readonly number[]): Uint8Array => {
  const mask = new Uint8Array(N! * T! * H! * W!)
  placement.forEach((frames, n) =>
    frames.forEach((p, t) => {
      if (p === undefined) return
      for (let h = p[0]; h < p[0] + r.height; h++) {
        const row = ((n * T! + t) * H! + h) * W!
        mask.fill(1, row + p[1], row + p[1] + r.width)
      }
    }),
  )
  return mask
}
