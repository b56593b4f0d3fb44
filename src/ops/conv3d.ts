/**
 * A 3D convolution that is fast and correct on every backend.
 *
 * On 'cpu' and 'tensorflow' this is native `tf.conv3d` (explicit pads applied with `tf.pad` first).
 * Elsewhere (wasm in particular, whose `Conv3DBackpropInputV2` is wrong and which has no
 * `Conv2DBackpropFilter` — docs/correctness.md) it is a sum over temporal taps of `tf.conv2d`, wrapped in
 * `tf.customGrad` (see tapConv3d) whose input and filter gradients are themselves built only from `tf.conv2d`,
 * reshapes, slices, pads, transposes and small matMuls — never a conv backprop kernel:
 *
 * - forward: for each temporal tap k, the input frames it meets (s_t·t + k − front for the output
 *   frames t whose frame lies inside the clip: no padded copy), time folded into the batch axis
 *   ([N·T', H, W, C]), one `tf.conv2d` with the filter slice w[k] and the spatial pads as its explicit
 *   padding; the taps are summed (see sumOfTaps).
 * - input gradient: along each axis of stride s, input positions split into s residue classes
 *   ("phases"); phase r only meets the taps j ≡ r + pad (mod s), at consecutive offsets of dy. So each
 *   phase is a stride-1 correlation of dy (padded or cropped) with the flipped sub-filter, input and
 *   output channels swapped — the forward routine again — and the phases are interleaved
 *   (interleave.ts; below 8 channels a stride-2 layer's four spatial phases are one convolution,
 *   mergedPhases). The sub-filters are kept for the length of an attack (withFilterCache).
 * - filter gradient: for each temporal tap, a correlation of the selected input frames with dy,
 *   dilated by the spatial strides, with the batch and channel axes swapped (channels of x become the
 *   batch, (T', N) becomes the contracted channel axis).
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
// tfjs-core's Node bundle registers no gradients; tfjs-layers registers them all.
import '@tensorflow/tfjs-layers'
import { derived, isCachedConstant } from './cache.js'
import { frames, padTime, stackTaps } from './stack-taps.js'
import { interleaveChannelGroups, interleavePhases } from './interleave.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

export type Triple = readonly [number, number, number]
/** Explicit pads per axis: [[front, back], [top, bottom], [left, right]]. */
export type Pads3 = readonly [readonly [number, number], readonly [number, number], readonly [number, number]]
export type Conv3dPadding = 'same' | 'valid' | Pads3

export interface Conv3dOptions {
  /** [s_t, s_h, s_w], each 1 or 2 (a single number applies to all three). Default 1. */
  readonly strides?: number | Triple
  /** 'valid' (default), 'same' (pads as TensorFlow computes them), or explicit non-negative pads. */
  readonly pad?: Conv3dPadding
}

/** The resolved geometry of a conv3d call. */
export interface Conv3dGeometry {
  readonly strides: Triple
  readonly pads: Pads3
  /** [N, T', H', W', Cout]. */
  readonly outShape: readonly [number, number, number, number, number]
}

// -------------------------------------------------------------------------------------------------
// geometry and argument checks
// -------------------------------------------------------------------------------------------------

const AXES = ['temporal', 'height', 'width'] as const
const SIZES = ['T', 'H', 'W'] as const
const KSIZES = ['kd', 'kh', 'kw'] as const
const SIDES = [['front', 'back'], ['top', 'bottom'], ['left', 'right']] as const

const showPads = (pad: unknown): string => JSON.stringify(pad)?.replace(/,/g, ', ') ?? String(pad)

/**
 * Checks the shapes and options of a conv3d call and resolves its strides, pads and output shape.
 * Throws an error naming the offending argument.
 */
