/**
 * Defences and the paper's table: adversarial training makes a model more robust to the attack it was
 * trained on; the table puts the right numbers in the right cells; `multav reproduce --quick` runs the
 * whole pipeline (31 models, denoising blocks included) end to end and resumes without retraining.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as attacks from '../src/dsl/attacks.js'
import { toyMotion } from '../src/data/toy.js'
import { quantise } from '../src/eval/chunk.js'
import { FAMILIES, NETWORKS, QUICK, TWINS, modelJobs, reproduceTable, tableMarkdown } from '../src/eval/reproduce.js'
import type { Summary } from '../src/eval/results.js'
import { tableChart } from '../src/eval/table-chart.js'
import { initBackend } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { tinyMlp } from '../src/models/tiny.js'
import { train } from '../src/models/train.js'
import { main } from '../src/cli/main.js'

const quiet = { log: () => undefined, warn: () => undefined, tty: false }

test.serial('adversarial training (Madry) lowers the attack\'s success on a tiny setup, compared with clean training', async (t) => {
  await initBackend('wasm')
  const before = tf.memory().numTensors
  const data = toyMotion({ count: 128, seed: 11 })
  const held = toyMotion({ count: 64, seed: 12 })
  const attack = attacks.multLinf({ eps: 1.2, alpha: 1.05, steps: 5 })
  const options = { epochs: 12, batchSize: 16, schedule: { _tag: 'Constant', lr: 0.02 }, seed: 5 } as const
  const accuracyUnderAttack = async (net: ReturnType<typeof tinyMlp>) => {
    const x = tf.tensor5d(held.clips.data, [...held.clips.shape])
    const r = await runAttack(attack, net.model, x, held.labels)
    const q = quantise(r.adversarial)
    const predicted = tf.tidy(() => tf.argMax(net.model(q), 1))
    const p = await predicted.data()
    tf.dispose([x, r.adversarial, q, predicted])
    return held.labels.filter((l, i) => p[i] === l).length / held.labels.length
  }
  const clean = tinyMlp(4 * 8 * 8 * 3, 32, 2, 0)
  await train(clean, data, options)
  const robust = tinyMlp(4 * 8 * 8 * 3, 32, 2, 0)
  await train(robust, data, { ...options, attack })
  const [a, b] = [await accuracyUnderAttack(clean), await accuracyUnderAttack(robust)]
  t.log(`accuracy under Mult-L∞ (ε 1.2): clean training ${(100 * a).toFixed(1)}%, adversarial training ${(100 * b).toFixed(1)}%`)
  t.true(b >= a + 0.2, `adversarial training: ${b} vs clean training: ${a}`)
  clean.dispose()
  robust.dispose()
  t.is(tf.memory().numTensors, before)
})

/** A summary whose accuracy under each attack is given (clean accuracy `clean`). */
const summary = (clean: number, under: Readonly<Record<string, number>>): Summary => ({
  clips: 12,
  cleanAccuracy: clean,
  attacks: Object.entries(under).map(([attack, accuracy]) => ({ attack, clips: 12, accuracy, successOnCorrect: 0, maxLinf: 0, meanL2: 0, maxRatio: 1, secondsPerClip: 0 })),
})

test('the table: each Mult/Add cell is the accuracy of that column\'s model under that column\'s attack; gaps are Add − Mult', (t) => {
  const results: Record<string, { summary: Summary }> = {}
  for (const job of modelJobs()) {
    // every model scores k/100 under attack number k, offset by which model it is, so cells are traceable
    const offset = job.training === 'clean' ? 0 : (job.training.kind === 'mult' ? 0.5 : 0.3) + FAMILIES.indexOf(job.training.family) * 0.01 + NETWORKS.indexOf(job.network) * 0.001
    const under = Object.fromEntries(FAMILIES.flatMap((f, k) => [[`${TWINS[f].mult} renamed`, offset + k * 0.02], [TWINS[f].add, offset + k * 0.02 + 0.1]]))
    results[job.name] = { summary: summary(0.9, under) }
  }
  t.is(Object.keys(results).length, 31)
  const table = reproduceTable(results)
  t.is(table.rows.length, 7)
  const row = (network: string, training: string) => table.rows.find((r) => r.network === network && r.training === training)!
  // the Mult row of '3d', column roa (k = 2): the 3d-mult-roa model under mult-roa
  t.true(Math.abs(row('3d', 'mult').mult.roa - (0.5 + 2 * 0.01 + 0.001 + 2 * 0.02)) < 1e-12)
  t.true(Math.abs(row('2d', 'add').add.spa - (0.3 + 4 * 0.01 + 0.002 + 4 * 0.02 + 0.1)) < 1e-12)
  t.true(Math.abs(row('plain', 'clean').mult.linf - 0) < 1e-12)
  t.true(Math.abs(table.gaps['plain'].l2 - (row('plain', 'add').mult.l2 - row('plain', 'mult').mult.l2)) < 1e-12)
  t.true(table.gaps['plain'].l2 < 0)
  const md = tableMarkdown(table)
  t.regex(md, /\| Network \| Clean \| Training \| MultAV-L∞ \| MultAV-L2 \| MultAV-ROA \| MultAV-AF \| MultAV-SPA \|/)
  t.regex(md, /\| 3D ResNet-18 \| 90\.0 \| Clean \|/)
  t.regex(md, /\|  \| 90\.0 \| Mult \| 50\.0 \|/)
  t.is(md.match(/Add − Mult/g)?.length, 3)
  t.regex(md, /\| \+ 2D Denoise \| 90\.0 \| Mult \|/)
})

