/**
 * The reproduced table as a chart (SVG): for each network, accuracy (%) under each family's MultAV
 * attack for the clean, the Mult-trained and the Add-trained model, side by side — the paper's
 * claim (b) (MultAV training is the more robust to MultAV attacks) reads as the orange bar standing
 * above the blue one.
 *
 * @since 0.2.0
 */
import type { ReproduceTable, TableRow } from './reproduce.js'

const FAMILY_TITLES = { linf: 'L∞', l2: 'L2', roa: 'ROA', af: 'AF', spa: 'SPA' } as const
const NETWORK_TITLES: Readonly<Record<string, string>> = { plain: '3D ResNet-18', '3d': '+ 3D denoising', '2d': '+ 2D denoising' }
const TRAININGS: ReadonlyArray<{ readonly training: TableRow['training']; readonly title: string; readonly colour: string }> = [
  { training: 'clean', title: 'clean training', colour: '#9e9e9e' },
  { training: 'mult', title: 'MultAV training', colour: '#ff7f0e' },
  { training: 'add', title: 'additive training', colour: '#1f77b4' },
]

/** Geometry (pixels): a panel per network, a group of bars per family. */
const [BAR, GAP, PANEL_H, LEFT, TOP, BOTTOM] = [12, 14, 170, 48, 56, 34]

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** The chart of `table` (accuracies under MultAV attacks; the clean-trained model only where the table has it). */
export const tableChart = (table: ReproduceTable): string => {
  const families = Object.keys(FAMILY_TITLES) as Array<keyof typeof FAMILY_TITLES>
  const networks = [...new Set(table.rows.map((r) => r.network))]
  const groupW = TRAININGS.length * BAR + GAP
  const panelW = families.length * groupW
  const width = LEFT + networks.length * (panelW + 24) + 8
  const height = TOP + PANEL_H + BOTTOM
  const y = (a: number) => TOP + (1 - a) * PANEL_H
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${LEFT}" y="16" font-size="13">accuracy (%) under each family's MultAV attack, by how the model was trained</text>`,
    ...TRAININGS.map((t, k) => `<rect x="${LEFT + k * 130}" y="24" width="10" height="10" fill="${t.colour}"/><text x="${LEFT + k * 130 + 14}" y="33">${t.title}</text>`),
    ...[0, 0.25, 0.5, 0.75, 1].map((a) => `<line x1="${LEFT - 4}" x2="${width - 8}" y1="${y(a)}" y2="${y(a)}" stroke="#e0e0e0"/><text x="${LEFT - 8}" y="${y(a) + 4}" text-anchor="end">${a * 100}</text>`),
  ]
  networks.forEach((network, p) => {
    const x0 = LEFT + p * (panelW + 24)
    parts.push(`<text x="${x0 + panelW / 2}" y="${height - 6}" text-anchor="middle" font-size="12">${esc(NETWORK_TITLES[network] ?? network)}</text>`)
    families.forEach((f, g) => {
      const gx = x0 + g * groupW
      parts.push(`<text x="${gx + (TRAININGS.length * BAR) / 2}" y="${TOP + PANEL_H + 14}" text-anchor="middle">${FAMILY_TITLES[f]}</text>`)
      TRAININGS.forEach((t, k) => {
        // the clean-trained model is the plain network's only
        const row = table.rows.find((r) => r.network === network && r.training === t.training)
        if (row === undefined) return
        const a = row.mult[f]
        parts.push(
          `<rect x="${gx + k * BAR}" y="${y(a).toFixed(2)}" width="${BAR - 2}" height="${(a * PANEL_H).toFixed(2)}" fill="${t.colour}"><title>${esc(`${NETWORK_TITLES[network] ?? network}, ${t.title}, MultAV-${FAMILY_TITLES[f]}: ${(a * 100).toFixed(1)}%`)}</title></rect>`,
        )
      })
    })
  })
  parts.push('</svg>', '')
  return parts.join('\n')
}
