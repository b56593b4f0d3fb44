/**
 * The shipped models in the browser, fetched by URL: `pretrained('default')` loads models/default
 * (model.json and its shards) from beside the page (`./models/default/`), or from `{ url }`;
 * `loadModel(url)` loads any folder `multav train` wrote. The config and every weight are checked as
 * the Node loader checks them (`multav`'s `models.pretrained`), before the model is built.
 *
 * @example
 * // needs: a page that serves the package's models/default folder at ./models/default/
 * import { initBackend, models } from 'multav/browser'
 * await initBackend()
 * const net = await models.pretrained('default') // or { url: 'https://example.org/multav/models/default/' }
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { InputError } from '../core/errors.js'
import { DENOISE_KINDS, type DenoiseKind } from '../models/denoise.js'
import { r3d18, r3dShapes, type R3dConfig, type VideoModel } from '../models/r3d.js'
import { checkClasses, checkClip } from '../models/folder/info.js'
import { show } from '../models/manifest.js'
import { fetchManifest, fetchWeights, type FetchOptions } from './weights.js'

export const PRETRAINED = ['default'] as const
export type PretrainedName = (typeof PRETRAINED)[number]

export interface Pretrained extends VideoModel {
  /** What model.json says about it (classes, clip size, test accuracy, the training command). */
  readonly info: Readonly<Record<string, unknown>>
}

export interface PretrainedOptions extends FetchOptions {
  /** The model folder's URL (default `./models/<name>/`, relative to the page). */
  readonly url?: string
}

/** A shipped model with its weights fetched and loaded (inference: `model`; the caller disposes it). */
export const pretrained = async (name: PretrainedName = 'default', o: PretrainedOptions = {}): Promise<Pretrained> => {
  if (!(PRETRAINED as ReadonlyArray<string>).includes(name)) throw new InputError(`pretrained: unknown model "${String(name)}", expected one of ${PRETRAINED.join(', ')}`)
  return loadModel(o.url ?? `./models/${name}/`, o)
}

/**
 * The model folder at `url` (model.json with the architecture in its config, and the weight shards):
 * the config is checked, every weight is checked against the architecture it names, and only then is
 * the model built and its weights assigned.
 */
export const loadModel = async (url: string, o: FetchOptions = {}): Promise<Pretrained> => {
  const manifest = await fetchManifest(url, o)
  const { config, info } = checkConfig(manifest.json['config'], manifest.where)
  const weights = await fetchWeights(manifest, r3dShapes(config), o)
  let model: VideoModel | undefined
  try {
    model = r3d18(config)
    const all = new Map(Object.entries({ ...model.variables, ...model.state }))
    for (const [name, value] of Object.entries(weights)) all.get(name)!.assign(value)
    return { ...model, info }
  } catch (e) {
    model?.dispose()
    throw e
  } finally {
    tf.dispose(Object.values(weights))
  }
}

/** model.json's config as the architecture to build, each field checked with a message naming it (as in Node). */
const checkConfig = (raw: unknown, where: string): { config: R3dConfig; info: Record<string, unknown> } => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError(`${where}: config must be an object describing the model, got ${show(raw ?? null)}`)
  const info = raw as Record<string, unknown>
  const field = (name: string): unknown => (Object.hasOwn(info, name) ? info[name] : undefined)
  const [layout, widths] = [field('layout'), field('widths')]
  if (field('architecture') !== 'r3d18' || (layout !== 'torchvision' && layout !== 'hara'))
    throw new InputError(`${where}: config must name architecture "r3d18" and layout "torchvision" or "hara"`)
  const classes = checkClasses(field('classes'), where)
  if (!Array.isArray(widths) || widths.length !== 4 || !widths.every((w) => Number.isInteger(w) && w >= 1 && w <= 4096))
    throw new InputError(`${where}: config.widths must be four positive integers`)
  const denoise = field('denoise') ?? 'none'
  if (!(DENOISE_KINDS as ReadonlyArray<unknown>).includes(denoise))
    throw new InputError(`${where}: config.denoise must be one of ${DENOISE_KINDS.join(', ')}, got ${show(denoise)}`)
  const clip = checkClip(field('clip'), where)
  if (denoise === '2d' && clip === undefined) throw new InputError(`${where}: a '2d' denoising model needs config.clip.T, a positive integer`)
  const config: R3dConfig = {
    layout,
    classes: classes.length,
    widths: widths as unknown as NonNullable<R3dConfig['widths']>,
    denoise: denoise as DenoiseKind,
    ...(clip ? { frames: clip.T } : {}),
  }
  return { config, info }
}