export const conv3dGeometry = (
  xShape: ReadonlyArray<number>,
  filterShape: ReadonlyArray<number>,
  options: Conv3dOptions = {},
): Conv3dGeometry => {
  if (xShape.length !== 5)
    throw new Error(`conv3d: x must be rank 5 [N, T, H, W, Cin], got rank ${xShape.length} (shape [${xShape.join(', ')}])`)
  if (filterShape.length !== 5)
    throw new Error(
      `conv3d: filter must be rank 5 [kd, kh, kw, Cin, Cout], got rank ${filterShape.length} (shape [${filterShape.join(', ')}])`,
    )
  const [N, T, H, W, C] = xShape as [number, number, number, number, number]
  const [kd, kh, kw, Ci, Co] = filterShape as [number, number, number, number, number]
  if (Ci !== C) throw new Error(`conv3d: filter's input channels (filter.shape[3] = ${Ci}) must equal x's channels (x.shape[4] = ${C})`)

  const s = options.strides ?? 1
  const strides: Triple = typeof s === 'number' ? [s, s, s] : s
  if (!Array.isArray(strides) || strides.length !== 3 || !strides.every((v) => v === 1 || v === 2))
    throw new Error(`conv3d: options.strides must be 1 or 2 on each axis (a number or [st, sh, sw]), got ${showPads(s)}`)

  const pad = options.pad ?? 'valid'
  const sizes = [T, H, W] as const
  const ks = [kd, kh, kw] as const
  let pads: Pads3
  if (pad === 'valid') pads = [[0, 0], [0, 0], [0, 0]]
  else if (pad === 'same') {
    const same = (i: 0 | 1 | 2): readonly [number, number] => {
      const out = Math.ceil(sizes[i] / strides[i])
      const total = Math.max((out - 1) * strides[i] + ks[i] - sizes[i], 0)
      return [Math.floor(total / 2), total - Math.floor(total / 2)]
    }
    pads = [same(0), same(1), same(2)]
  } else {
    const ok =
      Array.isArray(pad) &&
      pad.length === 3 &&
      pad.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && v >= 0))
    if (!ok)
      throw new Error(
        `conv3d: options.pad must be 'same', 'valid' or non-negative integer pads [[front, back], [top, bottom], [left, right]], got ${showPads(pad)}`,
      )
    pads = pad
  }

  const out = [0, 1, 2].map((i) => {
    const padded = sizes[i]! + pads[i]![0] + pads[i]![1]
    if (ks[i]! > padded)
      throw new Error(
        `conv3d: filter's ${AXES[i]} size (${KSIZES[i]} = ${ks[i]}) exceeds the padded input's ` +
          `(${SIZES[i]} + ${SIDES[i]![0]} + ${SIDES[i]![1]} = ${padded})`,
      )
    return Math.floor((padded - ks[i]!) / strides[i]!) + 1
  }) as [number, number, number]
  return { strides, pads, outShape: [N, out[0], out[1], out[2], Co] }
}

// -------------------------------------------------------------------------------------------------
// the op
// -------------------------------------------------------------------------------------------------

/**
 * 3D convolution (cross-correlation, as TensorFlow) of `x` [N, T, H, W, Cin] with `filter`
 * [kd, kh, kw, Cin, Cout]; returns [N, T', H', W', Cout]. Differentiable with respect to both.
 *
 * @example
 * import { initBackend, ops, tf } from 'multav'
 * await initBackend('cpu')
 * const y = ops.conv3d(tf.ones([1, 4, 8, 8, 3]), tf.ones([3, 3, 3, 3, 8]), { strides: [1, 2, 2], pad: 'same' })
 * // y.shape = [1, 4, 4, 4, 8]
 */
export const conv3d = (x: tf.Tensor, filter: tf.Tensor, options: Conv3dOptions = {}): tf.Tensor5D => fusedConv3d(x, filter, options)

/** What follows the convolution inside the same kernel: a bias per output channel, then an activation. */
export interface FusedConv3dOptions extends Conv3dOptions {
  /** [Cout], added to every output position. */
  readonly bias?: tf.Tensor
  /** Applied after the bias (default 'linear'). */
  readonly activation?: 'linear' | 'relu'
}

/** The bias and activation of a fused call (undefined: plain convolution). */
interface Epilogue {
  readonly bias: tf.Tensor1D | undefined
  readonly relu: boolean
}

/**
 * activation(conv3d(x, filter) + bias): `conv3d` with the bias and a ReLU fused into its last
 * convolution kernel where it can be (wasm's FusedConv2D), so that a convolution + folded batch norm
 * + ReLU is one kernel call; differentiable with respect to x, filter and bias (the ReLU's gradient
 * passes where the output is > 0, as `tf.relu`'s).
 */
export const fusedConv3d = (x: tf.Tensor, filter: tf.Tensor, options: FusedConv3dOptions = {}): tf.Tensor5D => {
  const g = conv3dGeometry(x.shape, filter.shape, options)
  const { bias, activation = 'linear' } = options
  if (bias !== undefined && (bias.rank !== 1 || bias.shape[0] !== g.outShape[4]))
    throw new Error(`conv3d: bias must be [${g.outShape[4]}] (the filter's output channels), got [${bias.shape.join(', ')}]`)
  if (activation !== 'linear' && activation !== 'relu') throw new Error(`conv3d: activation must be 'linear' or 'relu', got ${String(activation)}`)
  const epilogue: Epilogue | undefined = bias === undefined && activation === 'linear' ? undefined : { bias: bias as tf.Tensor1D | undefined, relu: activation === 'relu' }
  const backend = tf.getBackend()
  if (backend === 'cpu' || backend === 'tensorflow') return nativeConv3d(x as tf.Tensor5D, filter as tf.Tensor5D, g, epilogue)
  return tapConv3d(x as tf.Tensor5D, filter as tf.Tensor5D, g, epilogue)
}

