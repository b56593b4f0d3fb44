/**
 * Draws docs/pictures/reproduce-table.svg from docs/reproduce-table.json (the table `multav reproduce`
 * measured; a run writes the same chart as table.svg beside its table.json).
 *
 * Run: node --import tsx scripts/table-chart.ts [table.json] [out.svg]
 */
import { readFile } from 'node:fs/promises'
import writeFileAtomic from 'write-file-atomic'
import type { ReproduceTable } from '../src/eval/reproduce.js'
import { tableChart } from '../src/eval/table-chart.js'

const [from = 'docs/reproduce-table.json', to = 'docs/pictures/reproduce-table.svg'] = process.argv.slice(2)
const { table } = JSON.parse(await readFile(from, 'utf8')) as { table: ReproduceTable }
await writeFileAtomic(to, tableChart(table))
console.log(`wrote ${to}`)
