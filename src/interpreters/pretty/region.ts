/**
 * Region names, shared by both notations (LaTeX sets them in text mode): a fold over `Region`.
 *
 * @since 0.2.0
 */
import { fold } from '../../dsl/match.js'
import type { Placement } from '../../dsl/types.js'

const PLACEMENT: { readonly [P in Placement]: string } = { perFrame: 'per frame', shared: 'shared' }

/** A short name for a region: `frames{0,2}`, `box 30x30 @(10,20)`, `rect 30x30 per frame`, `ring 10`, `(A ∪ B)`, … */
export const regionText = fold<'Region', string>('Region', {
  Frames: ({ indices }) => `frames{${indices.join(',')}}`,
  Box: ({ top, left, height, width }) => `box ${height}x${width} @(${top},${left})`,
  Rect: ({ height, width, placement }) => `rect ${height}x${width} ${PLACEMENT[placement]}`,
  SearchedRect: ({ height, width, search, topK, stride, scope }) =>
    `rect ${height}x${width} searched (${search}${search === 'gradient' ? `, top ${topK}` : ''}, stride ${stride}) ${PLACEMENT[scope]}`,
  Ring: ({ width }) => `ring ${width}`,
  Pixels: ({ perFrame }) => `${perFrame} pixels per frame`,
  Union: ({ regions }) => `(${regions.join(' ∪ ')})`,
  Intersection: ({ regions }) => `(${regions.join(' ∩ ')})`,
  Complement: ({ of }) => `¬${of}`,
})