const isZero = (pads: Pads3): boolean => pads.every(([a, b]) => a === 0 && b === 0)

const fullPads = (pads: Pads3, extraBack = 0): Array<[number, number]> => [
  [0, 0],
  [pads[0][0], pads[0][1] + extraBack],
  [pads[1][0], pads[1][1]],
  [pads[2][0], pads[2][1]],
  [0, 0],
]

/** Native tf.conv3d (cpu, tensorflow): asymmetric or explicit pads become a tf.pad before a 'valid' conv; bias and ReLU as tf ops. */
const nativeConv3d = (x: tf.Tensor5D, filter: tf.Tensor5D, g: Conv3dGeometry, epilogue?: Epilogue): tf.Tensor5D =>
  tf.tidy(() => {
    const xp = isZero(g.pads) ? x : (tf.pad(x, fullPads(g.pads)) as tf.Tensor5D)
    let y = tf.conv3d(xp, filter, g.strides as [number, number, number], 'valid')
    if (epilogue?.bias) y = tf.add(y, epilogue.bias)
    return epilogue?.relu ? tf.relu(y) : y
  })

/**
 * The conv3d built from tf.conv2d, with custom gradients built from tf.conv2d.
 *
 * The gradients live on two tape nodes, so that each is computed only when asked for:
 * `y = A(x) + B(w, b)`, where A is the convolution (filter and bias held as constants, gradient: dx)
 * and B has the value zero (x held as a constant, gradients: dw, db). `tf.grad` with respect to x
 * alone prunes B and never computes dw, as an attack needs; with respect to the filter, A is pruned.
 * One node whose gradient returns both (tf.customGrad evaluates every input's gradient eagerly) spent
 * ~35% of a forward + input-gradient step on a dw nobody read (docs/performance.md). When the filter
 * (and bias) are constants of the open filter cache (folded weights during an attack), nothing can
 * ask for their gradient and B is left out (it would copy x and add zeros at every call).
 */
const tapConv3d = (x: tf.Tensor5D, filter: tf.Tensor5D, g: Conv3dGeometry, epilogue?: Epilogue): tf.Tensor5D => {
  // Not recording a tape (no tf.grad around, or inside another op's forward): no gradient can be asked for.
  const { gradientDepth, kernelDepth } = tf.engine().state
  if (gradientDepth === 0 || kernelDepth > 0) return forward(x, filter, g, epilogue)
  const bias = epilogue?.bias
  const relu = epilogue?.relu ?? false
  const constants = isCachedConstant(filter) && (bias === undefined || isCachedConstant(bias))
  return tf.tidy(() => {
    const conv = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xIn, save] = args as [tf.Tensor5D, tf.GradSaveFunc]
      const y = forward(xIn, filter, g, epilogue)
      // saved tensors are copied; a cached filter outlives the gradient and needs no copy
      save([...(relu ? [y] : []), ...(constants ? [] : [filter])])
      return {
        value: y,
        gradFunc: (dy: tf.Tensor5D, saved: tf.Tensor[]) =>
          tf.tidy(() => {
            const w = constants ? filter : (saved[relu ? 1 : 0] as tf.Tensor5D)
            return inputGradient(relu ? reluGradient(dy, saved[0]!) : dy, w, x.shape, g, filter)
          }),
      }
    })
    const y = conv(x) as tf.Tensor5D
    if (constants) return y
    const weightPath = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const save = args[args.length - 1] as tf.GradSaveFunc
      const wIn = args[0] as tf.Tensor5D
      save(relu ? [x, y] : [x])
      return {
        value: tf.zeros(g.outShape as [number, number, number, number, number]) as tf.Tensor5D,
        gradFunc: (dy: tf.Tensor5D, saved: tf.Tensor[]) =>
          tf.tidy(() => {
            const dz = relu ? reluGradient(dy, saved[1]!) : dy
            const dw = filterGradient(saved[0] as tf.Tensor5D, dz, wIn.shape, g)
            return bias === undefined ? [dw] : [dw, tf.sum(dz, [0, 1, 2, 3])]
          }),
      }
    })
    return tf.add(y, (bias === undefined ? weightPath(filter) : weightPath(filter, bias)) as tf.Tensor5D)
  })
}

/** dy where the ReLU's output y is > 0, else 0 (tf.relu's gradient: step(x) = 0 at 0). */
const reluGradient = (dy: tf.Tensor, y: tf.Tensor): tf.Tensor5D => tf.mul(dy, tf.step(y)) as tf.Tensor5D

// -------------------------------------------------------------------------------------------------
// building blocks (all synchronous, all inside the caller's tidy)
// -------------------------------------------------------------------------------------------------

/** Time padding needed so that every tap can take `st · T'` frames (reshape trick for stride 2). */
const timeExtra = (paddedT: number, kd: number, st: number, outT: number): number => Math.max(0, kd - 1 + st * outT - paddedT)

