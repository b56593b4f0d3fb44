/**
 * Trains the default model multav ships (models/default): a width-reduced torchvision-layout 3D
 * ResNet-18 on the shipped benchmark (train split), evaluated on the test split after every epoch.
 * Resumable: rerunning continues from the checkpoint in `--out`/checkpoint.
 *
 * Run: node --import tsx scripts/train-default.ts [--epochs 15] [--lr 0.02] [--out models/default]
 */
import * as tf from '@tensorflow/tfjs-core'
import { parseArgs } from 'node:util'
import { join } from 'node:path'
import { benchmark } from '../src/data/benchmark.js'
import { initBackend } from '../src/interpreters/backend.js'
import { r3d18, type R3dConfig } from '../src/models/r3d.js'
import { accuracy } from '../src/models/tiny.js'
import { train } from '../src/models/train.js'
import { saveWeights } from '../src/models/weights.js'

const { values } = parseArgs({
  options: { epochs: { type: 'string', default: '15' }, lr: { type: 'string', default: '0.02' }, out: { type: 'string', default: 'models/default' } },
})
const epochs = Number(values.epochs)
const lr = Number(values.lr)
const backend = await initBackend()
const trainSet = benchmark({ split: 'train' })
const testSet = benchmark({ split: 'test' })
const config: R3dConfig = { layout: 'torchvision', classes: 6, widths: [8, 16, 32, 64], seed: 0 }
const net = r3d18(config)
const started = Date.now()
let last = -1
await train(net, trainSet, {
  epochs,
  batchSize: 16,
  schedule: { _tag: 'Cosine', lr },
  momentum: 0.9,
  weightDecay: 5e-4,
  seed: 0,
  checkpointDir: join(values.out!, 'checkpoint'),
  resume: true,
  onProgress: (p) => {
    if (p.step === p.steps && p.epoch !== last) {
      last = p.epoch
      console.log(`epoch ${p.epoch}/${p.epochs}: loss ${p.loss.toFixed(4)}, train accuracy ${(100 * p.accuracy).toFixed(1)}%, ETA ${Math.round(p.etaSeconds)} s`)
    }
  },
})
const testAccuracy = await accuracy(net.model, testSet.clips, testSet.labels)
const seconds = (Date.now() - started) / 1000
console.log(`test accuracy ${(100 * testAccuracy).toFixed(2)}% after ${seconds.toFixed(0)} s on ${backend}`)
await saveWeights(values.out!, { ...net.variables, ...net.state }, {
  config: {
    architecture: 'r3d18',
    ...config,
    clip: { T: 8, H: 32, W: 32 },
    classes: trainSet.classes,
    testAccuracy,
    trainSeconds: seconds,
    backend,
    command: `node --import tsx scripts/train-default.ts --epochs ${epochs} --lr ${lr} --out ${values.out}`,
  },
})
net.dispose()
tf.disposeVariables()
