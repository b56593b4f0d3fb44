/**
 * Constructors of regions: which pixels of a clip a mask, a start or a bound covers.
 *
 * @since 0.1.0
 */
import type { Placement, Region } from '../types.js'

/** Frames `indices` (0-based) of every sample. */
export const frames = (indices: ReadonlyArray<number>): Region => ({ _tag: 'Frames', indices: [...indices] })

/** A fixed `height`x`width` rectangle at (`top`, `left`) on every frame. */
export const box = (r: { top: number; left: number; height: number; width: number }): Region => ({
  _tag: 'Box',
  top: r.top,
  left: r.left,
  height: r.height,
  width: r.width,
})

/** A `height`x`width` rectangle at a random position: a new one on every frame (default), or one shared. */
export const rect = (r: { height: number; width: number; placement?: Placement }): Region => ({
  _tag: 'Rect',
  height: r.height,
  width: r.width,
  placement: r.placement ?? 'perFrame',
})

/**
 * A rectangle placed by searching for the position that hurts the model most (see `Region`):
 * defaults 'gradient' search, per frame, stride 2, top 8 windows, grey (0.5) patch while scoring.
 */
export const searchedRect = (r: {
  height: number
  width: number
  search?: 'exhaustive' | 'gradient'
  scope?: Placement
  stride?: number
  topK?: number
  fill?: number
}): Region => ({
  _tag: 'SearchedRect',
  height: r.height,
  width: r.width,
  search: r.search ?? 'gradient',
  scope: r.scope ?? 'perFrame',
  stride: r.stride ?? 2,
  topK: r.topK ?? 8,
  fill: r.fill ?? 0.5,
})

/** The border ring of `width` pixels on every frame. */
export const ring = (width: number): Region => ({ _tag: 'Ring', width })

/** `perFrame` random pixels on every frame (with replacement). */
export const pixels = (perFrame: number): Region => ({ _tag: 'Pixels', perFrame })

export const union = (...regions: ReadonlyArray<Region>): Region => ({ _tag: 'Union', regions: [...regions] })

export const intersection = (...regions: ReadonlyArray<Region>): Region => ({ _tag: 'Intersection', regions: [...regions] })

export const complement = (of: Region): Region => ({ _tag: 'Complement', of })
