/**
 * Measures the accuracy-vs-budget curve of the four Lp attacks on the shipped default model and
 * writes docs/pictures/budget-curve.{svg,png,csv}: 48 benchmark test clips (the first 48 of the test
 * split, 8 per class), the default levels and step rule of src/eval/budget-curve.ts.
 *
 *   node --import tsx scripts/budget-curve.ts [--out docs/pictures] [--clips 48] [--steps 8] [--check-steps] [--redraw]
 *
 * --redraw keeps the CSV (the measurement) and draws the SVG and PNG from it again.
 *
 * --check-steps also measures every attacked point with twice the steps (and the same α) and prints
 * the difference in clips, to check that the step budget does not cap the curve.
 */
import { mkdir, rm } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { initBackend } from '../src/backend/backend.js'
import { benchmark } from '../src/data/benchmark.js'
import { benchmarkSubject, budgetCurve, writeBudgetCurve, BUDGET_FILES, LP_ATTACKS, type BudgetPoint } from '../src/eval/budget-curve.js'
import { pretrained } from '../src/models/pretrained.js'
import { join } from 'node:path'

const { values } = parseArgs({
  options: { out: { type: 'string', default: 'docs/pictures' }, clips: { type: 'string', default: '48' }, steps: { type: 'string', default: '8' }, 'check-steps': { type: 'boolean', default: false }, redraw: { type: 'boolean', default: false } },
})
const [clips, steps] = [Number(values.clips), Number(values.steps)]
const backend = await initBackend('wasm')
const net = await pretrained('default')
const set = benchmark({ split: 'test', count: clips })
const line = (p: BudgetPoint) => `${p.attack} level ${+p.level.toFixed(4)} ε ${+p.value.toPrecision(4)} α ${+p.alpha.toPrecision(4)} steps ${p.steps}: ${p.correct}/${p.clips}`
const started = performance.now()
await mkdir(values.out, { recursive: true })
// a fresh measurement replaces the files of an earlier one; --redraw keeps its CSV
await Promise.all(BUDGET_FILES.filter((f) => !(values.redraw && f.endsWith('.csv'))).map((f) => rm(join(values.out, f), { force: true })))
const written = await writeBudgetCurve(values.out, net.model, set.clips, set.labels, {
  steps,
  chart: { subject: benchmarkSubject(clips) },
  onProgress: (p) => console.log(`[${p.done}/${p.total}] ${line(p.point)} (${p.seconds.toFixed(1)} s)`),
})
const seconds = (performance.now() - started) / 1000
console.log(`${backend}: ${clips} clips, ${seconds.toFixed(1)} s wall; wrote ${written.files.join(', ')}${written.pngMissing ? `; ${written.pngMissing}` : ''}`)
if (values['check-steps']) {
  // the same α with twice the iterations: the points should move by at most a clip or so
  const doubled = await budgetCurve(net.model, set.clips, set.labels, {
    steps: 2 * steps,
    levels: { linf: [0.5, 1, 2, 4], l2: [1 / 32, 1 / 16, 1 / 8, 1 / 4] },
    onProgress: (p) => console.log(`[2x ${p.done}/${p.total}] ${line(p.point)} (${p.seconds.toFixed(1)} s)`),
  })
  const { parseBudgetCsv } = await import('../src/eval/budget-curve.js')
  const { readFile } = await import('node:fs/promises')
  const base = parseBudgetCsv(await readFile(join(values.out, 'budget-curve.csv'), 'utf8'))
  for (const attack of LP_ATTACKS)
    for (const d of doubled.filter((p) => p.attack === attack)) {
      const b = base.find((p) => p.attack === attack && Math.abs(p.level - d.level) < 1e-12)!
      console.log(`${attack} level ${+d.level.toFixed(4)}: ${b.correct} clips with ${b.steps} steps, ${d.correct} with ${d.steps}: change ${d.correct - b.correct}`)
    }
}
net.dispose()
