/**
 * The accuracy-vs-budget curve: the points (clean accuracy at budget 0, the step rule, agreement with
 * runAttack + 8-bit quantisation done by hand, no tensor left behind), the CSV (round trip), the chart
 * (well-formed SVG, one line per attack, points where the data puts them), the PNG (decodes to the
 * SVG's size, text drawn), resuming, and the committed docs/pictures/budget-curve.* files.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import fc from 'fast-check'
import { PNG } from 'pngjs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initBackend } from '../src/backend/backend.js'
import { InputError } from '../src/core/errors.js'
import type { Model } from '../src/core/model.js'
import { benchmark } from '../src/data/benchmark.js'
import { toyMotion } from '../src/data/toy.js'
import { pretrained } from '../src/models/pretrained.js'
import { addLinf } from '../src/dsl/attacks.js'
import { budgetChart, BUDGET_CHART_GEOMETRY as G } from '../src/eval/budget-chart.js'
import { svgToPng } from '../src/eval/svg-png.js'
import {
  benchmarkSubject,
  budgetAt,
  budgetPlan,
  curveIds,
  writeRunBudgetCurve,
  budgetCsv,
  budgetCurve,
  parseBudgetCsv,
  writeBudgetCurve,
  BUDGET_CSV_COLUMNS,
  LP_ATTACKS,
  LP_BUDGETS,
  type BudgetPoint,
  type LpAttackName,
} from '../src/eval/budget-curve.js'
import { quantise } from '../src/eval/chunk.js'
import { wilson } from '../src/eval/wilson.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { curveTasks, nameOf } from '../src/eval/budget-pool.js'
import { encodeAttack } from '../src/dsl/codec.js'
import { accuracy, trainTinyMlp, type TinyMlp } from '../src/models/tiny.js'

const testSet = toyMotion({ count: 24, seed: 2 })
let mlp: TinyMlp

test.before(async () => {
  await initBackend('wasm')
  const train = toyMotion({ count: 192, seed: 1 })
  mlp = await trainTinyMlp(train.clips, train.labels, 2, { epochs: 30, seed: 0 })
})
test.after.always(() => mlp?.dispose())

const LEVELS = { linf: [0, 0.5, 1, 4], l2: [0, 1 / 8, 1 / 2, 2] }

/** Points of made-up accuracies at the default levels, consistent with the step rule. */
const madeUp = (accuracyOf: (attack: LpAttackName, k: number) => number, clips = 48): BudgetPoint[] =>
  LP_ATTACKS.flatMap((attack) =>
    (LP_BUDGETS[attack].norm === 'linf' ? [0, 0.5, 1, 2, 4] : [0, 1 / 32, 1 / 16, 1 / 8, 1 / 4]).map((level, k) => {
      const { eps, alpha } = budgetAt(attack, level, 4)
      const correct = Math.round(accuracyOf(attack, k) * clips)
      const [low, high] = wilson(correct, clips)
      const b = LP_BUDGETS[attack]
      return { attack, norm: b.norm, kind: b.kind, level, parameter: 'eps' as const, value: eps, alpha: level === 0 ? 0 : alpha, steps: level === 0 ? 0 : 8, clips, correct, accuracy: correct / clips, low, high }
    }),
  )