test.serial('reproduce --quick: 31 models trained and evaluated, the table written; the same command again retrains nothing', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'multav-reproduce-'))
  try {
    const lines: string[] = []
    const io = { ...quiet, log: (l: string) => void lines.push(l) }
    const code = await main(['reproduce', '--quick', '--workers', '2', '--out', out, '--backend', 'wasm'], io)
    t.is(code, 0, lines.join('\n'))
    const { table, config } = JSON.parse(await readFile(join(out, 'table.json'), 'utf8'))
    t.deepEqual(config, JSON.parse(JSON.stringify(QUICK)))
    t.is(table.rows.length, 7)
    for (const r of table.rows)
      for (const v of [r.clean, ...Object.values(r.mult), ...Object.values(r.add)] as number[]) t.true(v >= 0 && v <= 1, `${r.network}/${r.training}: ${v}`)
    // every model exists, with the network and training it should have
    for (const job of modelJobs()) {
      const { config: c } = JSON.parse(await readFile(join(out, 'models', job.name, 'model.json'), 'utf8'))
      t.is(c.denoise, job.network === 'plain' ? 'none' : job.network)
      t.deepEqual(c.clip, QUICK.clip)
      if (job.training === 'clean') t.is(c.adversarial, null)
      else {
        t.is(c.adversarial.split(' ')[0], TWINS[job.training.family][job.training.kind])
        t.is(c.init, join(out, 'models', 'clean'))
      }
      t.true(existsSync(join(out, 'eval', job.name, 'results.json')))
    }
    const md = await readFile(join(out, 'table.md'), 'utf8')
    t.regex(md, /MultAV-L∞/)
    t.truthy(lines.find((l) => l.includes('Add − Mult')))
    t.is(await readFile(join(out, 'table.svg'), 'utf8'), tableChart(table), 'the chart of the table, beside it')
    // again: nothing is retrained (the weights' files are untouched) and the table is the same
    const weights = join(out, 'models', '3d-mult-linf', 'group1-shard1of1.bin')
    const mtime = (await stat(weights)).mtimeMs
    const again: string[] = []
    t.is(await main(['reproduce', '--quick', '--workers', '1', '--out', out, '--backend', 'wasm'], { ...quiet, log: (l) => void again.push(l) }), 0)
    t.is((await stat(weights)).mtimeMs, mtime)
    t.is(again.filter((l) => l.includes('(already done)')).length, 31)
    t.deepEqual(JSON.parse(await readFile(join(out, 'table.json'), 'utf8')).table, table)
    // a folder holding a run with other settings is refused (exit 2), never mixed
    const plan = join(out, 'reproduce.json')
    await writeFile(plan, (await readFile(plan, 'utf8')).replace('"testClips": 12', '"testClips": 18'))
    t.is(await main(['reproduce', '--quick', '--out', out], quiet), 2)
  } finally {
    await rm(out, { recursive: true, force: true })
  }
})

test.serial('reproduce: bad arguments exit 2', async (t) => {
  t.is(await main(['reproduce', '--workers', '0'], quiet), 2)
  t.is(await main(['reproduce', 'extra'], quiet), 2)
  t.is(await main(['reproduce', '--fast'], quiet), 2)
})
