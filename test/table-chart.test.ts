/** The chart of the reproduced table: drawn from docs/reproduce-table.json, one bar per value, heights as the accuracies. */
import test from 'ava'
import { readFile } from 'node:fs/promises'
import type { ReproduceTable } from '../src/eval/reproduce.js'
import { tableChart } from '../src/eval/table-chart.js'

const table = (async () => (JSON.parse(await readFile('docs/reproduce-table.json', 'utf8')) as { table: ReproduceTable }).table)()

test('docs/pictures/reproduce-table.svg is the chart of docs/reproduce-table.json (rerun scripts/table-chart.ts when the table changes)', async (t) => {
  t.is(await readFile('docs/pictures/reproduce-table.svg', 'utf8'), tableChart(await table))
})

test('one bar per (network, training, family) the table has, its height the accuracy', async (t) => {
  const tab = await table
  const svg = tableChart(tab)
  const bars = [...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="10" height="([\d.]+)" fill="#[0-9a-f]+"><title>([^<]+)<\/title>/g)]
  t.is(bars.length, tab.rows.length * 5)
  const plainClean = tab.rows.find((r) => r.network === 'plain' && r.training === 'clean')!
  const bar = bars.find((b) => b[3]!.startsWith('3D ResNet-18, clean training, MultAV-L∞'))!
  t.true(Math.abs(Number(bar[2]) - plainClean.mult.linf * 170) < 0.01)
  t.true(bar[3]!.endsWith(`${(plainClean.mult.linf * 100).toFixed(1)}%`))
  for (const b of bars) t.true(Math.abs(Number(b[1]) + Number(b[2]) - (56 + 170)) < 0.02, 'every bar stands on the axis')
})