test.serial('budget 0 is the clean accuracy exactly; the curve falls with the budget; every point follows the step rule; no tensor is left', async (t) => {
  const before = tf.memory().numTensors
  const clean = await accuracy(mlp.model, testSet.clips, testSet.labels)
  const progress: number[] = []
  const points = await budgetCurve(mlp.model, testSet.clips, testSet.labels, { levels: LEVELS, steps: 6, onProgress: (p) => progress.push(p.done) })
  t.is(tf.memory().numTensors, before)
  t.is(points.length, 16)
  t.deepEqual(progress, Array.from({ length: 16 }, (_, k) => k + 1))
  t.true(clean >= 0.75, `the toy model learned the motion: clean ${clean}`)
  for (const attack of LP_ATTACKS) {
    const series = points.filter((p) => p.attack === attack)
    t.deepEqual(series.map((p) => p.level), LEVELS[LP_BUDGETS[attack].norm])
    const [zero, ...attacked] = series
    t.is(zero!.accuracy, clean, `${attack}: budget 0 = the clean accuracy`)
    t.is(zero!.value, LP_BUDGETS[attack].kind === 'additive' ? 0 : 1)
    t.log(`${attack}: ${series.map((p) => `${p.correct}/${p.clips}`).join(' → ')}`)
    // non-increasing within one clip (a random start or a clean-wrong clip may move one back), and down at the largest budget
    for (let k = 1; k < series.length; k++) t.true(series[k]!.correct <= series[k - 1]!.correct + 1, `${attack}: ${series[k - 1]!.correct} → ${series[k]!.correct}`)
    t.true(series[series.length - 1]!.correct < zero!.correct, `${attack}: the largest budget lowers the accuracy`)
    for (const p of attacked) {
      t.is(p.steps, 6)
      // α = ε/4 (additive), ln α = ln ε / 4 (multiplicative)
      if (p.kind === 'additive') t.true(Math.abs(p.value / p.alpha - 4) < 1e-12 && Math.abs(p.value - p.level * LP_BUDGETS[attack].paper) < 1e-15)
      else t.true(Math.abs(Math.log(p.value) / Math.log(p.alpha) - 4) < 1e-9 && Math.abs(p.value - 1 - p.level * (LP_BUDGETS[attack].paper - 1)) < 1e-15)
      const [low, high] = wilson(p.correct, p.clips)
      t.deepEqual([p.low, p.high, p.accuracy], [low, high, p.correct / p.clips])
    }
  }
})

test.serial('a point is what runAttack and 8-bit quantisation give, done by hand; batches split a multiplicative curve without changing it', async (t) => {
  const before = tf.memory().numTensors
  const [point] = await budgetCurve(mlp.model, testSet.clips, testSet.labels, { attacks: ['add-linf'], levels: { linf: [2] }, steps: 5 })
  const x = tf.tensor5d(testSet.clips.data, [...testSet.clips.shape])
  const attack = addLinf({ eps: 8 / 255, alpha: 2 / 255, steps: 5 })
  const r = await runAttack(attack, mlp.model, x, testSet.labels, { seed: attack.seed })
  const q = quantise(r.adversarial)
  const predicted = tf.tidy(() => tf.argMax(mlp.model(q), 1))
  const p = await predicted.data()
  tf.dispose([x, r.adversarial, q, predicted])
  t.is(point!.correct, testSet.labels.filter((l, i) => p[i] === l).length)
  // Mult-L∞ starts clean and the MLP's gradient of one clip depends on that clip only: batches of 8 change nothing
  const options = { attacks: ['mult-linf', 'mult-l2'] as const, levels: { linf: [0, 1, 3], l2: [0, 1] }, steps: 4 }
  const whole = await budgetCurve(mlp.model, testSet.clips, testSet.labels, options)
  const split = await budgetCurve(mlp.model, testSet.clips, testSet.labels, { ...options, batch: 8 })
  t.deepEqual(split, whole)
  t.is(tf.memory().numTensors, before)
})

test('bad options are one InputError naming each problem', async (t) => {
  const model: Model = () => {
    throw new Error('not to be called')
  }
  const e = await t.throwsAsync(
    budgetCurve(model, testSet.clips, testSet.labels.slice(1), { attacks: ['add-linf', 'pgd' as LpAttackName], levels: { linf: [0, -1] }, steps: 0, batch: 1.5, stepFraction: 0.5 }),
    { instanceOf: InputError },
  )
  t.is(e!.issues.length, 6, e!.message)
  for (const part of ['24 clips but 23 labels', 'unknown attack "pgd"', 'levels.linf', 'got -1', 'steps', 'batch', 'stepFraction']) t.true(e!.message.includes(part), part)
  await t.throwsAsync(budgetCurve(model, testSet.clips, testSet.labels, { attacks: ['mult-l2'], levels: { l2: [1e-20] } }), { instanceOf: InputError, message: /1e-20 is too small for mult-l2/ })
})

