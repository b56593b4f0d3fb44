/**
 * 3D ResNet-18 video classifiers in the two common layouts, with PyTorch's state-dict names so that
 * weights import one to one:
 *
 * - 'hara' (Hara et al., CVPR 2018; the paper's backbone): stem conv 7x7x7 stride (1,2,2) pad 3 → BN →
 *   ReLU → max-pool 3 stride 2 pad 1; shortcut A (stride-s subsampling + zero channel padding).
 *   Names: conv1.weight, bn1.*, layerL.B.conv{1,2}.weight, layerL.B.bn{1,2}.*, fc.*.
 * - 'torchvision' (`r3d_18`): stem conv 3x7x7 stride (1,2,2) pad (1,3,3), no max-pool; shortcut B
 *   (1x1x1 conv with stride + BN). Names: stem.0.weight, stem.1.*, layerL.B.conv{1,2}.{0.weight,1.*},
 *   layerL.B.downsample.{0.weight,1.*}, fc.*.
 *
 * Both: 4 stages of 2 BasicBlocks (3x3x3 convs), stride 2 at the start of stages 2–4, global average
 * pool, FC. Clips are [N, T, H, W, 3] in [0, 1]; a model that needs normalisation owns it (`mean`,
 * `std`). Conv filters are stored [kd, kh, kw, Cin, Cout], FC weights [C, K]. BN in inference mode is
 * x·scale + shift, folded into the convolution before it (its filter times scale, shift as the
 * convolution's bias, the ReLU after it fused too: ops/fold.ts; inside an attack the fold is made
 * once per weights version); in training mode it uses batch statistics and updates the running
 * averages (momentum 0.1, PyTorch's convention).
 *
 * `denoise: '3d' | '2d'` inserts a feature-denoising block after each of the four stages
 * (denoise.ts; the '2d' blocks need the clip length, `frames`).
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-layers' // registers gradients
import { conv3d, fusedConv3d, type Pads3 } from '../ops/conv3d.js'
import { foldBatchNorm } from '../ops/fold.js'
import type { Model } from '../core/model.js'
import type { Trainable } from './train.js'
import { gaussianNoise } from '../core/noise.js'
import { denoise, denoiseShapes, type DenoiseKind } from './denoise.js'
import { InputError } from '../core/errors.js'

export interface R3dConfig {
  readonly layout: 'hara' | 'torchvision'
  readonly classes: number
  /** Stage widths (default 64, 128, 256, 512). */
  readonly widths?: readonly [number, number, number, number]
  /** Per-channel input normalisation applied inside the model (default none). */
  readonly mean?: readonly [number, number, number]
  readonly std?: readonly [number, number, number]
  /** Seed of the He-normal initialisation (default 0). */
  readonly seed?: number
  /** Feature-denoising blocks after each stage (default 'none'). */
  readonly denoise?: DenoiseKind
  /** Clip length T the model takes; needed by `denoise: '2d'` (one embedding per frame of each stage). */
  readonly frames?: number
}

export interface VideoModel extends Trainable {
  readonly config: R3dConfig
  /** Inference mode: the `Model` runAttack takes. */
  readonly model: Model
  /** Every weight's shape (trainable and BN statistics), for loading and checking. */
  readonly shapes: Readonly<Record<string, ReadonlyArray<number>>>
  readonly dispose: () => void
}

const BN_EPS = 1e-5

/**
 * Whether inference folds each batch norm into its convolution (default) or runs it as x·scale +
 * shift after an unfused convolution (the plain path, kept for tests and benchmarks). Not public API.
 */
export const r3dTuning: { fold: boolean } = { fold: true }
const BN_MOMENTUM = 0.1

interface Conv {
  readonly name: string
  readonly kernel: readonly [number, number, number]
  readonly cin: number
  readonly cout: number
  readonly strides: readonly [number, number, number]
  readonly pad: Pads3
}

/** The convolutions, BNs and shortcuts of the architecture, in order. */
const layersOf = (c: R3dConfig) => {
  const widths = c.widths ?? [64, 128, 256, 512]
  const hara = c.layout === 'hara'
  const stemName = hara ? 'conv1' : 'stem.0'
  const stemBn = hara ? 'bn1' : 'stem.1'
  const stem: Conv = hara
    ? { name: stemName, kernel: [7, 7, 7], cin: 3, cout: widths[0], strides: [1, 2, 2], pad: [[3, 3], [3, 3], [3, 3]] }
    : { name: stemName, kernel: [3, 7, 7], cin: 3, cout: widths[0], strides: [1, 2, 2], pad: [[1, 1], [3, 3], [3, 3]] }
  const blocks = widths.flatMap((width, stage) =>
    [0, 1].map((b) => {
      const prefix = `layer${stage + 1}.${b}`
      const cin = b === 0 ? (stage === 0 ? widths[0] : widths[stage - 1]!) : width
      const stride = stage > 0 && b === 0 ? 2 : 1
      const conv = (k: 1 | 2, from: number, s: number): Conv => ({
        name: hara ? `${prefix}.conv${k}` : `${prefix}.conv${k}.0`,
        kernel: [3, 3, 3],
        cin: from,
        cout: width,
        strides: [s, s, s],
        pad: [[1, 1], [1, 1], [1, 1]],
      })
      const bn = (k: 1 | 2) => (hara ? `${prefix}.bn${k}` : `${prefix}.conv${k}.1`)
      const projection =
        !hara && (stride !== 1 || cin !== width)
          ? { conv: { name: `${prefix}.downsample.0`, kernel: [1, 1, 1], cin, cout: width, strides: [stride, stride, stride], pad: [[0, 0], [0, 0], [0, 0]] } as Conv, bn: `${prefix}.downsample.1` }
          : undefined
      return { conv1: conv(1, cin, stride), bn1: bn(1), conv2: conv(2, width, 1), bn2: bn(2), stride, cin, cout: width, projection }
    }),
  )
  return { stem, stemBn, blocks, features: widths[3], hara, widths }
}

