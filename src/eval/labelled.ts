/**
 * Labelled pictures, as SVG (text stays sharp, the frames stay pixels): a sheet of one attacked clip
 * with the attack's name and formula, column titles (clean | adversarial | |x' − x|·15), frame
 * numbers, and the true and predicted classes; and the additive and multiplicative attacks side by
 * side on the same clip, where the difference columns show the multiplicative one's signal
 * dependence (it changes bright pixels most, and a black pixel never).
 *
 * @since 0.2.0
 */
import { encodePng, type Sheet } from './pictures.js'

/** What a sheet says about its clip. */
export interface SheetLabels {
  /** The attack's name. */
  readonly attack: string
  /** Its formula (the first line of `explain`). */
  readonly formula?: string
  /** True class, and the model's class on the clean and on the adversarial clip. */
  readonly label?: number
  readonly cleanPrediction?: number
  readonly adversarialPrediction?: number
  /** The magnification of the difference column (default 15). */
  readonly magnify?: number
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** Margins around the frames (pixels): title lines, column titles, frame labels, the class line. */
const [TOP, LEFT, BOTTOM, RIGHT] = [58, 58, 30, 8]

/** The classes line: `true class 2 · clean → 2 · adversarial → 5 (flipped)`. */
const classLine = (l: SheetLabels): string => {
  if (l.label === undefined) return ''
  const parts = [`true class ${l.label}`]
  if (l.cleanPrediction !== undefined) parts.push(`clean → ${l.cleanPrediction}`)
  if (l.adversarialPrediction !== undefined) {
    const flipped = l.cleanPrediction === l.label && l.adversarialPrediction !== l.label
    parts.push(`adversarial → ${l.adversarialPrediction}${flipped ? ' (flipped)' : ''}`)
  }
  return parts.join(' · ')
}

/** One labelled sheet as an SVG group at (x, y); returns the group and its size. */
const group = (sheet: Sheet, labels: SheetLabels, x: number, y: number): { svg: string; width: number; height: number } => {
  const tileW = (sheet.width - 2 * sheet.gap) / 3
  const tileH = sheet.frames.length > 0 ? (sheet.height - (sheet.frames.length - 1) * sheet.gap) / sheet.frames.length : 0
  const png = encodePng(sheet).toString('base64')
  const titles = ['clean', 'adversarial', `|x' − x| ×${labels.magnify ?? 15}`]
  const width = LEFT + sheet.width + RIGHT
  const height = TOP + sheet.height + BOTTOM
  const svg = [
    `<g transform="translate(${x},${y})">`,
    `<text x="${LEFT}" y="18" font-size="15" font-weight="bold">${esc(labels.attack)}</text>`,
    labels.formula === undefined ? '' : `<text x="${LEFT}" y="35" font-size="11" font-family="monospace">${esc(labels.formula)}</text>`,
    ...titles.map((t, c) => `<text x="${LEFT + c * (tileW + sheet.gap) + tileW / 2}" y="${TOP - 6}" text-anchor="middle">${esc(t)}</text>`),
    ...sheet.frames.map((f, r) => `<text x="${LEFT - 6}" y="${TOP + r * (tileH + sheet.gap) + tileH / 2 + 4}" text-anchor="end">frame ${f}</text>`),
    `<image x="${LEFT}" y="${TOP}" width="${sheet.width}" height="${sheet.height}" style="image-rendering:pixelated" href="data:image/png;base64,${png}"/>`,
    `<text x="${LEFT}" y="${TOP + sheet.height + 20}">${esc(classLine(labels))}</text>`,
    '</g>',
  ].join('\n')
  return { svg, width, height }
}

const document = (width: number, height: number, body: ReadonlyArray<string>): string =>
  [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n')

/** A labelled sheet of one attacked clip, as an SVG document. */
export const labelledSheet = (sheet: Sheet, labels: SheetLabels): string => {
  const g = group(sheet, labels, 0, 0)
  return document(g.width, g.height, [g.svg])
}

/**
 * Sheets of the same clip side by side (the additive attack beside its multiplicative twin), under
 * one caption.
 */
export const sheetRow = (sheets: ReadonlyArray<{ readonly sheet: Sheet; readonly labels: SheetLabels }>, caption: string): string => {
  const CAPTION = 24
  let x = 0
  const groups = sheets.map(({ sheet, labels }) => {
    const g = group(sheet, labels, x, CAPTION)
    x += g.width + 16
    return g
  })
  const height = CAPTION + Math.max(0, ...groups.map((g) => g.height))
  return document(Math.max(1, x - 16), height, [`<text x="${LEFT}" y="16" font-size="13">${esc(caption)}</text>`, ...groups.map((g) => g.svg)])
}

/** The additive/multiplicative twins the pair picture is drawn for, by attack name. */
export const TWIN_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['add-linf', 'mult-linf'],
  ['add-l2', 'mult-l2'],
  ['roa', 'mult-roa'],
  ['af', 'mult-af'],
  ['spa', 'mult-spa'],
]
