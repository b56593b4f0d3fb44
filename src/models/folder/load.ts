/**
 * `models.load(dir)`: any model folder — multav's 3D ResNet-18 (what `multav train` writes, or a
 * PyTorch state dict `multav import` converted) or an ONNX graph `multav import` copied in — as a
 * model taking [0, 1] clips `[N, T, H, W, 3]`, with its normalisation applied inside, and what the
 * folder says about it (`info`: class names, clip size, mean/std, provenance).
 *
 * @example
 * // needs: a model folder, e.g. one `multav import model.onnx --out my-model …` wrote
 * import { initBackend, models, tf } from 'multav'
 * await initBackend('wasm')
 * const net = await models.load('my-model')
 * const { T, H, W } = net.info.clip!
 * const logits = net.model(tf.zeros([1, T, H, W, 3]) as tf.Tensor5D)
 * console.log(net.info.classes.length === logits.shape[1]) // true
 * logits.dispose()
 * net.dispose()
 *
 * @since 0.3.0
 */
import type * as tf from '@tensorflow/tfjs-core'
import type { Model } from '../../core/model.js'
import { readManifest, type Manifest } from '../weights.js'
import { fieldOf, MODEL_KINDS, type ModelInfo, type ModelKind } from './info.js'
import { loadOnnxFolder } from './onnx.js'
import { loadR3d } from './r3d.js'

/** A loaded model folder. */
export interface LoadedModel {
  /** `[N, T, H, W, 3]` clips in [0, 1] → `[N, K]` logits (normalisation inside). */
  readonly model: Model
  readonly info: ModelInfo
  /** Frees the weights; the model must not be called afterwards. */
  readonly dispose: () => void
  /** A 3D ResNet-18's weights as tfjs variables (e.g. to fine-tune from); absent for an ONNX graph. */
  readonly variables?: Readonly<Record<string, tf.Variable>>
  /** A 3D ResNet-18's BatchNorm statistics; absent for an ONNX graph. */
  readonly state?: Readonly<Record<string, tf.Variable>>
}

/** How each kind of folder loads (a rule per kind). */
const LOADERS: { readonly [K in ModelKind]: (dir: string, manifest: Manifest) => Promise<LoadedModel> } = {
  r3d18: async (dir, manifest) => {
    const { model, info } = await loadR3d(dir, manifest)
    return { model: model.model, info, dispose: model.dispose, variables: model.variables, ...(model.state ? { state: model.state } : {}) }
  },
  onnx: async (_dir, manifest) => {
    const { onnx, info } = await loadOnnxFolder(manifest)
    return { model: onnx.model, info, dispose: onnx.dispose }
  },
}

/** The folder's kind: config.architecture "onnx", else a 3D ResNet-18 (whose loader names a wrong architecture). */
const kindOf = (manifest: Manifest): ModelKind => {
  const config = manifest.json['config']
  const architecture = typeof config === 'object' && config !== null && !Array.isArray(config) ? fieldOf(config as Record<string, unknown>, 'architecture') : undefined
  return (MODEL_KINDS as ReadonlyArray<unknown>).includes(architecture) ? (architecture as ModelKind) : 'r3d18'
}

/** Loads any model folder (see the module comment); the caller disposes it. */
export const load = async (dir: string): Promise<LoadedModel> => {
  const manifest = await readManifest(dir)
  return LOADERS[kindOf(manifest)](dir, manifest)
}
