import * as tf from '@tensorflow/tfjs-core'
import { benchmark } from '../src/data/benchmark.js'
import { initBackend } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { pretrained } from '../src/models/pretrained.js'
import { scaledBuiltIns } from '../src/eval/specs.js'
await initBackend('wasm')
const net = await pretrained('default')
const clips = benchmark({ split: 'test', count: 8 })
const x = tf.tensor5d(clips.clips.data, [...clips.clips.shape])
for (const attack of scaledBuiltIns(32, 32)) {
  const a = attack
  await runAttack(attack, net.model, x, clips.labels).then((r) => r.adversarial.dispose())
  const info = await tf.profile(async () => { const r = await runAttack(attack, net.model, x, clips.labels); r.adversarial.dispose() })
  const by = new Map<string, { n: number; ms: number }>()
  for (const k of info.kernels) { const key = k.name; const e = by.get(key) ?? { n: 0, ms: 0 }; e.n++; e.ms += k.kernelTimeMs as number; by.set(key, e) }
  const slow = [...by].filter(([k]) => !/Conv|Multav|Relu|Reshape|Identity|BatchMatMul|Transpose/.test(k)).sort((p, q) => q[1].ms - p[1].ms).slice(0, 8)
  const total = info.kernels.reduce((s, k) => s + (k.kernelTimeMs as number), 0)
  console.log(`${a.name}: ${total.toFixed(0)} ms in kernels; ` + slow.map(([k, v]) => `${k} ${v.n}x ${v.ms.toFixed(1)}`).join(', '))
}
