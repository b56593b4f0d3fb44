/**
 * What `withCleanMemo` saves in an evaluation: the ten attacks of `npm start` (`all-scaled`) on one
 * chunk of 8 clips (8x32x32, seeded uniform values; labels 0–5) of the shipped default model, one
 * filter-cache scope per chunk as `eval` opens it, with and without the memo (the clean forward pass
 * and the first gradient of the six clean starts made once), the two alternating round by round in
 * one process; ms per chunk, the model's calls, and the paired speed-up. Both give the same clips bit
 * for bit (test/clean-memo.test.ts).
 *
 * Run: MULTAV_THREADS=1 node --import tsx bench/clean-memo.ts [--reps 7]
 */
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '../src/backend/backend.js'
import type { Model } from '../src/core/model.js'
import { scaledBuiltIns } from '../src/eval/specs.js'
import { runAttack, withCleanMemo } from '../src/interpreters/tensor.js'
import { resolveModel } from '../src/models/pretrained.js'
import { withFilterCache } from '../src/ops/conv3d.js'
import { benchArgs, benchMeta, iqr, median, writeResults } from './meta.js'

const { reps } = benchArgs({ reps: '7' })
await initBackend('wasm')
const loaded = await resolveModel('default')
const attacks = scaledBuiltIns(32, 32)
const x = tf.randomUniform([8, 8, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor5D
const labels = [0, 1, 2, 3, 4, 5, 0, 1]
let calls = 0
const model: Model = (v) => (calls++, loaded.model(v))

/** The ten attacks on the chunk, as `evaluateChunk` runs them (with the memo) or without the memo. */
const chunk = (memo: boolean): Promise<void> =>
  withFilterCache(async () => {
    const each = async () => {
      for (const a of attacks) (await runAttack(a, model, x, labels, { seed: 1 })).adversarial.dispose()
    }
    await (memo ? withCleanMemo(model, x, each) : each())
  })

const times: Record<'plain' | 'memo', number[]> = { plain: [], memo: [] }
const callsOf: Record<'plain' | 'memo', number> = { plain: 0, memo: 0 }
for (let round = -1; round < Number(reps); round++)
  for (const variant of round % 2 === 0 ? (['plain', 'memo'] as const) : (['memo', 'plain'] as const)) {
    calls = 0
    const t0 = performance.now()
    await chunk(variant === 'memo')
    if (round >= 0) times[variant].push(performance.now() - t0) // round −1 warms up
    callsOf[variant] = calls
  }
const ratios = times.plain.map((ms, i) => ms / times.memo[i]!)
const rows = (['plain', 'memo'] as const).map((v) => ({ variant: v, medianMs: median(times[v]), iqrMs: iqr(times[v]), modelCalls: callsOf[v] }))
console.log(`the ten attacks on one chunk of the default model (8 clips of 8x32x32), ms per chunk, median of ${reps} alternating rounds`)
console.log('| variant | ms (IQR) | model calls |\n|---|---|---|')
for (const r of rows) console.log(`| ${r.variant} | ${r.medianMs.toFixed(0)} (${r.iqrMs}) | ${r.modelCalls} |`)
console.log(`speed-up with the memo, paired: ${median(ratios).toFixed(3)} (IQR ${iqr(ratios, 3)})`)
await writeResults('clean-memo', { meta: { ...benchMeta('wasm'), reps: Number(reps) }, rows, speedup: median(ratios), speedupIqr: iqr(ratios, 3) })
x.dispose()
loaded.dispose()
