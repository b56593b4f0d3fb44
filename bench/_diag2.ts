import * as tf from '@tensorflow/tfjs-core'
import { scaledBuiltIns } from "../src/eval/specs.js"
import { benchmark } from '../src/data/benchmark.js'
import { initBackend } from '../src/backend/backend.js'
import { pretrained } from '../src/models/pretrained.js'
import { withFilterCache } from '../src/ops/conv3d.js'
import { evaluateChunk } from '../src/eval/chunk.js'
await initBackend('wasm')
const net = await pretrained('default')
const c = benchmark({ split: 'test', count: 8 })
const attacks = scaledBuiltIns(32, 32)
const chunk = { index: 0, ids: [0,1,2,3,4,5,6,7], labels: c.labels, clips: c.clips }
const time = async (f: () => Promise<unknown>) => { const t = performance.now(); await f(); return performance.now() - t }
const plain = () => evaluateChunk(net.model, attacks, chunk)
const shared = () => withFilterCache(() => evaluateChunk(net.model, attacks, chunk))
await time(plain); await time(shared)
const A: number[] = [], B: number[] = []
for (let i = 0; i < 4; i++) { A.push(await time(plain)); B.push(await time(shared)) }
console.log('plain', A.map(v=>v.toFixed(0)).join(' '), 'shared', B.map(v=>v.toFixed(0)).join(' '))