/** Temporal taps lo … hi of a [kd, kh, kw, Ci, Co] filter: [hi − lo + 1, kh, kw, Ci, Co] (a reshape when all). */
const tapRange = (w: tf.Tensor5D, lo: number, hi: number): tf.Tensor5D => {
  const [kd, kh, kw, ci, co] = w.shape
  if (lo === 0 && hi === kd - 1) return w
  const rest = kh * kw * ci * co
  return tf.reshape(tf.slice(tf.reshape(w, [kd, rest]), [lo, 0], [hi - lo + 1, rest]), [hi - lo + 1, kh, kw, ci, co])
}

/** Temporal tap k of a [kd, kh, kw, Ci, Co] filter: [kh, kw, Ci, Co], kept for the attack (cache.ts). */
const tap = (w: tf.Tensor5D, k: number): tf.Tensor4D => {
  const [, kh, kw, ci, co] = w.shape
  return derived(w, `tap|${k}`, () => tf.reshape(tapRange(w, k, k), [kh, kw, ci, co]) as tf.Tensor4D)
}

/** Pads on height and width: [[top, bottom], [left, right]]. */
type SpatialPads = readonly [readonly [number, number], readonly [number, number]]
const NO_SPATIAL_PADS: SpatialPads = [[0, 0], [0, 0]]

type Conv2dPad = 'valid' | [[number, number], [number, number], [number, number], [number, number]]

const conv2dPad = (spatial: SpatialPads, rows = 1): Conv2dPad =>
  spatial.every(([a, b]) => a === 0 && b === 0)
    ? 'valid'
    : [[0, 0], [rows * spatial[0][0], rows * spatial[0][1]], [spatial[1][0], spatial[1][1]], [0, 0]]

/**
 * tf.conv2d followed by the epilogue, in one kernel (FusedConv2D) when there is one. Called only where
 * no tape records (the forward of a custom gradient, or no gradient): the kernel is run directly,
 * since tf.fused.conv2d unfuses a ReLU under a tape and its gradient needs Conv2DBackpropFilter,
 * which wasm lacks.
 */
const conv2dWith = (x: tf.Tensor4D, w: tf.Tensor4D, strides: [number, number], pad: Conv2dPad, epilogue?: Epilogue): tf.Tensor4D => {
  if (!epilogue) return tf.conv2d(x, w, strides, pad)
  const inputs = epilogue.bias ? { x, filter: w, bias: epilogue.bias } : { x, filter: w }
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], activation: epilogue.relu ? 'relu' : 'linear' }
  return tf.engine().runKernel('FusedConv2D', inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D
}

/** The epilogue as separate ops (after a sum of taps). */
const applyEpilogue = (y: tf.Tensor5D, epilogue?: Epilogue): tf.Tensor5D => {
  if (!epilogue) return y
  const biased = epilogue.bias ? (tf.add(y, epilogue.bias) as tf.Tensor5D) : y
  return epilogue.relu ? tf.relu(biased) : biased
}

/** The output frames t whose input frame st·t + k − front lies in [0, T), for tap k: [lo, hi] (empty if hi < lo). */
const tapFrames = (k: number, T: number, st: number, outT: number, front: number): readonly [number, number] => [
  Math.max(0, Math.ceil((front - k) / st)),
  Math.min(outT - 1, Math.floor((T - 1 + front - k) / st)),
]

/**
 * How conv3d runs its temporal taps: 'stacked' (one conv2d over the taps' frames stacked along
 * height, see stackedTaps), 'taps' (a conv2d per tap and adds, see sumOfTaps), or 'auto' (the rule in
 * useStacked). For benchmarks and tests; not part of the public API.
 */
export const conv3dTuning: { strategy: 'auto' | 'stacked' | 'taps'; mergePhases: boolean } = { strategy: 'auto', mergePhases: true }

/**
 * Whether `auto` stacks the taps of a call: more than one tap meets the clip, and the input has at
 * most MAX_STACKED_CHANNELS channels. One GEMM contracting K·kh·kw·C beats K GEMMs and K − 1 adds up
 * to 128 channels; from 256 XNNPACK runs the K separate ones faster (wasm, 3x3 spatial taps,
 * 2026-12-02: 116 vs 80 ms at [4, 14, 14, 256], 77 vs 67 ms at [2, 7, 7, 512]; 188 vs 240 ms at
 * [8, 28, 28, 128]; docs/performance.md).
 */
const useStacked = (liveTaps: number, channels: number): boolean =>
  conv3dTuning.strategy === 'stacked' ? liveTaps > 1 : conv3dTuning.strategy === 'taps' ? false : liveTaps > 1 && channels <= MAX_STACKED_CHANNELS