/** One stride-2 step in time (kernel 3, pad 1; also the Hara max-pool's): T → ⌊(T − 1)/2⌋ + 1. */
const halve = (t: number) => Math.floor((t - 1) / 2) + 1

/** The clip length at the output of each of the four stages, for a clip of T frames. */
export const stageFrames = (layout: R3dConfig['layout'], T: number): readonly [number, number, number, number] => {
  const first = layout === 'hara' ? halve(T) : T
  return [first, halve(first), halve(halve(first)), halve(halve(halve(first)))]
}

/** One weight of the architecture: its name and shape, whether it is trained, and how it starts. */
interface Declared {
  readonly name: string
  readonly shape: number[]
  readonly trainable: boolean
  readonly init: () => tf.Tensor
}

/** Every weight of a 3D ResNet-18 of `config`, in order, without making a tensor. */
const declare = (config: R3dConfig): Declared[] => {
  if (config.denoise === '2d' && !(Number.isInteger(config.frames) && config.frames! >= 1))
    throw new InputError(`r3d18: denoise '2d' needs the clip length (config.frames, a positive integer), got ${config.frames}`)
  const L = layersOf(config)
  const seed = config.seed ?? 0
  let stream = 0
  const declared: Declared[] = []
  const add = (name: string, shape: number[], init: () => tf.Tensor, trainable: boolean) => declared.push({ name, shape, init, trainable })
  const addConv = (c: Conv) => {
    const shape = [...c.kernel, c.cin, c.cout]
    const fanIn = c.kernel[0] * c.kernel[1] * c.kernel[2] * c.cin
    const s = stream++
    add(`${c.name}.weight`, shape, () => tf.mul(tf.tensor(gaussianNoise(seed * 1000 + s, size(shape)), shape), Math.sqrt(2 / fanIn)), true)
  }
  const addBn = (name: string, channels: number) => {
    add(`${name}.weight`, [channels], () => tf.ones([channels]), true)
    add(`${name}.bias`, [channels], () => tf.zeros([channels]), true)
    add(`${name}.running_mean`, [channels], () => tf.zeros([channels]), false)
    add(`${name}.running_var`, [channels], () => tf.ones([channels]), false)
  }
  addConv(L.stem)
  addBn(L.stemBn, L.stem.cout)
  for (const b of L.blocks) {
    addConv(b.conv1)
    addBn(b.bn1, b.cout)
    addConv(b.conv2)
    addBn(b.bn2, b.cout)
    if (b.projection) {
      addConv(b.projection.conv)
      addBn(b.projection.bn, b.cout)
    }
  }
  const fcShape = [L.features, config.classes]
  const fcStream = stream++ // drawn now: the inits run after every weight is declared
  add('fc.weight', fcShape, () => tf.mul(tf.tensor(gaussianNoise(seed * 1000 + fcStream, size(fcShape)), fcShape), Math.sqrt(1 / L.features)), true)
  add('fc.bias', [config.classes], () => tf.zeros([config.classes]), true)
  const denoiseKind = config.denoise ?? 'none'
  if (denoiseKind !== 'none') {
    const frames = stageFrames(config.layout, config.frames ?? 1)
    L.widths.forEach((width, stage) => {
      const shapes = denoiseShapes(denoiseKind, width, frames[stage]!)
      for (const part of ['theta', 'phi'] as const) {
        const shape = shapes[part]
        const s = stream++
        add(`denoise${stage + 1}.${part}.weight`, shape, () => tf.mul(tf.tensor(gaussianNoise(seed * 1000 + s, size(shape)), shape), Math.sqrt(1 / width)), true)
      }
      // zero: a fresh block is the identity (Xie et al. zero-initialise the block's last scale)
      add(`denoise${stage + 1}.out.weight`, shapes.out, () => tf.zeros(shapes.out), true)
    })
  }
  return declared
}

/** Every weight's shape for `config`, without allocating the model (to check a file against it first). */
export const r3dShapes = (config: R3dConfig): Readonly<Record<string, ReadonlyArray<number>>> =>
  Object.fromEntries(declare(config).map((d) => [d.name, d.shape]))

