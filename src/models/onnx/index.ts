/**
 * ONNX models as differentiable multav models: `loadOnnx(source, options)` reads an ONNX file (a path
 * or its bytes) and returns a `Model` — `[N, T, H, W, C]` clips in [0, 1] to `[N, K]` logits — that
 * `runAttack` takes like any other. The graph is interpreted with tfjs ops, one rule per ONNX op type
 * (./ops), so input gradients flow through it on every backend (3-D convolutions use multav's conv3d:
 * tfjs's own conv3d input gradient is wrong on wasm). The clip is normalised inside (`mean`, `std`)
 * and given in the layout the graph takes (for NCTHW, PyTorch's, the clip is that input's channels-last
 * form, see layout.ts), so attacks still work in [0, 1] pixel space.
 *
 * @example
 * // needs: an exported model, r2plus1d_18.onnx (test/fixtures/onnx/export.py writes one)
 * import { attacks, initBackend, models, runAttack, tf } from 'multav'
 * await initBackend('wasm')
 * const onnx = await models.loadOnnx('r2plus1d_18.onnx', { mean: [0.43216, 0.394666, 0.37645], std: [0.22803, 0.22145, 0.216989] })
 * const x = tf.randomUniform([1, 8, 32, 32, 3]) as tf.Tensor5D
 * const result = await runAttack(attacks.multLinf(), onnx.model, x, [0])
 * onnx.dispose()
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { InputError } from '../../core/errors.js'
import type { Model } from '../../core/model.js'
import { compile } from './graph.js'
import { parse } from './parse.js'
import { channelsLast } from './value.js'

export { SUPPORTED_OPS } from './ops/index.js'

export type OnnxLayout = 'NCTHW' | 'NTHWC'

export interface OnnxOptions {
  /** Per-channel mean subtracted inside the model (e.g. Kinetics' [0.43216, 0.394666, 0.37645]). */
  readonly mean?: ReadonlyArray<number>
  /** Per-channel standard deviation divided by inside the model. */
  readonly std?: ReadonlyArray<number>
  /** The layout the graph's input takes: 'NCTHW' (PyTorch exports, the default) or 'NTHWC' (multav's). */
  readonly layout?: OnnxLayout
  /** The graph output holding the logits: its name or index (default 0). */
  readonly output?: string | number
  /** The graph input the clip goes to, when the graph has several (default: the only one). */
  readonly input?: string
}

export interface OnnxModel {
  /** The differentiable model: `[N, T, H, W, C]` in [0, 1] → `[N, K]` logits. */
  readonly model: Model
  readonly classes: number
  readonly inputName: string
  readonly outputName: string
  /** The clip size the graph declares (null where its dims are symbolic). */
  readonly clip: { readonly frames: number | null; readonly height: number | null; readonly width: number | null; readonly channels: number | null }
  readonly opset: number
  /** Op type → number of nodes in the graph. */
  readonly ops: Readonly<Record<string, number>>
  /** Nodes run per call; the others (shape arithmetic, constants) were computed at load time. */
  readonly runtimeNodes: number
  readonly producer: string
  /** Frees the weights; the model must not be called afterwards. */
  readonly dispose: () => void
}

const checkStats = (name: string, v: ReadonlyArray<number> | undefined, positive: boolean): void => {
  if (v === undefined) return
  if (!Array.isArray(v) || v.length === 0 || v.some((e) => typeof e !== 'number' || !Number.isFinite(e) || (positive && e <= 0)))
    throw new InputError(`loadOnnx: options.${name} must be a non-empty array of finite${positive ? ' positive' : ''} numbers (one per channel), got ${JSON.stringify(v)}`)
}