const MAX_STACKED_CHANNELS = 128

/**
 * conv3d of `x` [N, T, H, W, C] with `w` [kd, kh, kw, C, Co], with zero padding `front` frames before
 * x in time and `spatial` pads in height and width; outputs `outT` frames, then the epilogue. Only
 * the taps that meet a frame of x take part (at a 3D ResNet's deep layers T is 1–2 and the outer
 * taps meet mostly padding): one tap is one conv2d with the epilogue fused; several are stacked
 * (stackedTaps) or summed (sumOfTaps).
 */
const convFrames = (x: tf.Tensor5D, w: tf.Tensor5D, strides: Triple, outT: number, front: number, spatial: SpatialPads, epilogue?: Epilogue): tf.Tensor5D => {
  const [N, T, H, W] = x.shape
  const [kd, kh, kw, , Co] = w.shape
  const [st, sh, sw] = strides
  const Ho = Math.floor((H + spatial[0][0] + spatial[0][1] - kh) / sh) + 1
  const Wo = Math.floor((W + spatial[1][0] + spatial[1][1] - kw) / sw) + 1
  const live = Array.from({ length: kd }, (_, k) => k).filter((k) => {
    const [lo, hi] = tapFrames(k, T, st, outT, front)
    return hi >= lo
  })
  // every tap met only padding (possible with explicit pads larger than the kernel): the epilogue of zeros
  if (live.length === 0) return applyEpilogue(tf.zeros([N, outT, Ho, Wo, Co]), epilogue)
  const k0 = live[0]!
  const [lo0, hi0] = tapFrames(k0, T, st, outT, front)
  if (live.length === 1 && lo0 === 0 && hi0 === outT - 1) {
    // one tap covering every output frame: one conv2d, the epilogue fused
    const y = conv2dWith(framesFrom(x, st * lo0 + k0 - front, st, outT), tap(w, k0), [sh, sw], conv2dPad(spatial), epilogue)
    return tf.reshape(y, [N, outT, Ho, Wo, Co])
  }
  if (useStacked(live.length, x.shape[4])) return stackedTaps(x, w, strides, outT, front, spatial, [k0, live[live.length - 1]!], [Ho, Wo], epilogue)
  return applyEpilogue(sumOfTaps(x, w, strides, outT, front, spatial, live, [Ho, Wo]), epilogue)
}

/** Frames first, first + st, … (outT of them, all inside x) of `x`, time folded into the batch; pads x where the last stride runs past it. */
const framesFrom = (x: tf.Tensor5D, first: number, st: number, n: number): tf.Tensor4D => {
  // frames() reads st·n frames from `first`; with st = 2 the last stride may run past x
  const short = first + st * n - x.shape[1]
  return frames(short > 0 ? padTime(x, 0, short) : x, first, st, n)
}

/**
 * The taps k0 … k1 of `w` as one conv2d. Each tap's frames (zero frames where a tap meets padding)
 * are stacked along height, [N·outT, H, K, W, C] viewed as [N·outT, K·H, W, C] (row h·K + k is row h
 * of tap k0 + k), and convolved with the filter [kh·K, kw, C, Co] whose row K·i + k is tap k0 + k's
 * row i, at stride (K·sh, sw) and K times the height pads: output row h' reads rows
 * K·(sh·h' − top + i) + k, i.e. row sh·h' − top + i of every tap. One GEMM contracting K·kh·kw·C
 * instead of K of kh·kw·C and K − 1 adds. The stack is built along height (rows of W·C values; along
 * channels wasm would copy one pixel at a time), on wasm in one pass straight from x (stack-taps.ts).
 */
const stackedTaps = (
  x: tf.Tensor5D,
  w: tf.Tensor5D,
  strides: Triple,
  outT: number,
  front: number,
  spatial: SpatialPads,
  [k0, k1]: readonly [number, number],
  [Ho, Wo]: readonly [number, number],
  epilogue?: Epilogue,
): tf.Tensor5D => {
  const [N, , , , C] = x.shape
  const [, kh, kw, , Co] = w.shape
  const [st, sh, sw] = strides
  const K = k1 - k0 + 1
  const image = stackTaps(x, { k0, K, st, outT, front })
  const filter = derived(w, `stacked|${k0}|${k1}`, () => {
    const taps = tapRange(w, k0, k1) // [K, kh, kw, C, Co]
    return tf.reshape(tf.transpose(taps, [1, 0, 2, 3, 4]), [kh * K, kw, C, Co]) as tf.Tensor4D
  })
  const y = conv2dWith(image, filter, [K * sh, sw], conv2dPad(spatial, K), epilogue)
  return tf.reshape(y, [N, outT, Ho, Wo, Co])
}

