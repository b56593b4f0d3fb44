/**
 * A model folder holding multav's 3D ResNet-18: model.json (the architecture in its config) and the
 * weight shards, as `multav train` writes them and as `multav import` writes a PyTorch state dict.
 * The config is checked, every weight is checked against the architecture it names, and only then is
 * the model built and its weights assigned. A config with `mean`/`std` gets them applied inside the
 * model (`R3dConfig.mean`/`std`).
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { r3d18, r3dShapes, type R3dConfig, type VideoModel } from '../r3d.js'
import { loadWeights, readManifest, show, type Manifest } from '../weights.js'
import { DENOISE_KINDS, type DenoiseKind } from '../denoise.js'
import { InputError } from '../../core/errors.js'
import { checkCommon, fieldOf, type ModelInfo } from './info.js'

export interface Pretrained extends VideoModel {
  /** What model.json says about it (classes, clip size, test accuracy, the training command). */
  readonly info: Readonly<Record<string, unknown>>
}

/** A 3D ResNet-18 folder (see the module comment); the caller disposes the model. */
export const loadModel = async (dir: string): Promise<Pretrained> => (await loadR3d(dir, await readManifest(dir))).model

/** A 3D ResNet-18 folder whose model.json was read: the model and what the folder says about it. */
export const loadR3d = async (dir: string, manifest: Manifest): Promise<{ model: Pretrained; info: ModelInfo }> => {
  const { config, info, raw } = checkConfig(manifest.json['config'], manifest.where)
  const { weights } = await loadWeights(dir, r3dShapes(config), manifest)
  let model: VideoModel | undefined
  try {
    model = r3d18(config)
    const all = new Map(Object.entries({ ...model.variables, ...model.state }))
    for (const [name, value] of Object.entries(weights)) all.get(name)!.assign(value)
    return { model: { ...model, info: raw }, info }
  } catch (e) {
    model?.dispose()
    throw e
  } finally {
    tf.dispose(Object.values(weights))
  }
}

/** model.json's config as the architecture to build, each field checked with a message naming it. */
const checkConfig = (raw: unknown, where: string): { config: R3dConfig; info: ModelInfo; raw: Record<string, unknown> } => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError(`${where}: config must be an object describing the model, got ${show(raw ?? null)}`)
  const fields = raw as Record<string, unknown>
  const field = (name: string): unknown => fieldOf(fields, name)
  const [layout, widths] = [field('layout'), field('widths')]
  if (field('architecture') === 'onnx') throw new InputError(`${where}: holds an ONNX model; load it with models.load (multav's loadModel reads 3D ResNet-18 folders)`)
  if (field('architecture') !== 'r3d18' || (layout !== 'torchvision' && layout !== 'hara'))
    throw new InputError(`${where}: config must name architecture "r3d18" and layout "torchvision" or "hara"`)
  const common = checkCommon(fields, where, { clipRequired: false, kind: 'r3d18' })
  if (!Array.isArray(widths) || widths.length !== 4 || !widths.every((w) => Number.isInteger(w) && w >= 1 && w <= 4096))
    throw new InputError(`${where}: config.widths must be four positive integers`)
  const denoise = field('denoise') ?? 'none'
  if (!(DENOISE_KINDS as ReadonlyArray<unknown>).includes(denoise))
    throw new InputError(`${where}: config.denoise must be one of ${DENOISE_KINDS.join(', ')}, got ${show(denoise)}`)
  const clip = common.clip
  if (denoise === '2d' && clip === null) throw new InputError(`${where}: a '2d' denoising model needs config.clip.T, a positive integer`)
  const normalise = common.mean !== null || common.std !== null
  const config: R3dConfig = {
    layout,
    classes: common.classes.length,
    widths: widths as unknown as NonNullable<R3dConfig['widths']>,
    denoise: denoise as DenoiseKind,
    ...(clip ? { frames: clip.T } : {}),
    // r3d18 normalises when both are set: a missing one is the identity
    ...(normalise ? { mean: triple(common.mean ?? [0, 0, 0]), std: triple(common.std ?? [1, 1, 1]) } : {}),
  }
  return { config, info: { ...common, config: fields }, raw: fields }
}

const triple = (v: ReadonlyArray<number>): readonly [number, number, number] => [v[0]!, v[1]!, v[2]!]