test('the CSV round-trips any points (generated attacks, levels and figures), one line per point', (t) => {
  const exact = (v: number) => (Object.is(v, -0) ? 0 : v)
  const number = fc.double({ noNaN: true, noDefaultInfinity: true }).map(exact)
  const point = fc.record({ attack: fc.constantFrom(...LP_ATTACKS), level: fc.double({ min: 0, max: 64, noNaN: true }).map(exact), value: number, alpha: number, steps: fc.nat(100), clips: fc.nat(1000), correct: fc.nat(1000), accuracy: number, low: number, high: number })
  fc.assert(
    fc.property(fc.array(point, { maxLength: 30 }), (raw) => {
      // in the CSV's column order, as parseBudgetCsv builds them
      const points: BudgetPoint[] = raw.map(({ attack, level, ...figures }) => ({ attack, norm: LP_BUDGETS[attack].norm, kind: LP_BUDGETS[attack].kind, level, parameter: 'eps', ...figures }))
      const csv = budgetCsv(points)
      const lines = csv.split('\r\n')
      return lines.length === points.length + 2 && lines[0] === BUDGET_CSV_COLUMNS.join(',') && JSON.stringify(parseBudgetCsv(csv)) === JSON.stringify(points) && parseBudgetCsv(csv).every((p, k) => Object.entries(p).every(([key, v]) => Object.is(v, points[k]![key as keyof BudgetPoint])))
    }),
  )
  t.throws(() => parseBudgetCsv('attack,level\r\nadd-linf,1\r\n'), { instanceOf: InputError, message: /missing column\(s\) norm/ })
  const good = budgetCsv(madeUp(() => 0.5).slice(0, 1))
  t.throws(() => parseBudgetCsv(good.replace('add-linf', 'pgd')), { instanceOf: InputError, message: /line 2: unknown attack "pgd"/ })
  t.throws(() => parseBudgetCsv(good.replace(/,0\.5,/, ',half,')), { instanceOf: InputError, message: /line 2: accuracy: expected a number, got "half"/ })
})