/**
 * The `live` taps of `w` as a conv2d each, summed. Output frame t meets input frame st·t + k − front
 * at tap k, so each tap convolves only the frames that lie inside x (no padded copy of the clip, no
 * convolution of zero frames); a tap's partial sum is padded in time where it covers fewer than outT
 * frames. The spatial pads go to conv2d itself (explicit padding: a padded copy cost ~30% of a 3x3
 * conv2d on wasm). Each tap's intermediates are released before the next one.
 */
const sumOfTaps = (
  x: tf.Tensor5D,
  w: tf.Tensor5D,
  strides: Triple,
  outT: number,
  front: number,
  spatial: SpatialPads,
  live: ReadonlyArray<number>,
  [Ho, Wo]: readonly [number, number],
): tf.Tensor5D => {
  const [N, T] = x.shape
  const Co = w.shape[4]
  const [st, sh, sw] = strides
  const pad = conv2dPad(spatial)
  let acc: tf.Tensor3D | undefined // [N, outT, Ho·Wo·Co]
  for (const k of live) {
    const [lo, hi] = tapFrames(k, T, st, outT, front)
    const n = hi - lo + 1
    const prev = acc
    acc = tf.tidy(() => {
      const y = tf.conv2d(framesFrom(x, st * lo + k - front, st, n), tap(w, k), [sh, sw], pad)
      let part = tf.reshape(y, [N, n, Ho * Wo * Co]) as tf.Tensor3D
      if (n < outT) part = tf.pad(part, [[0, 0], [lo, outT - lo - n], [0, 0]])
      return prev === undefined ? part : (tf.add(prev, part) as tf.Tensor3D)
    })
    prev?.dispose()
  }
  return tf.reshape(acc!, [N, outT, Ho, Wo, Co])
}

const forward = (x: tf.Tensor5D, w: tf.Tensor5D, g: Conv3dGeometry, epilogue?: Epilogue): tf.Tensor5D =>
  tf.tidy(() => convFrames(x, w, g.strides, g.outShape[1], g.pads[0][0], [g.pads[1], g.pads[2]], epilogue))

/** One residue class of one axis: which taps it meets and the window of dy it reads. */
interface Phase {
  /** Tap indices of the flipped sub-filter (empty: this phase of dx is zero). */
  readonly taps: ReadonlyArray<number>
  /** Index in dy of the window's first element (may be negative: zero padding). */
  readonly start: number
  /** Window length: m + taps.length − 1. */
  readonly length: number
}

/**
 * Phases along one axis of input length `len`, kernel `k`, stride `s`, front pad `p`, output `out`.
 * Every phase produces `m = ceil(len / s)` values; the interleaved result is cropped to `len`.
 *
 * dx[s·i + r] = Σ_q dy[i + c − q] · w[j0 + s·q], j0 = (r + p) mod s, c = ⌊(r + p) / s⌋: a stride-1
 * correlation of dy[c − Q + 1 …] with w[j0 + s·(Q − 1 − u)], u = 0 … Q − 1.
 */
const phasesOf = (len: number, k: number, s: number, p: number, out: number): { m: number; phases: Phase[] } => {
  const m = Math.ceil(len / s)
  const phases: Phase[] = []
  for (let r = 0; r < s; r++) {
    const j0 = (r + p) % s
    const q = j0 < k ? Math.ceil((k - j0) / s) : 0
    const c = Math.floor((r + p) / s)
    const start = c - q + 1
    const length = m + q - 1
    const empty = q === 0 || start >= out || start + length <= 0
    phases.push({ taps: empty ? [] : Array.from({ length: q }, (_, u) => j0 + s * (q - 1 - u)), start, length })
  }
  return { m, phases }
}

/**
 * The window dy[start : start + length] on axes 1–3, zero outside dy: cropped by a slice; the zero
 * padding it needs before dy in time (`front`) and in height and width (`spatial`) is returned for
 * sumOfTaps to apply.
 */
const window3 = (dy: tf.Tensor5D, starts: Triple, lengths: Triple): { readonly v: tf.Tensor5D; readonly front: number; readonly spatial: SpatialPads } => {
  const [N, , , , C] = dy.shape
  const sizes = [dy.shape[1], dy.shape[2], dy.shape[3]]
  const lo = starts.map((s) => Math.max(s, 0))
  const hi = starts.map((s, i) => Math.min(s + lengths[i]!, sizes[i]!))
  let v = dy
  if (lo.some((l, i) => l > 0 || hi[i] !== sizes[i]))
    v = tf.slice(v, [0, lo[0]!, lo[1]!, lo[2]!, 0], [N, hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!, C])
  const before = lo.map((l, i) => l - starts[i]!)
  const after = hi.map((h, i) => starts[i]! + lengths[i]! - h)
  return { v, front: before[0]!, spatial: [[before[1]!, after[1]!], [before[2]!, after[2]!]] }
}

