/**
 * The regions an attack uses, and the smallest frames they all fit: rule tables over the algebra, so
 * a new direction, start or region is a compile error here until it says where its regions are.
 *
 * @since 0.2.0
 */
import { fold, match } from '../../dsl/match.js'
import type { Attack, Direction, Init, Region, Update } from '../../dsl/types.js'

export { attackRegions } from '../../dsl/walk.js'

/** What a region needs of the frames: T frames, H rows, W columns, and pixels per frame. */
interface Need {
  readonly T: number
  readonly H: number
  readonly W: number
  readonly pixels: number
}

const NOTHING: Need = { T: 0, H: 0, W: 0, pixels: 0 }

const most = (needs: ReadonlyArray<Need>): Need =>
  needs.reduce((a, b) => ({ T: Math.max(a.T, b.T), H: Math.max(a.H, b.H), W: Math.max(a.W, b.W), pixels: Math.max(a.pixels, b.pixels) }), NOTHING)

/** A region's need; a combination needs what each of its parts needs (each must fit on its own). */
const need = fold<'Region', Need>('Region', {
  Frames: ({ indices }) => ({ ...NOTHING, T: Math.max(0, ...indices.map((i) => i + 1)) }),
  Box: ({ top, left, height, width }) => ({ ...NOTHING, H: top + height, W: left + width }),
  Rect: ({ height, width }) => ({ ...NOTHING, H: height, W: width }),
  SearchedRect: ({ height, width }) => ({ ...NOTHING, H: height, W: width }),
  Ring: ({ width }) => ({ ...NOTHING, H: 2 * width, W: 2 * width }),
  Pixels: ({ perFrame }) => ({ ...NOTHING, pixels: perFrame }),
  Union: ({ regions }) => most(regions),
  Intersection: ({ regions }) => most(regions),
  Complement: ({ of }) => of,
})

/** The smallest frames (T ≥ 2) that every region fits: frame indices, boxes, rectangles, rings, pixel counts. */
export const fittingFrames = (regions: ReadonlyArray<Region>): { readonly T: number; readonly H: number; readonly W: number } => {
  const n = most([{ T: 2, H: 1, W: 1, pixels: 0 }, ...regions.map((r) => need(r))])
  // H·W must hold `pixels` distinct pixels per frame: grow to a near-square that does
  if (n.H * n.W >= n.pixels) return { T: n.T, H: n.H, W: n.W }
  const H = Math.max(n.H, Math.ceil(Math.sqrt(n.pixels)))
  return { T: n.T, H, W: Math.max(n.W, Math.ceil(n.pixels / H)) }
}