/** Loads an ONNX video classifier as a differentiable multav model (see the module comment). */
export const loadOnnx = async (source: string | Uint8Array, options: OnnxOptions = {}): Promise<OnnxModel> => {
  const layout = options.layout ?? 'NCTHW'
  if (layout !== 'NCTHW' && layout !== 'NTHWC') throw new InputError(`loadOnnx: options.layout must be 'NCTHW' or 'NTHWC', got ${JSON.stringify(layout)}`)
  checkStats('mean', options.mean, false)
  checkStats('std', options.std, true)
  if (options.mean && options.std && options.mean.length !== options.std.length)
    throw new InputError(`loadOnnx: options.mean has ${options.mean.length} channels and options.std ${options.std.length}`)
  const parsed = await parse(source)
  const g = compile(parsed, {
    ...(options.input !== undefined ? { input: options.input } : {}),
    ...(options.output !== undefined ? { output: options.output } : {}),
  })
  const stats: tf.Tensor[] = []
  try {
    const dims = g.inputDims
    if (dims.length !== 0 && dims.length !== 5)
      throw new InputError(`${parsed.where}: the graph input ${JSON.stringify(g.inputName)} has rank ${dims.length}; a video model takes rank 5 (${layout})`)
    const [c, t, h, w] = layout === 'NCTHW' ? [dims[1], dims[2], dims[3], dims[4]] : [dims[4], dims[1], dims[2], dims[3]]
    const clip = { frames: t ?? null, height: h ?? null, width: w ?? null, channels: c ?? null }
    const channels = options.mean?.length ?? options.std?.length
    if (channels !== undefined && clip.channels !== null && channels !== clip.channels)
      throw new InputError(`loadOnnx: mean/std have ${channels} channels but the graph takes ${clip.channels}`)
    const mean = options.mean ? tf.keep(tf.tensor1d([...options.mean])) : undefined
    const std = options.std ? tf.keep(tf.tensor1d([...options.std])) : undefined
    for (const s of [mean, std]) if (s) stats.push(s)

    const model: Model = (x) => {
      if (!(x instanceof tf.Tensor) || x.rank !== 5) throw new InputError(`ONNX model: expected a [N, T, H, W, C] clip tensor, got ${x instanceof tf.Tensor ? `rank ${x.rank}` : typeof x}`)
      const [, T, H, W, C] = x.shape
      const want = [clip.frames, clip.height, clip.width, clip.channels]
      if ([T, H, W, C].some((d, i) => want[i] !== null && want[i] !== d))
        throw new InputError(`ONNX model: takes clips of ${want.map((d) => d ?? '?').join('x')} (T x H x W x C), got ${T}x${H}x${W}x${C}`)
      return tf.tidy(() => {
        let v: tf.Tensor = x
        if (mean) v = tf.sub(v, mean)
        if (std) v = tf.div(v, std)
        // [N, T, H, W, C] is the channels-last form of the graph's NCTHW input: no transpose (layout.ts)
        const y = g.run(layout === 'NCTHW' ? channelsLast(v) : v)
        if (y.rank !== 2 || y.shape[0] !== x.shape[0])
          throw new InputError(`ONNX model: output ${JSON.stringify(g.outputName)} has shape [${y.shape.join(', ')}], expected [N, classes] logits with N = ${x.shape[0]}`)
        return y.dtype === 'float32' ? (y as tf.Tensor2D) : (tf.cast(y, 'float32') as tf.Tensor2D)
      })
    }

    let classes = g.outputDims?.length === 2 ? g.outputDims[1] ?? null : null
    if (classes === null) {
      // symbolic: one probe on zeros of the declared clip size
      if ([clip.frames, clip.height, clip.width].some((d) => d === null))
        throw new InputError(`${parsed.where}: neither the output's class count nor the input's clip size is declared; re-export with static shapes`)
      const probe = tf.zeros([1, clip.frames!, clip.height!, clip.width!, clip.channels ?? channels ?? 3]) as tf.Tensor5D
      try {
        const y = model(probe)
        classes = y.shape[1]
        y.dispose()
      } finally {
        probe.dispose()
      }
    }
    const dispose = () => {
      g.dispose()
      tf.dispose(stats)
    }
    return {
      model,
      classes,
      inputName: g.inputName,
      outputName: g.outputName,
      clip,
      opset: parsed.opset,
      ops: g.ops,
      runtimeNodes: g.runtimeNodes,
      producer: `${parsed.proto.producerName ?? ''} ${parsed.proto.producerVersion ?? ''}`.trim(),
      dispose,
    }
  } catch (e) {
    g.dispose()
    tf.dispose(stats)
    throw e
  }
}