/** The elements of an XML document as a tree, or a thrown Error at the first thing that is not well-formed. */
const checkXml = (text: string): { root: string; elements: number } => {
  const stack: string[] = []
  let root: string | undefined
  let elements = 0
  const token = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>/y
  let k = 0
  while (k < text.length) {
    const lt = text.indexOf('<', k)
    const chunk = text.slice(k, lt === -1 ? text.length : lt)
    if (/&(?!(?:amp|lt|gt|quot|apos|#\d+);)/.test(chunk) || chunk.includes('>')) throw new Error(`bad text at ${k}: ${chunk.slice(0, 40)}`)
    if (chunk.trim() !== '' && stack.length === 0) throw new Error(`text outside the root at ${k}`)
    if (lt === -1) break
    token.lastIndex = lt
    const m = token.exec(text)
    if (m === null) throw new Error(`bad tag at ${lt}: ${text.slice(lt, lt + 60)}`)
    const [, close, name, attributes, selfClose] = m
    const names = [...attributes!.matchAll(/([\w:.-]+)=/g)].map((a) => a[1])
    if (new Set(names).size !== names.length) throw new Error(`repeated attribute in <${name}>`)
    if (close) {
      if (stack.pop() !== name) throw new Error(`</${name}> closes nothing open at ${lt}`)
    } else {
      if (stack.length === 0 && root !== undefined) throw new Error('a second root element')
      root ??= name
      elements++
      if (!selfClose) stack.push(name!)
    }
    k = token.lastIndex
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`)
  return { root: root!, elements }
}

test('checkXml refuses what is not well-formed', (t) => {
  t.is(checkXml('<svg a="1"><g><text>x &amp; y</text></g><rect/></svg>\n').elements, 4)
  for (const bad of ['<svg><g></svg>', '<svg>a & b</svg>', '<svg a="1" a="2"/>', '<svg/><svg/>', '<svg><text>a<b</text></svg>', '<svg a=1/>']) t.throws(() => checkXml(bad), undefined, bad)
})

test('the chart is well-formed SVG with both axes titled, one line and band per attack, and each point where its level and accuracy put it', (t) => {
  const points = madeUp((attack, k) => Math.max(0, 0.95 - k * (attack.startsWith('mult') ? 0.3 : 0.2)))
  const svg = budgetChart(points, { subject: 'test & <check>' })
  t.is(checkXml(svg).root, 'svg')
  t.true(svg.includes(`width="${G.width}" height="${G.height}"`))
  for (const title of ['Add-L∞ radius ε (×1/255)', 'Mult-L∞ ratio bound', 'Add-L2 radius ε, rms per value (×1/255)', 'Mult-L2 ratio bound, rms per value', 'accuracy', '100%', 'test &amp; &lt;check&gt;'])
    t.true(svg.includes(`>${title}<`) || svg.includes(title), title)
  // tick labels: L∞ radii in 1/255ths and the paired ratio bounds
  for (const tick of ['>16<', '>8<', '>1.16<', '>1.04<', '>1.08<', '>8.3<']) t.true(svg.includes(tick), tick)
  t.is([...svg.matchAll(/<polyline /g)].length, 4)
  t.is([...svg.matchAll(/<polygon data-band=/g)].length, 4)
  for (const [p, norm] of (['linf', 'l2'] as const).entries()) {
    const inPanel = points.filter((q) => q.norm === norm)
    const maxLevel = Math.max(...inPanel.map((q) => q.level))
    for (const attack of LP_ATTACKS.filter((a) => LP_BUDGETS[a].norm === norm)) {
      const series = inPanel.filter((q) => q.attack === attack)
      const expected = series.map((q) => [G.left + p * (G.plotW + G.gap) + (q.level / maxLevel) * G.plotW, G.top + (1 - q.accuracy) * G.plotH])
      const line = svg.match(new RegExp(`<polyline data-attack="${attack}"[^>]* points="([^"]+)"`))![1]!.split(' ').map((xy) => xy.split(',').map(Number))
      const circles = [...svg.matchAll(new RegExp(`<circle data-attack="${attack}" cx="([\\d.]+)" cy="([\\d.]+)"`, 'g'))].map((m) => [Number(m[1]), Number(m[2])])
      for (const drawn of [line, circles]) {
        t.is(drawn.length, series.length)
        drawn.forEach(([x, y], k) => t.true(Math.abs(x! - expected[k]![0]!) < 0.006 && Math.abs(y! - expected[k]![1]!) < 0.006, `${attack} point ${k}: (${x}, ${y}) vs (${expected[k]})`))
      }
      // the band runs along the upper bounds and back along the lower ones
      const band = svg.match(new RegExp(`<polygon data-band="${attack}" points="([^"]+)"`))![1]!.split(' ').map((xy) => Number(xy.split(',')[1]))
      t.deepEqual(band.map((y) => Math.round(y)), [...series.map((q) => Math.round(G.top + (1 - q.high) * G.plotH)), ...[...series].reverse().map((q) => Math.round(G.top + (1 - q.low) * G.plotH))])
    }
  }
  // a panel of one norm only, and points without clips, are drawn without failing
  const one = budgetChart([...points.filter((q) => q.norm === 'l2'), { ...points[0]!, norm: 'l2', clips: 0, accuracy: Number.NaN }])
  t.is(checkXml(one).root, 'svg')
  t.false(one.includes('data-panel="linf"'))
  t.false(one.includes('NaN'))
})

test('the PNG decodes to the SVG\'s size, with the text drawn (a font was found), or says why there is none', async (t) => {
  const svg = budgetChart(madeUp(() => 0.5))
  const png = await svgToPng(svg)
  if (typeof png === 'string') {
    // only where no font file exists (none of FONT_CANDIDATES, no MULTAV_FONT)
    t.regex(png, /^no PNG: no font found/)
    return
  }
  const image = PNG.sync.read(png)
  t.deepEqual([image.width, image.height], [G.width, G.height])
  // the title's first line (y 8..22 from x = left) holds dark pixels: text was rendered
  let dark = 0
  for (let y = 8; y < 22; y++) for (let x = G.left; x < G.left + 300; x++) if (image.data[(y * image.width + x) * 4]! < 100) dark++
  t.true(dark > 200, `${dark} dark pixels in the title`)
  const missing = await svgToPng(svg, { fonts: ['/nonexistent/font.ttf'] })
  t.regex(missing as string, /no font found/)
  await t.throwsAsync(svgToPng('<svg'), undefined, 'malformed SVG is refused by the renderer')
})

