/**
 * Where implementations differ: Add-L2 with multav's constraint order (project onto the L2 ball, then
 * clip to [0, 1]) against the other common order (clip, then project), on the shipped default model
 * and benchmark clips (letterboxed clips hold exact zeros, highlights exact ones). Both are attack
 * values: the second is the first with its step's constraints reversed. Prints the share of values
 * the two results agree on (within 1e-6), over all clips and over the clips that touch 0 or 1.
 *
 * Add-L2's defaults (random start on the ball's surface, seed 0: both orders start from the same clip).
 *
 * Run: node --import tsx scripts/l2-order.ts [--clips 16] [--eps 0.13] [--alpha 0.00081] [--no-random-start]
 */
import * as tf from '@tensorflow/tfjs-core'
import { parseArgs } from 'node:util'
import * as attacks from '../src/dsl/attacks.js'
import type { Attack } from '../src/dsl/types.js'
import { benchmark } from '../src/data/benchmark.js'
import { initBackend } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { pretrained } from '../src/models/pretrained.js'

const { values } = parseArgs({ options: { clips: { type: 'string', default: '16' }, eps: { type: 'string', default: '0.13' }, alpha: { type: 'string', default: String(1 / 1227) }, 'no-random-start': { type: 'boolean', default: false } } })
await initBackend('wasm')
const net = await pretrained('default')
const data = benchmark({ split: 'test', count: Number(values.clips) })
const projectThenClip = attacks.addL2({ eps: Number(values.eps), alpha: Number(values.alpha), randomStart: !values['no-random-start'] })
const clipThenProject: Attack = { ...projectThenClip, name: 'add-l2-clip-first', body: projectThenClip.body.map((s) => ({ ...s, constraints: [...s.constraints].reverse() })) }

const x = tf.tensor5d(data.clips.data, data.clips.shape as [number, number, number, number, number])
const [a, b] = [await runAttack(projectThenClip, net.model, x, data.labels), await runAttack(clipThenProject, net.model, x, data.labels)]
const [va, vb, vx] = [await a.adversarial.data(), await b.adversarial.data(), await x.data()]
const per = vx.length / data.labels.length
let [same, all, sameTouching, touching] = [0, 0, 0, 0]
for (let n = 0; n < data.labels.length; n++) {
  let agree = 0
  let touches = false
  for (let i = n * per; i < (n + 1) * per; i++) {
    if (Math.abs(va[i]! - vb[i]!) <= 1e-6) agree++
    if (va[i] === 0 || va[i] === 1 || vb[i] === 0 || vb[i] === 1) touches = true
  }
  ;[same, all] = [same + agree, all + per]
  if (touches) [sameTouching, touching] = [sameTouching + agree, touching + per]
}
console.log(`Add-L2 (ε ${values.eps}, α ${Number(values.alpha).toPrecision(3)} rms, 5 steps, ${values['no-random-start'] ? 'no random start' : 'random start'}) on ${data.labels.length} benchmark clips, default model:`)
console.log(`  project-then-clip vs clip-then-project agree on ${((100 * same) / all).toFixed(1)}% of values`)
console.log(`  on the ${touching / per} clips that reach 0 or 1: ${((100 * sameTouching) / Math.max(touching, 1)).toFixed(1)}%`)
console.log(`  predictions: ${a.predictions.join(' ')} | ${b.predictions.join(' ')}`)
tf.dispose([x, a.adversarial, b.adversarial])
