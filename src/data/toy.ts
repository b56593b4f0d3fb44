/**
 * A tiny, deterministic motion dataset for tests and the demo: a bright square drifts right (class 0)
 * or left (class 1) over textured noise, one pixel per frame, so no single frame tells the class.
 * Half of the clips are letterboxed (exact-zero rows top and bottom). Values in [0, 1], mean ≈ 0.4.
 *
 * @since 0.1.0
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { ClipData } from '../core/clip.js'
import { InputError } from '../core/errors.js'

export interface ToyOptions {
  readonly count: number
  readonly seed: number
  readonly T?: number
  readonly H?: number
  readonly W?: number
}

export interface ToyDataset {
  readonly clips: ClipData
  readonly labels: ReadonlyArray<number>
  readonly classes: ReadonlyArray<string>
}

export const TOY_CLASSES = ['moves right', 'moves left'] as const

/** `count` clips `[count, T, H, W, 3]` (default 4x8x8) with balanced labels. */
export const toyMotion = (o: ToyOptions): ToyDataset => {
  const [T, H, W, C] = [o.T ?? 4, o.H ?? 8, o.W ?? 8, 3]
  if (W < T + 2 || H < 4) throw new InputError(`toyMotion: need W ≥ T + 2 and H ≥ 4, got T=${T}, H=${H}, W=${W}`)
  const rng = xoroshiro128plus(o.seed)
  const u = () => uniformFloat64(rng)
  const data = new Float32Array(o.count * T * H * W * C)
  const labels: number[] = []
  for (let n = 0; n < o.count; n++) {
    const label = n % 2
    labels.push(label)
    const texture = Array.from({ length: H * W * C }, () => 0.15 + 0.45 * u())
    const colour = [0.55 + 0.4 * u(), 0.55 + 0.4 * u(), 0.55 + 0.4 * u()]
    const row = 1 + Math.floor(u() * (H - 3))
    const start = Math.floor(u() * (W - T - 1))
    const letterbox = u() < 0.5
    for (let t = 0; t < T; t++) {
      const col = label === 0 ? start + t : start + T - 1 - t
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++)
          for (let c = 0; c < C; c++) {
            const inside = h >= row && h < row + 2 && w >= col && w < col + 2
            const black = letterbox && (h === 0 || h === H - 1)
            data[(((n * T + t) * H + h) * W + w) * C + c] = black ? 0 : inside ? colour[c]! : texture[(h * W + w) * C + c]!
          }
    }
  }
  return { clips: { shape: [o.count, T, H, W, C], data }, labels, classes: TOY_CLASSES }
}
