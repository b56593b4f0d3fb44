/**
 * The main job on the shipped default (until the video benchmark and trained 3D model exist): train
 * the tiny MLP on the toy motion clips, then attack its test split with the paper's four Lp attacks at
 * their defaults, print the table and write the results as JSON.
 */
import * as tf from '@tensorflow/tfjs-core'
import writeFileAtomic from 'write-file-atomic'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { toyMotion } from '../data/toy.js'
import { accuracy, trainTinyMlp } from '../models/tiny.js'
import { runAttack } from '../interpreters/tensor.js'
import { explain } from '../interpreters/pretty.js'
import { BUILT_IN } from '../eval/specs.js'
import * as attacks from '../dsl/attacks.js'
import type { Attack } from '../dsl/types.js'
import { defineCommand } from './command.js'
import { checkOutFolder } from './errors.js'
import { string } from './options.js'
import { BACKEND_OPTIONS, startBackend } from './shared.js'

/**
 * Budgets for the toy's 4x8x8 clips (768 values per clip). The paper's defaults are for 3·40·112·112
 * values, where a 4/255 L∞ budget moves the logits far more; on 768 values they barely do, so the demo
 * also runs these larger budgets.
 */
export const TOY_BUDGETS = {
  addLinf: { eps: 16 / 255, alpha: 4 / 255, steps: 10 },
  addL2: { alpha: 0.05, steps: 10 },
  multLinf: { eps: 1.2, alpha: 1.05, steps: 10 },
  multL2: { eps: 1.3, alpha: 1.05, steps: 10 },
} as const

/**
 * The demo's attacks: the four Lp attacks at the paper's defaults, then at the toy budgets, then the
 * masked attacks with regions scaled to 8x8 frames (the paper's 30x30 rectangle, ring of 10 and 100
 * pixels are for 112x112 frames).
 */
const demoAttacks = (): ReadonlyArray<readonly [string, Attack]> => [
  ...['add-linf', 'add-l2', 'mult-linf', 'mult-l2'].map((name) => [`${name} (paper defaults)`, BUILT_IN[name]!()] as const),
  ['add-linf (toy budget)', attacks.addLinf(TOY_BUDGETS.addLinf)],
  ['add-l2 (toy budget)', attacks.addL2(TOY_BUDGETS.addL2)],
  ['mult-linf (toy budget)', attacks.multLinf(TOY_BUDGETS.multLinf)],
  ['mult-l2 (toy budget)', attacks.multL2(TOY_BUDGETS.multL2)],
  ['roa 3x3 per frame', attacks.roa({ height: 3, width: 3 })],
  ['mult-roa 3x3 per frame', attacks.multRoa({ height: 3, width: 3 })],
  ['af ring 1', attacks.af({ width: 1 })],
  ['mult-af ring 1', attacks.multAf({ width: 1 })],
  ['spa 8 pixels/frame', attacks.spa({ perFrame: 8 })],
  ['mult-spa 8 pixels/frame', attacks.multSpa({ perFrame: 8 })],
]

export interface DemoRow {
  readonly attack: string
  readonly formula: string
  readonly accuracy: number
  readonly meanLinf: number
  readonly maxRatio: number
  readonly seconds: number
}

export const runDemo = async (o: { readonly out: string; readonly backend: string; readonly log: (line: string) => void }) => {
  const train = toyMotion({ count: 512, seed: 1 })
  const test = toyMotion({ count: 128, seed: 2 })
  o.log(`backend: ${o.backend}; toy motion clips ${test.clips.shape.slice(1).join('x')} (T, H, W, C)`)
  const started = Date.now()
  const mlp = await trainTinyMlp(train.clips, train.labels, 2, { epochs: 40, seed: 0 })
  const clean = await accuracy(mlp.model, test.clips, test.labels)
  o.log(`trained the tiny MLP in ${((Date.now() - started) / 1000).toFixed(1)} s; clean test accuracy ${pct(clean)}`)
  const rows: DemoRow[] = []
  const x = tf.tensor5d(test.clips.data, [...test.clips.shape])
  try {
    for (const [name, attack] of demoAttacks()) {
      const t0 = Date.now()
      const r = await runAttack(attack, mlp.model, x, test.labels)
      r.adversarial.dispose()
      const acc = r.success.filter((s) => !s).length / r.success.length
      rows.push({
        attack: name,
        formula: explain(attack).split('\n')[0]!,
        accuracy: acc,
        meanLinf: mean(r.sanity.linf),
        maxRatio: Math.max(...r.sanity.ratioLinf),
        seconds: (Date.now() - t0) / 1000,
      })
      o.log(`  ${name.padEnd(26)} accuracy ${pct(acc).padStart(7)}   mean ‖δ‖∞ ${mean(r.sanity.linf).toFixed(4)}   max ratio ${Math.max(...r.sanity.ratioLinf).toFixed(4)}`)
    }
  } finally {
    x.dispose()
    mlp.dispose()
  }
  await mkdir(o.out, { recursive: true })
  const file = join(o.out, 'demo-results.json')
  await writeFileAtomic(file, JSON.stringify({ backend: o.backend, clean, rows, date: new Date().toISOString() }, null, 2) + '\n')
  o.log('')
  o.log(markdownTable(clean, rows))
  o.log(`results written to ${file}`)
  return { clean, rows }
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`
const mean = (v: ReadonlyArray<number>) => v.reduce((a, b) => a + b, 0) / v.length

export const markdownTable = (clean: number, rows: ReadonlyArray<DemoRow>): string =>
  [
    '| attack | accuracy | formula |',
    '|---|---|---|',
    `| none (clean) | ${pct(clean)} | x' = x |`,
    ...rows.map((r) => `| ${r.attack} | ${pct(r.accuracy)} | \`${r.formula}\` |`),
  ].join('\n')

export const demoCommand = defineCommand({
  name: 'demo',
  options: { out: string({ metavar: 'DIR', default: 'multav-out', description: 'where demo-results.json goes' }), ...BACKEND_OPTIONS },
  summary: 'train a tiny model on toy motion clips and attack it with the four Lp attacks (a quick smoke test)',
  run: async (v, _p, { io }) => {
    checkOutFolder(v.out)
    const backend = await startBackend(v)
    await runDemo({ out: v.out, backend, log: io.log })
    return 0
  },
})
