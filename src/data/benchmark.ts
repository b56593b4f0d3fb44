/**
 * The benchmark multav ships: short, deterministic, action-like clips whose class is a motion — a
 * textured elongated object drifts right, left, down or up (wrapping around the frame's edges), or
 * turns clockwise or counter-clockwise, over a textured background. Start positions and angles are
 * uniform and motion wraps around, so every single frame has the same distribution whatever the
 * class: only the motion over time tells the class.
 *
 * Pixel statistics are kept natural-looking: mean ≈ 0.4, a few saturated highlights (exactly 1), and a
 * third of the clips letterboxed (rows of exact zeros top and bottom), which exercises the
 * multiplicative attacks' zero fixed point.
 *
 * @since 0.1.0
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { ClipData } from '../core/clip.js'
import { InputError } from '../core/errors.js'

export const BENCHMARK_CLASSES = ['moves right', 'moves left', 'moves down', 'moves up', 'turns clockwise', 'turns counter-clockwise'] as const

export interface BenchmarkOptions {
  /** Which fixed split (default 'test'). */
  readonly split?: 'train' | 'test'
  /** Number of clips (default 600 for train, 240 for test); classes are balanced. */
  readonly count?: number
  /** Frames, height, width (default 8x32x32). */
  readonly T?: number
  readonly H?: number
  readonly W?: number
}

export interface Benchmark {
  readonly clips: ClipData
  readonly labels: ReadonlyArray<number>
  readonly classes: ReadonlyArray<string>
}

/** Seeds of the fixed splits: disjoint streams, so no test clip is a train clip. */
const SPLIT_SEED = { train: 20211116, test: 19700101 } as const

/** Absurd sizes are refused before any allocation (1.5 GB of float32 at most). */
const MAX_VALUES = 384 * 1024 * 1024

/** The benchmark split as `[count, T, H, W, 3]` clips in [0, 1] with balanced labels. */
export const benchmark = (o: BenchmarkOptions = {}): Benchmark => {
  const split = o.split ?? 'test'
  const [T, H, W] = [o.T ?? 8, o.H ?? 32, o.W ?? 32]
  const count = o.count ?? (split === 'train' ? 600 : 240)
  for (const [name, v, min] of [['T', T, 2], ['H', H, 12], ['W', W, 12], ['count', count, 1]] as const)
    if (!Number.isInteger(v) || v < min) throw new InputError(`benchmark: ${name} must be an integer ≥ ${min}, got ${v}`)
  if (count * T * H * W * 3 > MAX_VALUES)
    throw new InputError(`benchmark: ${count} clips of ${T}x${H}x${W}x3 is ${count * T * H * W * 3} values, more than ${MAX_VALUES}`)
  const rng = xoroshiro128plus(SPLIT_SEED[split])
  const u = () => uniformFloat64(rng)
  const data = new Float32Array(count * T * H * W * 3)
  const labels: number[] = []
  for (let n = 0; n < count; n++) {
    const label = n % BENCHMARK_CLASSES.length
    labels.push(label)
    renderClip(data.subarray(n * T * H * W * 3, (n + 1) * T * H * W * 3), label, { T, H, W }, u)
  }
  return { clips: { shape: [count, T, H, W, 3], data }, labels, classes: BENCHMARK_CLASSES }
}

interface Geometry {
  readonly T: number
  readonly H: number
  readonly W: number
}

/** A smooth texture: a few random plane waves, in [0, 1]. */
const texture = (u: () => number, waves: number) => {
  const ws = Array.from({ length: waves }, () => ({ fy: 0.05 + 0.5 * u(), fx: 0.05 + 0.5 * u(), phase: 2 * Math.PI * u(), amp: u() }))
  const total = ws.reduce((s, w) => s + w.amp, 0) || 1
  return (y: number, x: number) => 0.5 + (0.5 * ws.reduce((s, w) => s + w.amp * Math.sin(w.fy * y + w.fx * x + w.phase), 0)) / total
}

const renderClip = (out: Float32Array, label: number, g: Geometry, u: () => number): void => {
  const { T, H, W } = g
  // background: a dim coloured texture, mean ≈ 0.4
  const bg = texture(u, 3)
  const bgColour = [0.3 + 0.2 * u(), 0.3 + 0.2 * u(), 0.3 + 0.2 * u()]
  // object: a brighter textured ellipse with a highlight that saturates
  const fg = texture(u, 2)
  const fgColour = [0.5 + 0.5 * u(), 0.5 + 0.5 * u(), 0.5 + 0.5 * u()]
  // an ellipse with semi-axes a > b, so that its orientation shows
  const a = Math.min(H, W) * (0.24 + 0.06 * u())
  const b = a * 0.5
  // The motion covers `travel` pixels (or half a turn) over the clip, wrapping around the frame;
  // start points and angles are uniform, so any single frame looks the same in every class.
  const travel = Math.min(H, W) * 0.5
  const cy0 = u() * H
  const cx0 = u() * W
  const angle0 = u() * 2 * Math.PI
  const letterbox = u() < 1 / 3 ? Math.max(1, Math.round(H / 10)) : 0
  const noise = () => (u() - 0.5) * 0.04
  /** The signed distance from c to p on a ring of `size` pixels, in [−size/2, size/2). */
  const wrap = (p: number, c: number, size: number) => ((((p - c) % size) + 1.5 * size) % size) - size / 2
  for (let t = 0; t < T; t++) {
    const s = T === 1 ? 0 : t / (T - 1) - 0.5 // −0.5 … 0.5 over the clip
    const [dy, dx, turn] = [
      [0, travel * s, 0],
      [0, -travel * s, 0],
      [travel * s, 0, 0],
      [-travel * s, 0, 0],
      [0, 0, Math.PI * s],
      [0, 0, -Math.PI * s],
    ][label]!
    const [cy, cx, angle] = [cy0 + dy!, cx0 + dx!, angle0 + turn!]
    const [cos, sin] = [Math.cos(angle), Math.sin(angle)]
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = ((t * H + y) * W + x) * 3
        if (y < letterbox || y >= H - letterbox) {
          out.fill(0, i, i + 3)
          continue
        }
        // the pixel in the object's own (rotated) coordinates
        const [ry, rx] = [wrap(y, cy, H), wrap(x, cx, W)]
        const [along, across] = [rx * cos + ry * sin, -rx * sin + ry * cos]
        const r2 = (along / a) ** 2 + (across / b) ** 2
        for (let c = 0; c < 3; c++) {
          const back = bgColour[c]! * (0.6 + 0.8 * bg(y, x))
          // the object's texture moves and turns with it; its centre is a saturated highlight
          const front = fgColour[c]! * (0.55 + 0.7 * fg(across * 2, along * 2)) + (r2 < 0.08 ? 0.6 : 0)
          out[i + c] = clamp((r2 < 1 ? front : back) + noise(), 0, 1)
        }
      }
  }
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))
