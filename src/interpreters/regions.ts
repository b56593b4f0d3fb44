/**
 * Regions materialised as masks over one sample's frames and pixels ([T, H, W], 1 inside, 0 outside;
 * channels and samples broadcast).
 *
 * @since 0.1.0
 */
import type { Region } from '../dsl/types.js'

export interface FrameGeometry {
  readonly T: number
  readonly H: number
  readonly W: number
}

/** The region's mask as T·H·W values in row-major [T, H, W] order. */
export const regionMask = (region: Region, g: FrameGeometry): Uint8Array => {
  const mask = new Uint8Array(g.T * g.H * g.W)
  switch (region._tag) {
    case 'Frames':
      for (const t of region.indices) mask.fill(1, t * g.H * g.W, (t + 1) * g.H * g.W)
      return mask
    case 'Box':
      for (let t = 0; t < g.T; t++)
        for (let h = region.top; h < region.top + region.height; h++) {
          const row = (t * g.H + h) * g.W
          mask.fill(1, row + region.left, row + region.left + region.width)
        }
      return mask
  }
}

/** A stable key for caching a region's mask within a run. */
export const regionKey = (region: Region): string => JSON.stringify(region)
