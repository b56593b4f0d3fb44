/** Labelled pictures: the SVG sheet's titles, frame numbers and classes, and the additive/multiplicative pair an evaluation draws. */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PNG } from 'pngjs'
import { initBackend } from '../src/backend/backend.js'
import { BENCHMARK_CLASSES } from '../src/data/benchmark.js'
import { encodeAttack } from '../src/dsl/codec.js'
import { labelledSheet, sheetRow } from '../src/eval/labelled.js'
import { attackSheet } from '../src/eval/pictures.js'
import { runEval } from '../src/eval/run.js'
import { attackList, saveTinyModel } from './fixtures/tiny-run.js'

const clip = { T: 4, H: 16, W: 16 }

const keptClip = () => {
  const n = clip.T * clip.H * clip.W * 3
  const clean = Float32Array.from({ length: n }, (_, i) => (i % 7) / 7)
  return { clip: 3, attack: 'a<b & c', clean, adversarial: clean.map((v) => Math.min(1, v * 1.04)), shape: [clip.T, clip.H, clip.W, 3] as const }
}

const embeddedPng = (svg: string): PNG[] =>
  [...svg.matchAll(/href="data:image\/png;base64,([^"]+)"/g)].map((m) => PNG.sync.read(Buffer.from(m[1]!, 'base64')))

test('a labelled sheet names the attack, its formula, the columns, the frames and the classes, around the sheet itself', (t) => {
  const sheet = attackSheet(keptClip(), { frames: 3 })
  const svg = labelledSheet(sheet, { attack: 'a<b & c', formula: "x' ← x' ⊙ 1.04", label: 2, cleanPrediction: 2, adversarialPrediction: 5 })
  t.regex(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  t.regex(svg, />a&lt;b &amp; c<\/text>/, 'the name is escaped')
  t.regex(svg, />x' ← x' ⊙ 1\.04<\/text>/)
  for (const title of ['clean', 'adversarial', "|x' − x| ×15"]) t.true(svg.includes(`>${title}</text>`), title)
  for (const f of sheet.frames) t.true(svg.includes(`>frame ${f}</text>`), `frame ${f}`)
  t.deepEqual(sheet.frames, [0, 2, 3])
  t.regex(svg, />true class 2 · clean → 2 · adversarial → 5 \(flipped\)<\/text>/)
  const [png] = embeddedPng(svg)
  t.is(png?.width, sheet.width)
  t.deepEqual(Uint8Array.from(png!.data), sheet.data, 'the embedded picture is the sheet, pixel for pixel')
  // not flipped: already wrong on the clean clip
  t.regex(labelledSheet(sheet, { attack: 'x', label: 1, cleanPrediction: 2, adversarialPrediction: 5 }), />true class 1 · clean → 2 · adversarial → 5<\/text>/)
  const pair = sheetRow([{ sheet, labels: { attack: 'add-linf' } }, { sheet, labels: { attack: 'mult-linf' } }], 'clip 3')
  t.is(embeddedPng(pair).length, 2)
  t.true(pair.includes('>add-linf</text>') && pair.includes('>mult-linf</text>'))
})

test.serial('an evaluation draws each kept clip as PNG and labelled SVG, and the Add/Mult pair on the same clip; no tensor left behind', async (t) => {
  await initBackend('cpu')
  const root = await mkdtemp(join(tmpdir(), 'multav-pictures-'))
  try {
    const model = join(root, 'model')
    await saveTinyModel(model, clip)
    const listed = await attackList('add-linf:steps=1,mult-linf:steps=1', clip)
    const out = join(root, 'run')
    const plan = {
      model, classes: [...BENCHMARK_CLASSES], data: { kind: 'benchmark' as const, split: 'test' as const, clip }, clips: 2,
      attacks: listed.map(encodeAttack), attackNames: listed.map((a) => a.name), batch: 2, shard: { index: 0, count: 1 },
    }
    const r = await runEval({ plan, backend: 'cpu', out, resume: false, workers: 1, pictureClips: 1 })
    t.true(r.complete)
    // the first run loads (and keeps) the model; a second one draws the same pictures and adds no tensor
    const before = tf.memory().numTensors
    await runEval({ plan, backend: 'cpu', out: join(root, 'again'), resume: false, workers: 1, pictureClips: 1 })
    t.is(tf.memory().numTensors, before)
    const names = (await readdir(join(out, 'pictures'))).sort()
    t.deepEqual(names, [
      'add-linf_steps_1-clip0.png', 'add-linf_steps_1-clip0.svg', 'mult-linf_steps_1-clip0.png', 'mult-linf_steps_1-clip0.svg',
      'pair-add-linf_steps_1-vs-mult-linf_steps_1-clip0.png', 'pair-add-linf_steps_1-vs-mult-linf_steps_1-clip0.svg',
    ])
    const row = r.rows.find((x) => x.clip === 0 && x.attack === listed[1]!.name)!
    const sheet = await readFile(join(out, 'pictures', 'mult-linf_steps_1-clip0.svg'), 'utf8')
    t.true(sheet.includes(`>true class ${row.label} · clean → ${row.clean} · adversarial → ${row.adversarial}`))
    t.regex(sheet, /Π_ratio∞\(1\.04\)/, 'the formula')
    const pair = await readFile(join(out, 'pictures', 'pair-add-linf_steps_1-vs-mult-linf_steps_1-clip0.svg'), 'utf8')
    const [add, mult] = embeddedPng(pair)
    const png = PNG.sync.read(await readFile(join(out, 'pictures', 'add-linf_steps_1-clip0.png')))
    t.deepEqual(Uint8Array.from(add!.data), Uint8Array.from(png.data), 'the pair shows the same sheets')
    t.is(mult!.width, add!.width)
    // the pair as PNG: the SVG rendered at its own size, its labels drawn (dark pixels in the title row)
    const rendered = PNG.sync.read(await readFile(join(out, 'pictures', 'pair-add-linf_steps_1-vs-mult-linf_steps_1-clip0.png')))
    const size = /<svg[^>]*\bwidth="(\d+)"[^>]*\bheight="(\d+)"/.exec(pair)!
    t.deepEqual([rendered.width, rendered.height], [Number(size[1]), Number(size[2])])
    let dark = 0
    for (let i = 0; i < rendered.width * 20 * 4; i += 4) if (rendered.data[i]! < 100) dark++
    t.true(dark > 20, `dark pixels in the first 20 rows: ${dark}`)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})
