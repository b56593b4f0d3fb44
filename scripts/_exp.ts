import { benchmark } from '../src/data/benchmark.js'
import { initBackend } from '../src/interpreters/backend.js'
import { r3d18 } from '../src/models/r3d.js'
import { accuracy } from '../src/models/tiny.js'
import { train } from '../src/models/train.js'
await initBackend('wasm')
const env = process.env
const set = benchmark({ split: 'train', count: Number(env.N ?? 600) })
const test = benchmark({ split: 'test', count: 120 })
const net = r3d18({ layout: 'torchvision', classes: 6, widths: (env.WIDTHS ?? '8,16,32,64').split(',').map(Number) as any, seed: 0 })
const t0 = Date.now()
await train(net, set, { epochs: Number(env.E ?? 5), batchSize: Number(env.BS ?? 8), schedule: { _tag: (env.SCHED ?? 'Constant') as any, lr: Number(env.LR ?? 0.05) }, seed: 0,
  onEpoch: async (e) => { console.log(e, ((Date.now()-t0)/1000).toFixed(0)+'s', 'test acc', await accuracy(net.model, test.clips, test.labels)) },
  onProgress: (p) => { if (p.step === p.steps) console.log('loss', p.loss.toFixed(3), 'acc', p.accuracy.toFixed(2)) } })
