/**
 * `multav train`: a 3D ResNet-18 on the shipped benchmark, optionally adversarially (Madry) with any
 * attack spec; checkpoints every epoch (resumed with --resume), progress with ETA, the test accuracy
 * and the exact command saved with the weights.
 */
import * as E from 'fp-ts/lib/Either.js'
import { join } from 'node:path'
import { benchmark } from '../data/benchmark.js'
import type { Attack } from '../dsl/types.js'
import { r3d18, type R3dConfig } from '../models/r3d.js'
import { accuracy } from '../models/tiny.js'
import { train } from '../models/train.js'
import { saveWeights } from '../models/weights.js'
import type { DenoiseKind } from '../models/denoise.js'
import { resolveModel } from '../models/pretrained.js'
import { InputError } from '../core/errors.js'
import type { VideoModel } from '../models/r3d.js'

export interface TrainCommand {
  readonly layout: R3dConfig['layout']
  readonly widths: readonly [number, number, number, number]
  readonly epochs: number
  readonly lr: number
  readonly batch: number
  /** Clips of the benchmark's train split (default 600). */
  readonly trainClips?: number
  /** Clip size of the benchmark (default 8x32x32). */
  readonly clip?: { readonly T: number; readonly H: number; readonly W: number }
  /** Clips of the test split the accuracy is measured on (default all 240). */
  readonly testClips?: number
  /** Feature-denoising blocks after each stage (default none). */
  readonly denoise?: DenoiseKind
  /** Start from this model's weights (a shipped name or a model folder) instead of a fresh initialisation. */
  readonly init?: string
  /** Log the test accuracy after every epoch (default true). */
  readonly evalEachEpoch?: boolean
  readonly out: string
  readonly resume: boolean
  readonly adversarial?: Attack
  readonly seed: number
  readonly backend: string
  readonly argv: ReadonlyArray<string>
  readonly log: (line: string) => void
}

/** The benchmark clips `multav train` trains on unless told otherwise: 8 frames of 32x32. */
export const TRAIN_CLIP = { T: 8, H: 32, W: 32 } as const

/** Parses "8,16,32,64" into four positive widths, or says what is wrong. */
export const parseWidths = (text: string): E.Either<string, readonly [number, number, number, number]> => {
  const parts = text.split(',').map(Number)
  return parts.length === 4 && parts.every((w) => Number.isInteger(w) && w >= 1)
    ? E.right(parts as unknown as readonly [number, number, number, number])
    : E.left(`--widths must be four positive integers like 8,16,32,64, got "${text}"`)
}

export const runTrain = async (c: TrainCommand): Promise<{ readonly testAccuracy: number }> => {
  const attack = c.adversarial
  const clip = c.clip ?? TRAIN_CLIP
  const trainSet = benchmark({ split: 'train', ...clip, ...(c.trainClips ? { count: c.trainClips } : {}) })
  const testSet = benchmark({ split: 'test', ...clip, ...(c.testClips ? { count: c.testClips } : {}) })
  const [, T, H, W] = trainSet.clips.shape
  const denoise = c.denoise ?? 'none'
  const config: R3dConfig = { layout: c.layout, classes: trainSet.classes.length, widths: c.widths, seed: c.seed, denoise, frames: T }
  const net = r3d18(config)
  const started = Date.now()
  let last = -1
  try {
    if (c.init !== undefined) await initialiseFrom(net, c.init, c.log)
    await train(net, trainSet, {
      epochs: c.epochs,
      batchSize: c.batch,
      schedule: { _tag: 'Cosine', lr: c.lr },
      seed: c.seed,
      checkpointDir: join(c.out, 'checkpoint'),
      resume: c.resume,
      ...(attack ? { attack } : {}),
      onProgress: (p) => {
        if (p.step === p.steps && p.epoch !== last) {
          last = p.epoch
          c.log(`epoch ${p.epoch}/${p.epochs}: loss ${p.loss.toFixed(4)}, train accuracy ${(100 * p.accuracy).toFixed(1)}%, ETA ${Math.round(p.etaSeconds)} s`)
        }
      },
      onEpoch: async (done) => {
        if (done < c.epochs && c.evalEachEpoch !== false) c.log(`  test accuracy after epoch ${done}: ${(100 * (await accuracy(net.model, testSet.clips, testSet.labels))).toFixed(1)}%`)
      },
    })
    const testAccuracy = await accuracy(net.model, testSet.clips, testSet.labels)
    const seconds = (Date.now() - started) / 1000
    c.log(`test accuracy ${(100 * testAccuracy).toFixed(2)}% after ${seconds.toFixed(0)} s on ${c.backend}`)
    await saveWeights(c.out, { ...net.variables, ...net.state }, {
      config: {
        architecture: 'r3d18',
        layout: c.layout,
        widths: c.widths,
        denoise,
        seed: c.seed,
        init: c.init ?? null,
        clip: { T, H, W },
        classes: trainSet.classes,
        trainClips: trainSet.labels.length,
        testClips: testSet.labels.length,
        adversarial: attack?.name ?? null,
        testAccuracy,
        trainSeconds: seconds,
        backend: c.backend,
        command: `multav ${c.argv.join(' ')}`,
      },
    })
    c.log(`weights written to ${c.out}`)
    return { testAccuracy }
  } finally {
    net.dispose()
  }
}

/**
 * Copies the weights of a trained model into `net` by name (e.g. a clean backbone under new denoising
 * blocks, for adversarial fine-tuning). Every weight of the source must exist in `net` with the same
 * shape; `net`'s other weights keep their fresh initialisation.
 */
export const initialiseFrom = async (net: VideoModel, ref: string, log: (line: string) => void): Promise<void> => {
  const source = await resolveModel(ref)
  try {
    if (source.variables === undefined)
      throw new InputError(`--init ${ref}: is an ${source.info.kind} model folder; --init takes a 3D ResNet-18 folder (multav train's, or an imported state dict)`)
    const target = { ...net.variables, ...net.state }
    const from = { ...source.variables, ...source.state }
    // every weight checked before any is copied
    for (const [name, w] of Object.entries(from)) {
      const into = target[name]
      if (!into) throw new Error(`--init ${ref}: its weight ${name} is not part of the network being trained`)
      if (into.shape.join() !== w.shape.join()) throw new Error(`--init ${ref}: weight ${name} has shape [${w.shape}], the network being trained needs [${into.shape}]`)
    }
    for (const [name, w] of Object.entries(from)) target[name]!.assign(w)
    const fresh = Object.keys(target).filter((n) => !(n in from))
    log(`initialised from ${ref}${fresh.length > 0 ? ` (${fresh.length} new weights keep their fresh initialisation)` : ''}`)
  } finally {
    source.dispose()
  }
}
