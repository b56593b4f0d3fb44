/**
 * The accuracy-vs-budget curve as a chart (SVG, written by hand like table-chart.ts; svg-png.ts makes the PNG).
 *
 * One panel per norm (L∞, L2). The x axis is the budget level m (a multiple of the paper's default),
 * labelled twice: below with the additive attack's radius ε = m·ε₀, above with the multiplicative
 * attack's ratio bound 1 + m·(ε₀ − 1), so the attacks the paper pairs at its defaults share a place.
 * Accuracy (%) is the y axis; a shaded band is each point's Wilson 95% interval.
 *
 * @since 0.2.0
 */
import type { BudgetPoint, LpNorm } from './budget-curve.js'

/** Geometry (pixels): two panels of PLOT_W x PLOT_H whose plot areas start at (LEFT + p·(PLOT_W + GAP), TOP). */
export const BUDGET_CHART_GEOMETRY = { width: 820, height: 480, left: 64, top: 150, plotW: 310, plotH: 220, gap: 110 } as const

const COLOURS = { additive: '#1f77b4', multiplicative: '#ff7f0e' } as const
const NORM_TITLES: Readonly<Record<LpNorm, string>> = { linf: 'L∞', l2: 'L2' }
const NAMES: Readonly<Record<string, string>> = { 'add-linf': 'Add-L∞', 'mult-linf': 'Mult-L∞', 'add-l2': 'Add-L2', 'mult-l2': 'Mult-L2' }
/** Each axis's title, per norm and kind. */
const AXIS_TITLES: Readonly<Record<LpNorm, { additive: string; multiplicative: string }>> = {
  linf: { additive: 'Add-L∞ radius ε (×1/255)', multiplicative: 'Mult-L∞ ratio bound' },
  l2: { additive: 'Add-L2 radius ε, rms per value (×1/255)', multiplicative: 'Mult-L2 ratio bound, rms per value' },
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const fmt = (v: number) => +v.toFixed(2)

/**
 * A tick label of ε: radii in 1/255ths (an L2 radius is rms per value, so it reads like an L∞ radius:
 * the L2 ball of rms radius r holds the L∞ ball of radius r), to two significant digits; ratio bounds to two decimals.
 */
const tickLabel = (p: BudgetPoint): string => (p.kind === 'multiplicative' ? p.value.toFixed(2) : `${+(p.value * 255).toPrecision(2)}`)

export interface BudgetChartOptions {
  readonly title?: string
  /** What was measured, opening the caption (default: `<n> clips`). */
  readonly subject?: string
  /** The lines under the title (default: the subject, the step rule and steps read from the points, the pairing). */
  readonly caption?: ReadonlyArray<string>
}

/** The step rule the points were measured with, and how a level pairs the attacks, as caption lines. */
const defaultCaption = (points: ReadonlyArray<BudgetPoint>, subject: string | undefined): string[] => {
  const attacked = points.filter((p) => p.level > 0)
  const additive = attacked.find((p) => p.kind === 'additive')
  const q = additive ? +(additive.value / additive.alpha).toPrecision(3) : undefined
  const steps = [...new Set(attacked.map((p) => p.steps))].join('/')
  const clips = [...new Set(points.map((p) => p.clips))].join('/')
  return [
    `${subject ?? `${clips} clips`}; accuracy on the 8-bit quantised adversarial clips; budget 0: clean accuracy.`,
    `Each budget: ${q === undefined ? '' : `α = ε/${q} (Mult: α = ε^(1/${q})), `}${steps} steps. Budget m pairs Add ε = m·ε₀ with Mult ratio bound 1 + m·(ε₀ − 1),`,
    `ε₀ the paper's defaults: 4/255 ↔ 1.04 (L∞), 0.13 ↔ 1.32 rms (L2). L2 radii are rms per value, ε·√N absolute.`,
  ]
}

/**
 * The chart of `points` (one panel per norm present, one line per attack, Wilson 95% bands). Points
 * with no clips (NaN accuracy) are left out.
 */
export const budgetChart = (points: ReadonlyArray<BudgetPoint>, o: BudgetChartOptions = {}): string => {
  const g = BUDGET_CHART_GEOMETRY
  const shown = points.filter((p) => p.clips > 0 && Number.isFinite(p.accuracy))
  const norms = (['linf', 'l2'] as const).filter((n) => shown.some((p) => p.norm === n))
  const y = (a: number) => g.top + (1 - a) * g.plotH
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}" viewBox="0 0 ${g.width} ${g.height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${g.width}" height="${g.height}" fill="white"/>`,
    `<text x="${g.left}" y="20" font-size="14" font-weight="bold">${esc(o.title ?? 'Accuracy against the attack budget: additive and multiplicative Lp attacks')}</text>`,
    ...(o.caption ?? defaultCaption(shown, o.subject)).map((line, k) => `<text x="${g.left}" y="${40 + 15 * k}">${esc(line)}</text>`),
  ]
  norms.forEach((norm, p) => {
    const x0 = g.left + p * (g.plotW + g.gap)
    const inPanel = shown.filter((q) => q.norm === norm)
    const maxLevel = Math.max(...inPanel.map((q) => q.level)) || 1
    const x = (level: number) => x0 + (level / maxLevel) * g.plotW
    const levels = [...new Set(inPanel.map((q) => q.level))].sort((a, b) => a - b)
    const [top, bottom] = [g.top, g.top + g.plotH]
    parts.push(
      `<g data-panel="${norm}">`,
      `<text x="${x0 + g.plotW / 2}" y="${top - 52}" text-anchor="middle" font-size="13" font-weight="bold">${NORM_TITLES[norm]}</text>`,
      ...[0, 0.25, 0.5, 0.75, 1].map(
        (a) => `<line x1="${x0}" x2="${x0 + g.plotW}" y1="${y(a)}" y2="${y(a)}" stroke="#e0e0e0"/><text x="${x0 - 6}" y="${y(a) + 4}" text-anchor="end">${a * 100}%</text>`,
      ),
      `<rect x="${x0}" y="${top}" width="${g.plotW}" height="${g.plotH}" fill="none" stroke="#444"/>`,
      `<text transform="translate(${x0 - 40},${top + g.plotH / 2}) rotate(-90)" text-anchor="middle">accuracy</text>`,
    )
    // the paper's default budget, where it is in range
    if (levels.includes(1) || (levels[0]! < 1 && levels[levels.length - 1]! > 1))
      parts.push(`<line x1="${x(1)}" x2="${x(1)}" y1="${top}" y2="${bottom}" stroke="#888" stroke-dasharray="4 3"/><text x="${x(1) + 4}" y="${top + 12}" fill="#666">paper's default</text>`)
    else if (levels[levels.length - 1]! < 1)
      parts.push(`<text x="${x0 + g.plotW - 4}" y="${top + 12}" text-anchor="end" fill="#666">paper's default: ${+(1 / levels[levels.length - 1]!).toPrecision(3)}× the right edge →</text>`)
    // ticks: the additive radius below, the multiplicative ratio bound above, at each level
    for (const [kind, side] of [['additive', 'bottom'], ['multiplicative', 'top']] as const) {
      const labelled = levels.flatMap((level) => inPanel.filter((q) => q.kind === kind && q.level === level).slice(0, 1))
      if (labelled.length === 0) continue
      const [tickY, textY, titleY] = side === 'bottom' ? [bottom, bottom + 16, bottom + 34] : [top, top - 8, top - 26]
      parts.push(
        ...labelled.map(
          (q) =>
            `<line x1="${x(q.level)}" x2="${x(q.level)}" y1="${tickY}" y2="${tickY + (side === 'bottom' ? 4 : -4)}" stroke="#444"/><text x="${x(q.level)}" y="${textY}" text-anchor="middle" fill="${COLOURS[kind]}">${esc(tickLabel(q))}</text>`,
        ),
        `<text x="${x0 + g.plotW / 2}" y="${titleY}" text-anchor="middle" fill="${COLOURS[kind]}">${esc(AXIS_TITLES[norm][kind])}</text>`,
      )
    }
    for (const attack of [...new Set(inPanel.map((q) => q.attack))]) {
      const series = inPanel.filter((q) => q.attack === attack).sort((a, b) => a.level - b.level)
      const colour = COLOURS[series[0]!.kind]
      const dash = series[0]!.kind === 'multiplicative' ? ' stroke-dasharray="6 3"' : ''
      const band = [...series.map((q) => `${fmt(x(q.level))},${fmt(y(q.high))}`), ...[...series].reverse().map((q) => `${fmt(x(q.level))},${fmt(y(q.low))}`)]
      parts.push(
        `<polygon data-band="${esc(attack)}" points="${band.join(' ')}" fill="${colour}" fill-opacity="0.15" stroke="none"/>`,
        `<polyline data-attack="${esc(attack)}" fill="none" stroke="${colour}" stroke-width="2"${dash} points="${series.map((q) => `${fmt(x(q.level))},${fmt(y(q.accuracy))}`).join(' ')}"/>`,
        ...series.map(
          (q) =>
            `<circle data-attack="${esc(attack)}" cx="${fmt(x(q.level))}" cy="${fmt(y(q.accuracy))}" r="3" fill="${colour}"><title>${esc(`${NAMES[q.attack] ?? q.attack}, ε = ${+q.value.toPrecision(4)}: ${(q.accuracy * 100).toFixed(1)}% (${q.correct}/${q.clips}; 95% CI ${(q.low * 100).toFixed(1)}–${(q.high * 100).toFixed(1)})`)}</title></circle>`,
        ),
      )
    }
    parts.push('</g>')
  })
  // legend: the line styles, and what the band is
  const legendY = g.height - 20
  const entries = [
    { colour: COLOURS.additive, dash: '', text: 'additive: ε on the lower axis' },
    { colour: COLOURS.multiplicative, dash: ' stroke-dasharray="6 3"', text: 'multiplicative: ratio bound on the upper axis' },
  ]
  entries.forEach((e, k) => {
    const lx = g.left + k * 230
    parts.push(`<line x1="${lx}" x2="${lx + 24}" y1="${legendY}" y2="${legendY}" stroke="${e.colour}" stroke-width="2"${e.dash}/><text x="${lx + 30}" y="${legendY + 4}">${esc(e.text)}</text>`)
  })
  parts.push(`<rect x="${g.left + 540}" y="${legendY - 6}" width="24" height="12" fill="#888" fill-opacity="0.25"/><text x="${g.left + 570}" y="${legendY + 4}">shaded: Wilson 95% interval</text>`, '</svg>', '')
  return parts.join('\n')
}

// -------------------------------------------------------------------------------------------------
// SVG → PNG with resvg's WebAssembly build (@resvg/resvg-wasm): no native binary, its .wasm read from
// node_modules. It has no access to the system's fonts, so a font file is read and handed to it.
// -------------------------------------------------------------------------------------------------
