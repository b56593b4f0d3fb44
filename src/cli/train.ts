/** `multav train`: a 3D ResNet-18 on the shipped benchmark, adversarially with --adversarial. */
import * as E from 'fp-ts/lib/Either.js'
import type { Attack } from '../dsl/types.js'
import { BENCHMARK_CLASSES } from '../data/benchmark.js'
import { runTrain, TRAIN_CLIP } from '../eval/train-run.js'
import { loadAttackList } from '../eval/specs.js'
import { DENOISE_KINDS } from '../models/denoise.js'
import { defineCommand } from './command.js'
import { checkOutFolder, UsageError } from './errors.js'
import { boolean, enumeration, integer, list, number, string } from './options.js'
import { BACKEND_OPTIONS, checkFit, startBackend } from './shared.js'

const positiveInteger = (text: string): number | undefined => (/^\d+$/.test(text) && Number(text) >= 1 ? Number(text) : undefined)

export const trainCommand = defineCommand({
  name: 'train',
  options: {
    layout: enumeration(['torchvision', 'hara'], { default: 'torchvision', description: "the network's layout: torchvision's r3d_18 or Hara et al.'s 3D-ResNets" }),
    widths: list({ read: positiveInteger, text: 'positive integers', length: 4, example: '8,16,32,64' }, { default: [8, 16, 32, 64], description: "the four stages' channels" }),
    epochs: integer({ min: 1, default: 25, description: 'epochs of SGD (momentum 0.9, weight decay 5e-4, cosine learning rate)' }),
    lr: number({ positive: true, default: 0.05, description: 'the initial learning rate' }),
    batch: integer({ min: 1, default: 8, description: 'clips per minibatch' }),
    'train-clips': integer({ min: 1, default: 600, description: "the benchmark's training clips to use" }),
    'test-clips': integer({ min: 1, default: 240, description: "the benchmark's test clips to measure accuracy on after each epoch" }),
    seed: integer({ min: 0, default: 0, description: 'the seed of the initial weights and the shuffling' }),
    denoise: enumeration(DENOISE_KINDS, { default: 'none', description: 'feature-denoising blocks after each stage (3d or 2d non-local means)' }),
    init: string({ metavar: 'default|DIR', description: "start from a trained model's weights (e.g. to fine-tune it) instead of random ones" }),
    adversarial: string({ metavar: 'spec|name[:key=value…]', description: "train on this attack's adversarial minibatches (Madry et al.)" }),
    resume: boolean({ description: 'continue from the checkpoint in --out' }),
    out: string({ metavar: 'DIR', required: 'train needs --out DIR (where the weights and checkpoints go)', description: 'where the weights and checkpoints go' }),
    ...BACKEND_OPTIONS,
  },
  summary: 'train a 3D ResNet-18 on the shipped benchmark (adversarially, Madry, with --adversarial)',
  details: 'Checkpoints every epoch, test accuracy after each; --resume continues an interrupted run to the same weights.',
  run: async (v, _p, { io, argv }) => {
    let attack: Attack | undefined
    if (v.adversarial !== undefined) {
      const listed = await loadAttackList(v.adversarial, undefined, '--adversarial')
      if (E.isLeft(listed)) throw new UsageError(listed.left.join('\n'))
      if (listed.right.length !== 1) throw new UsageError(`--adversarial takes one attack, got ${listed.right.length}`)
      checkFit(listed.right, TRAIN_CLIP, BENCHMARK_CLASSES.length, '--adversarial')
      attack = listed.right[0]!
    }
    checkOutFolder(v.out)
    const backend = await startBackend(v)
    await runTrain({
      layout: v.layout,
      widths: v.widths as readonly [number, number, number, number],
      epochs: v.epochs,
      lr: v.lr,
      batch: v.batch,
      trainClips: v['train-clips'],
      testClips: v['test-clips'],
      denoise: v.denoise,
      ...(v.init !== undefined ? { init: v.init } : {}),
      seed: v.seed,
      out: v.out,
      resume: v.resume,
      ...(attack !== undefined ? { adversarial: attack } : {}),
      backend,
      argv,
      log: io.log,
    })
    return 0
  },
})