/** A 3D ResNet-18 with fresh (seeded He-normal) weights. */
export const r3d18 = (config: R3dConfig): VideoModel => {
  const L = layersOf(config)
  const denoiseKind = config.denoise ?? 'none'
  const variables: Record<string, tf.Variable> = {}
  const state: Record<string, tf.Variable> = {}
  const shapes: Record<string, ReadonlyArray<number>> = {}
  for (const d of declare(config)) {
    const into = d.trainable ? variables : state
    into[d.name] = tf.tidy(() => tf.variable(d.init(), d.trainable))
    shapes[d.name] = d.shape
  }
  const all = { ...variables, ...state }
  const convOf = (c: Conv, x: tf.Tensor5D) => conv3d(x, all[`${c.name}.weight`]!, { strides: c.strides, pad: c.pad })
  const bnWeights = (name: string) => {
    const [gamma, beta, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) => all[`${name}.${k}`]!)
    return { gamma: gamma!, beta: beta!, mean: mean!, variance: variance! }
  }
  const bnOf = (name: string, x: tf.Tensor5D, training: boolean): tf.Tensor5D => {
    const { gamma, beta, mean, variance } = bnWeights(name)
    if (!training) {
      // inference: x·scale + shift (tf.batchNorm's gradient fails on rank 5)
      const scale = tf.div(gamma, tf.sqrt(tf.add(variance, BN_EPS)))
      return tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(mean, scale))) as tf.Tensor5D
    }
    const moments = tf.moments(x, [0, 1, 2, 3])
    const n = x.size / x.shape[4]
    // running averages (PyTorch: unbiased variance), outside the gradient's concern
    tf.tidy(() => {
      mean.assign(tf.add(tf.mul(mean, 1 - BN_MOMENTUM), tf.mul(moments.mean, BN_MOMENTUM)))
      variance.assign(tf.add(tf.mul(variance, 1 - BN_MOMENTUM), tf.mul(moments.variance, (BN_MOMENTUM * n) / Math.max(1, n - 1))))
    })
    const normalised = tf.div(tf.sub(x, moments.mean), tf.sqrt(tf.add(moments.variance, BN_EPS)))
    return tf.add(tf.mul(normalised, gamma), beta) as tf.Tensor5D
  }
  /** activation(BN(conv(x))): in inference, one fused convolution with the BN folded in (r3dTuning.fold). */
  const convBn = (c: Conv, bn: string, x: tf.Tensor5D, training: boolean, relu: boolean): tf.Tensor5D => {
    if (training || !r3dTuning.fold) {
      const y = bnOf(bn, convOf(c, x), training)
      return relu ? tf.relu(y) : y
    }
    const folded = foldBatchNorm(all[`${c.name}.weight`]!, bnWeights(bn), BN_EPS)
    return fusedConv3d(x, folded.filter, { strides: c.strides, pad: c.pad, bias: folded.bias, activation: relu ? 'relu' : 'linear' })
  }
  const shortcutA = (x: tf.Tensor5D, stride: number, cout: number): tf.Tensor5D => {
    // stride-s subsampling as a 1x1x1 identity convolution (correct gradients on every backend)
    const cin = x.shape[4]
    const sub = stride === 1 ? x : conv3d(x, tf.reshape(tf.eye(cin), [1, 1, 1, cin, cin]), { strides: stride })
    return cout === cin ? sub : (tf.pad(sub, [[0, 0], [0, 0], [0, 0], [0, 0], [0, cout - cin]]) as tf.Tensor5D)
  }
  const apply = (input: tf.Tensor5D, training: boolean): tf.Tensor2D =>
    tf.tidy(() => {
      let x = input
      if (config.mean && config.std)
        x = tf.div(tf.sub(x, tf.tensor1d([...config.mean])), tf.tensor1d([...config.std])) as tf.Tensor5D
      x = convBn(L.stem, L.stemBn, x, training, true)
      if (L.hara) x = tf.maxPool3d(x, 3, 2, 1) // pad 1 on every side
      L.blocks.forEach((b, i) => {
        const y = convBn(b.conv1, b.bn1, x, training, true)
        const z = convBn(b.conv2, b.bn2, y, training, false)
        const shortcut = b.projection
          ? convBn(b.projection.conv, b.projection.bn, x, training, false)
          : b.stride !== 1 || b.cin !== b.cout
            ? shortcutA(x, b.stride, b.cout)
            : x
        x = tf.relu(tf.add(z, shortcut)) as tf.Tensor5D
        const stage = (i >> 1) + 1
        if (denoiseKind !== 'none' && i % 2 === 1) {
          const [theta, phi, out] = ['theta', 'phi', 'out'].map((p) => all[`denoise${stage}.${p}.weight`]!)
          x = denoise(denoiseKind, x, { theta: theta!, phi: phi!, out: out! })
        }
      })
      const pooled = tf.mean(x, [1, 2, 3]) as tf.Tensor2D
      return tf.add(tf.matMul(pooled, all['fc.weight'] as tf.Tensor2D), all['fc.bias']!) as tf.Tensor2D
    })
  return {
    config,
    apply,
    model: (x) => apply(x, false),
    variables,
    state,
    shapes,
    dispose: () => tf.dispose(Object.values(all)),
  }
}

const size = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)