test.serial('writeBudgetCurve writes the CSV, SVG and PNG, and resumes from the CSV without measuring again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'multav-budget-'))
  try {
    const before = tf.memory().numTensors
    const options = { attacks: ['add-linf', 'mult-linf'] as const, levels: { linf: [0, 1] }, steps: 2 }
    const first = await writeBudgetCurve(dir, mlp.model, testSet.clips, testSet.labels, options)
    t.is(tf.memory().numTensors, before)
    t.true(first.measured)
    const csv = await readFile(join(dir, 'budget-curve.csv'), 'utf8')
    t.is(parseBudgetCsv(csv).length, 4)
    const svg = await readFile(join(dir, 'budget-curve.svg'), 'utf8')
    t.is(svg, budgetChart(parseBudgetCsv(csv)))
    await rm(join(dir, 'budget-curve.svg'))
    await rm(join(dir, 'budget-curve.png'), { force: true })
    const throwing: Model = () => {
      throw new Error('measured again')
    }
    const second = await writeBudgetCurve(dir, throwing, testSet.clips, testSet.labels, options)
    t.false(second.measured)
    t.is(await readFile(join(dir, 'budget-curve.svg'), 'utf8'), svg)
    t.is(await readFile(join(dir, 'budget-curve.csv'), 'utf8'), csv)
    if (second.pngMissing === undefined) t.true((await stat(join(dir, 'budget-curve.png'))).size > 1000)
    // a CSV of other options (more steps) or of other clips is no measurement of these: measured again, all replaced
    await t.throwsAsync(writeBudgetCurve(dir, throwing, testSet.clips, testSet.labels, { ...options, steps: 3 }), { message: 'measured again' })
    const other = await writeBudgetCurve(dir, mlp.model, testSet.clips, testSet.labels, { ...options, steps: 3 })
    t.true(other.measured)
    t.true(parseBudgetCsv(await readFile(join(dir, 'budget-curve.csv'), 'utf8')).every((p) => p.steps === (p.level === 0 ? 0 : 3)))
    t.not(await readFile(join(dir, 'budget-curve.svg'), 'utf8'), svg, 'the chart says 3 steps now')
    t.is(tf.memory().numTensors, before)
    const stopped = new AbortController()
    stopped.abort()
    const none = await writeBudgetCurve(join(dir, 'none'), throwing, testSet.clips, testSet.labels, { signal: stopped.signal })
    t.deepEqual(none, { files: [], measured: false, stopped: true })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.serial('a run\'s curve: the shipped model by name on the first clips of the benchmark, resumable in the run folder', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'multav-budget-run-'))
  try {
    const before = tf.memory().numTensors
    // level 0 only: the clean accuracy of the first 12 test clips, one forward pass
    const options = { attacks: ['mult-linf'] as const, levels: { linf: [0] } }
    const data = { kind: 'benchmark', split: 'test', clip: { T: 8, H: 32, W: 32 } } as const
    const written = await writeRunBudgetCurve(dir, 'default', data, 12, options)
    t.is(written.clips, 12)
    t.true(written.measured)
    const [point] = parseBudgetCsv(await readFile(join(dir, 'budget-curve.csv'), 'utf8'))
    const net = await pretrained('default')
    const first = benchmark({ split: 'test', count: 12 })
    t.is(point!.correct, Math.round(12 * (await accuracy(net.model, first.clips, first.labels))))
    net.dispose()
    t.true((await readFile(join(dir, 'budget-curve.svg'), 'utf8')).includes(benchmarkSubject(12)))
    t.false((await writeRunBudgetCurve(dir, 'default', data, 12, options)).measured)
    t.is(tf.memory().numTensors, before)
    await t.throwsAsync(writeRunBudgetCurve(dir, 'default', data, 0), { instanceOf: InputError })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  // the benchmark's first clips are class-balanced; a folder's items (sorted by class) are sampled evenly
  t.deepEqual(curveIds({ kind: 'benchmark' }, 240, 6), [0, 1, 2, 3, 4, 5])
  t.deepEqual(curveIds({ kind: 'items' }, 100, 4), [0, 25, 50, 75])
})