/**
 * The flipped sub-filter of one phase, channels swapped: [Qt, Qh, Qw, Cout, Cin], taking taps
 * (at, bt, ct) of `w` [kd, kh, kw, Cin, Cout] (a tap −1 is a zero tap). The taps are picked by a 0/1 selection matrix times
 * w viewed as [kd·kh·kw, Cin·Cout] — exact for finite weights (x·1 + 0·y + … = x) and a matMul
 * (XNNPACK), where wasm's gather and reverse walk the filter one element at a time (~30 ms for a
 * 3x3x3x256x256 filter, most of a 3D ResNet-18 input-gradient step when done per call).
 */
const subFilter = (w: tf.Tensor5D, at: ReadonlyArray<number>, bt: ReadonlyArray<number>, ct: ReadonlyArray<number>): tf.Tensor5D => {
  const [kd, kh, kw, ci, co] = w.shape
  const swap = (v: tf.Tensor5D) => tf.transpose(v, [0, 1, 2, 4, 3]) as tf.Tensor5D
  if (kd * kh * kw === 1 && [...at, ...bt, ...ct].every((t) => t === 0)) return swap(w)
  const rows = at.length * bt.length * ct.length
  const select = new Float32Array(rows * kd * kh * kw)
  let r = 0
  for (const a of at)
    for (const b of bt)
      for (const c of ct) {
        if (a >= 0 && b >= 0 && c >= 0) select[r * kd * kh * kw + (a * kh + b) * kw + c] = 1
        r++
      }
  const picked = tf.matMul(tf.tensor2d(select, [rows, kd * kh * kw]), tf.reshape(w, [kd * kh * kw, ci * co]) as tf.Tensor2D)
  return swap(tf.reshape(picked, [at.length, bt.length, ct.length, ci, co]) as tf.Tensor5D)
}

// -------------------------------------------------------------------------------------------------
// sub-filters kept across the steps of an attack
// -------------------------------------------------------------------------------------------------

export { withFilterCache, filterCacheSize } from './cache.js'

/**
 * subFilter of `w`, kept for the attack (cache.ts) under the caller's filter `key` (same data as `w`:
 * a custom gradient's saved copy of the filter is a new tensor at each call).
 */
const cachedSubFilter = (key: tf.Tensor, w: tf.Tensor5D, at: ReadonlyArray<number>, bt: ReadonlyArray<number>, ct: ReadonlyArray<number>): tf.Tensor5D =>
  derived(key, `sub|${at.join(',')}|${bt.join(',')}|${ct.join(',')}`, () => subFilter(w, at, bt, ct))

const inputGradient = (dy: tf.Tensor5D, w: tf.Tensor5D, xShape: ReadonlyArray<number>, g: Conv3dGeometry, key: tf.Tensor = w): tf.Tensor5D => {
  const [N, T, H, W, Ci] = xShape as [number, number, number, number, number]
  const [kd, kh, kw] = w.shape
  const [, To, Ho, Wo] = dy.shape
  const pt = phasesOf(T, kd, g.strides[0], g.pads[0][0], To)
  const ph = phasesOf(H, kh, g.strides[1], g.pads[1][0], Ho)
  const pw = phasesOf(W, kw, g.strides[2], g.pads[2][0], Wo)

  const phase = (a: Phase, b: Phase, c: Phase): tf.Tensor5D => {
    if (a.taps.length === 0 || b.taps.length === 0 || c.taps.length === 0) return tf.zeros([N, pt.m, ph.m, pw.m, Ci])
    return tf.tidy(() => {
      const sub = cachedSubFilter(key, w, a.taps, b.taps, c.taps)
      const win = window3(dy, [a.start, b.start, c.start], [a.length, b.length, c.length])
      return convFrames(win.v, sub, [1, 1, 1], pt.m, win.front, win.spatial)
    })
  }

  if (conv3dTuning.mergePhases && Ci < MERGE_BELOW_CHANNELS && g.strides[1] === 2 && g.strides[2] === 2) {
    // the spatial phases as channel groups of one convolution, woven by depthToSpace (see mergedPhases)
    const byTime = pt.phases.map((a) => mergedPhases(dy, w, key, a, ph, pw, pt.m, [N, H, W, Ci]))
    return interleavePhases(byTime, [g.strides[0], 1, 1], [T, H, W])
  }
  const parts = pt.phases.flatMap((a) => ph.phases.flatMap((b) => pw.phases.map((c) => phase(a, b, c))))
  return interleavePhases(parts, g.strides, [T, H, W])
}

/**
 * dx channels below which the spatial phases of a stride-2 input gradient are merged: XNNPACK's wasm
 * GEMM tiles are 8 output channels wide, so a phase with Cin = 3 (a stem's dx) costs as much as one
 * with 8, and four phases as one convolution with 4·Cin channels cost about half.
 */
