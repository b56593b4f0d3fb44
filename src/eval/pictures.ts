/**
 * Pictures of attacks, like the paper's Fig. 1: for a few frames of one clip, the clean frame, the
 * adversarial frame and the difference magnified 15x (|x' − x|·15 per channel, clipped to [0, 1], so
 * black means unchanged) side by side; and an SVG plot of accuracy against an attack parameter.
 *
 * @since 0.1.0
 */
import { PNG } from 'pngjs'
import writeFileAtomic from 'write-file-atomic'
import type { Kept } from './chunk.js'

export interface SheetOptions {
  /** Frames shown (evenly spaced over the clip; default 4). */
  readonly frames?: number
  /** Magnification of the difference (default 15, as the paper). */
  readonly magnify?: number
  /** Each frame is scaled up by this integer factor (default: to at least 112 pixels wide). */
  readonly scale?: number
  /** Pixels between tiles (default 4, white). */
  readonly gap?: number
}

export interface Sheet {
  readonly width: number
  readonly height: number
  /** RGBA, row-major. */
  readonly data: Uint8Array
  /** The frame indices shown, one tile row each. */
  readonly frames: ReadonlyArray<number>
  readonly scale: number
  readonly gap: number
}

/** Evenly spaced frame indices, first and last included when k ≥ 2. */
export const pickFrames = (T: number, k: number): number[] =>
  Array.from(new Set(Array.from({ length: Math.min(k, T) }, (_, i) => (k <= 1 ? 0 : Math.round((i * (T - 1)) / (Math.min(k, T) - 1))))))

/** Builds the sheet: one row per frame, columns clean | adversarial | magnified difference. */
export const attackSheet = (kept: Kept, o: SheetOptions = {}): Sheet => {
  const [T, H, W, C] = kept.shape
  if (C !== 3) throw new Error(`attackSheet: expected RGB clips (3 channels), got ${C}`)
  const frames = pickFrames(T, o.frames ?? 4)
  const magnify = o.magnify ?? 15
  const scale = o.scale ?? Math.max(1, Math.ceil(112 / W))
  const gap = o.gap ?? 4
  const [tileW, tileH] = [W * scale, H * scale]
  const width = 3 * tileW + 2 * gap
  const height = frames.length * tileH + (frames.length - 1) * gap
  const data = new Uint8Array(width * height * 4).fill(255)
  const byte = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)))
  frames.forEach((t, row) => {
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = ((t * H + y) * W + x) * 3
        const pixel = (column: number) => [0, 1, 2].map((c) => {
          const [a, b] = [kept.clean[i + c]!, kept.adversarial[i + c]!]
          return byte(column === 0 ? a : column === 1 ? b : Math.abs(b - a) * magnify)
        })
        for (let column = 0; column < 3; column++) {
          const rgb = pixel(column)
          for (let dy = 0; dy < scale; dy++)
            for (let dx = 0; dx < scale; dx++) {
              const py = row * (tileH + gap) + y * scale + dy
              const px = column * (tileW + gap) + x * scale + dx
              data.set([rgb[0]!, rgb[1]!, rgb[2]!, 255], (py * width + px) * 4)
            }
        }
      }
  })
  return { width, height, data, frames, scale, gap }
}

/** Encodes a sheet as PNG. */
export const encodePng = (sheet: Pick<Sheet, 'width' | 'height' | 'data'>): Buffer => {
  const png = new PNG({ width: sheet.width, height: sheet.height })
  png.data = Buffer.from(sheet.data.buffer, sheet.data.byteOffset, sheet.data.byteLength)
  return PNG.sync.write(png)
}

/** Writes the sheet of one attacked clip as a PNG file (atomically). */
export const writeSheet = async (file: string, kept: Kept, o: SheetOptions = {}): Promise<Sheet> => {
  const sheet = attackSheet(kept, o)
  await writeFileAtomic(file, encodePng(sheet))
  return sheet
}

export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<{ readonly x: number; readonly accuracy: number }>
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf']

/** An SVG line plot of accuracy (%) against a swept parameter, one line per attack. */
export const sweepPlot = (series: ReadonlyArray<Series>, o: { readonly parameter: string; readonly title?: string }): string => {
  const [w, h, left, right, top, bottom] = [640, 400, 60, 180, 40, 50]
  const xs = series.flatMap((s) => s.points.map((p) => p.x))
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)]
  const sx = (x: number) => left + ((x - x0) / (x1 - x0 || 1)) * (w - left - right)
  const sy = (a: number) => top + (1 - a) * (h - top - bottom)
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  const ticks = [0, 0.25, 0.5, 0.75, 1]
  const xTicks = [...new Set(xs)].sort((a, b) => a - b)
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${left}" y="24" font-size="14">${esc(o.title ?? `accuracy vs ${o.parameter}`)}</text>`,
    ...ticks.map((a) => `<line x1="${left}" x2="${w - right}" y1="${sy(a)}" y2="${sy(a)}" stroke="#ddd"/><text x="${left - 8}" y="${sy(a) + 4}" text-anchor="end">${a * 100}%</text>`),
    ...xTicks.map((x) => `<text x="${sx(x)}" y="${h - bottom + 18}" text-anchor="middle">${+x.toPrecision(3)}</text>`),
    `<text x="${(left + w - right) / 2}" y="${h - 12}" text-anchor="middle">${esc(o.parameter)}</text>`,
    ...series.map((s, k) => {
      const colour = PALETTE[k % PALETTE.length]!
      const pts = [...s.points].sort((a, b) => a.x - b.x)
      return [
        `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.map((p) => `${sx(p.x)},${sy(p.accuracy)}`).join(' ')}"/>`,
        ...pts.map((p) => `<circle cx="${sx(p.x)}" cy="${sy(p.accuracy)}" r="3" fill="${colour}"/>`),
        `<text x="${w - right + 12}" y="${top + 16 * k + 4}" fill="${colour}">${esc(s.name)}</text>`,
      ].join('')
    }),
    '</svg>',
    '',
  ].join('\n')
}