test.serial("a run's curve in 2 worker threads: the same CSV as in this thread, batches and random starts included, with a progress line per point", async (t) => {
  const dirs = await Promise.all([0, 1].map(() => mkdtemp(join(tmpdir(), 'multav-budget-pool-'))))
  try {
    // random starts (Add-L∞, Add-L2) are seeded per batch: 10 clips in batches of 4 (4, 4, 2)
    const options = { levels: { linf: [0, 1, 2], l2: [0, 2] }, steps: 2, batch: 4 }
    const data = { kind: 'benchmark', split: 'test', clip: { T: 8, H: 32, W: 32 } } as const
    const here = await writeRunBudgetCurve(dirs[0]!, 'default', data, 10, options)
    const progress: string[] = []
    const pooled = await writeRunBudgetCurve(dirs[1]!, 'default', data, 10, {
      ...options,
      workers: 2,
      backend: 'wasm',
      onProgress: (p) => progress.push(`${p.done}/${p.total} ${p.point.attack} ${p.point.level}`),
    })
    t.true(here.measured && pooled.measured)
    const [a, b] = await Promise.all(dirs.map((d) => readFile(join(d, 'budget-curve.csv'), 'utf8')))
    t.is(b, a)
    const points = parseBudgetCsv(a!)
    t.is(points.length, 4 * 3 - 2)
    t.is(progress.length, points.length)
    t.deepEqual(progress.map((p) => Number(p.split('/')[0])), points.map((_, k) => k + 1))
    t.deepEqual(new Set(progress.map((p) => p.split(' ').slice(1).join(' '))), new Set(points.map((p) => `${p.attack} ${p.level}`)))
    t.true(points.some((p) => p.level > 0 && p.correct < points.find((c) => c.attack === p.attack && c.level === 0)!.correct), 'some budget lowers the accuracy')
  } finally {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  }
})

test("the pool's tasks: per attack and batch, the batch's clips and chunk index (its random starts' seed), and the attack at each budget as budgetCurve makes it", (t) => {
  const run = { backend: 'wasm', model: 'default', data: { kind: 'benchmark', split: 'test', clip: { T: 8, H: 32, W: 32 } }, ids: [3, 5, 7, 9, 11, 13, 15, 17, 19, 21], workers: 2 } as const
  const o = { levels: { linf: [0, 1, 2], l2: [2] }, steps: 3, stepFraction: 5, batch: 4 }
  const tasks = curveTasks(run, o)
  t.deepEqual(tasks.map(({ group, task }) => `${group.attack} ${task.chunk} ${task.ids.join(',')}`), LP_ATTACKS.flatMap((a) => [`${a} 0 3,5,7,9`, `${a} 1 11,13,15,17`, `${a} 2 19,21`]))
  for (const { group, task } of tasks) {
    const levels = budgetPlan(o).filter((p) => p.attack === group.attack && p.level > 0).map((p) => p.level)
    const expected = levels.map((level) => {
      const { eps, alpha } = budgetAt(group.attack, level, 5)
      return encodeAttack({ ...LP_BUDGETS[group.attack].make(eps, alpha, 3), name: nameOf(group.attack, level) })
    })
    t.deepEqual(task.attacks, expected)
    t.is(new Set(task.attacks.map((a) => (a as { name: string }).name)).size, levels.length, 'the budgets are named apart')
    t.deepEqual(task.keep, [])
  }
})

test('docs/pictures/budget-curve.svg and .png are the chart of docs/pictures/budget-curve.csv (rerun scripts/budget-curve.ts --redraw when the chart changes)', async (t) => {
  const points = parseBudgetCsv(await readFile('docs/pictures/budget-curve.csv', 'utf8'))
  t.is(points.length, 20)
  t.is(await readFile('docs/pictures/budget-curve.svg', 'utf8'), budgetChart(points, { subject: benchmarkSubject(points[0]!.clips) }))
  // level 0 is one clean accuracy for all four attacks; every attacked point used the rule α = ε/4, 8 steps
  t.is(new Set(points.filter((p) => p.level === 0).map((p) => p.correct)).size, 1)
  for (const p of points.filter((q) => q.level > 0)) t.deepEqual([p.steps, +budgetAt(p.attack, p.level, 4).alpha.toPrecision(12)], [8, +p.alpha.toPrecision(12)])
  const image = PNG.sync.read(await readFile('docs/pictures/budget-curve.png'))
  t.deepEqual([image.width, image.height], [G.width, G.height])
})