const MERGE_BELOW_CHANNELS = 8

/** The phases of one axis on a common window of dy: its start and length, and each phase's taps on it (−1: a zero tap). */
const commonWindow = ({ m, phases }: { m: number; phases: ReadonlyArray<Phase> }): { start: number; length: number; taps: number[][] } | undefined => {
  const live = phases.filter((p) => p.taps.length > 0)
  if (live.length === 0) return undefined
  const start = Math.min(...live.map((p) => p.start))
  const q = Math.max(...live.map((p) => p.start - start + p.taps.length))
  const taps = phases.map((p) => Array.from({ length: q }, (_, v) => (p.taps.length > 0 ? (p.taps[v - (p.start - start)] ?? -1) : -1)))
  return { start, length: m + q - 1, taps }
}

/**
 * Time phase `a` of dx with its s_h·s_w = 4 spatial phases computed by one convolution: phase (b, c)
 * reads dy on its own window with its own sub-filter; on the common window of all four (commonWindow)
 * its sub-filter has zero taps where it reads nothing, and the four sub-filters side by side on the
 * output channels ([Qt, Qh, Qw, Cout, 4·Cin], phase b·2 + c major) give all four at once. dx's rows
 * 2j + b and columns 2k + c are then channel group b·2 + c of output (j, k), woven by
 * interleaveChannelGroups (wasm's DepthToSpace, the same weave, took longer than the convolution
 * saved). Returns [N, ⌈T/s_t⌉, H, W, Cin].
 */
const mergedPhases = (
  dy: tf.Tensor5D,
  w: tf.Tensor5D,
  key: tf.Tensor,
  a: Phase,
  ph: { m: number; phases: ReadonlyArray<Phase> },
  pw: { m: number; phases: ReadonlyArray<Phase> },
  mt: number,
  [N, H, W, Ci]: readonly [number, number, number, number],
): tf.Tensor5D => {
  const rows = commonWindow(ph)
  const cols = commonWindow(pw)
  if (a.taps.length === 0 || rows === undefined || cols === undefined) return tf.zeros([N, mt, H, W, Ci])
  return tf.tidy(() => {
    const filter = derived(key, `merged|${a.taps.join(',')}|${rows.taps.map((t) => t.join(',')).join(';')}|${cols.taps.map((t) => t.join(',')).join(';')}`, () =>
      tf.concat(rows.taps.flatMap((bt) => cols.taps.map((ct) => subFilter(w, a.taps, bt, ct))), 4),
    ) as tf.Tensor5D
    const win = window3(dy, [a.start, rows.start, cols.start], [a.length, rows.length, cols.length])
    const y = convFrames(win.v, filter, [1, 1, 1], mt, win.front, win.spatial) // [N, mt, m_h, m_w, 4·Ci]
    return interleaveChannelGroups(y, [1, 2, 2], [mt, H, W])
  })
}

const filterGradient = (x: tf.Tensor5D, dy: tf.Tensor5D, wShape: ReadonlyArray<number>, g: Conv3dGeometry): tf.Tensor5D => {
  const [N, T, , , Ci] = x.shape
  const [kd, kh, kw, , Co] = wShape as [number, number, number, number, number]
  const [, To, Ho, Wo] = dy.shape
  const [st, sh, sw] = g.strides
  const extra = timeExtra(T + g.pads[0][0] + g.pads[0][1], kd, st, To)
  const xp = isZero(g.pads) && extra === 0 ? x : (tf.pad(x, fullPads(g.pads, extra)) as tf.Tensor5D)
  const [, , Hp, Wp] = xp.shape
  // dy as a filter: [Ho, Wo, To·N, Cout].
  const dyFilter = tf.reshape(tf.transpose(dy, [2, 3, 1, 0, 4]), [Ho, Wo, To * N, Co]) as tf.Tensor4D
  const taps = Array.from({ length: kd }, (_, k) =>
    tf.tidy(() => {
      // The frames tap k reads, as a batch of Cin images with To·N channels: [Cin, Hp, Wp, To·N].
      const sel = tf.reshape(frames(xp, k, st, To), [N, To, Hp, Wp, Ci])
      const z = tf.reshape(tf.transpose(sel, [4, 2, 3, 1, 0]), [Ci, Hp, Wp, To * N]) as tf.Tensor4D
      const corr = tf.conv2d(z, dyFilter, 1, 'valid', 'NHWC', [sh, sw]) // [Cin, ≥kh, ≥kw, Cout]
      const [, a, b] = corr.shape
      return a === kh && b === kw ? corr : tf.slice(corr, [0, 0, 0, 0], [Ci, kh, kw, Co])
    }),
  )
  return tf.transpose(tf.stack(taps, 0), [0, 2, 3, 1, 4]) as tf.Tensor5D // [kd, kh, kw, Cin, Cout]
}
