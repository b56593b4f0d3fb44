/**
 * The models multav ships, by name: `pretrained('default')` is the 3D ResNet-18 (torchvision layout,
 * widths 8-16-32-64) trained on the shipped benchmark by `scripts/train-default.ts` (its command, test
 * accuracy and training time are in models/default/model.json).
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { r3d18, r3dShapes, type R3dConfig, type VideoModel } from './r3d.js'
import { loadWeights, readManifest, show } from './weights.js'
import { DENOISE_KINDS, type DenoiseKind } from './denoise.js'
import { InputError, UnavailableError } from '../core/errors.js'

export const PRETRAINED = ['default'] as const
export type PretrainedName = (typeof PRETRAINED)[number]

/** This module's folder, in the ESM and the CommonJS builds and under tsx. */
const here = (): string => (typeof import.meta?.url === 'string' ? dirname(fileURLToPath(import.meta.url)) : __dirname)

/** The folder of a shipped model: `models/<name>` at the package root, found upwards from this module. */
export const pretrainedDir = (name: PretrainedName): string => {
  let dir = here()
  for (let up = 0; up < 5; up++, dir = resolve(dir, '..')) {
    const candidate = join(dir, 'models', name)
    if (existsSync(join(candidate, 'model.json'))) return candidate
  }
  throw new UnavailableError(`pretrained('${name}'): models/${name}/model.json not found above ${here()}`)
}

export interface Pretrained extends VideoModel {
  /** What model.json says about it (classes, clip size, test accuracy, the training command). */
  readonly info: Readonly<Record<string, unknown>>
}

/** A shipped model with its weights loaded (inference: `model`; the caller disposes it). */
export const pretrained = async (name: PretrainedName = 'default'): Promise<Pretrained> => {
  if (!PRETRAINED.includes(name)) throw new InputError(`pretrained: unknown model "${name}", expected one of ${PRETRAINED.join(', ')}`)
  return loadModel(pretrainedDir(name))
}

/**
 * A model folder as `multav train` writes it (model.json with the architecture in its config, and the
 * weight shards): the config is checked, every weight is checked against the architecture it names, and
 * only then is the model built and its weights assigned.
 */
export const loadModel = async (dir: string): Promise<Pretrained> => {
  const manifest = await readManifest(dir)
  const { config, info } = checkConfig(manifest.json['config'], manifest.where)
  const { weights } = await loadWeights(dir, r3dShapes(config), manifest)
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

/** model.json's config as the architecture to build, each field checked with a message naming it. */
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

/**
 * config.classes: at least two distinct non-empty names (one class leaves an untargeted attack nothing
 * to move a clip to, and its accuracy is 100% by construction).
 */
const checkClasses = (classes: unknown, where: string): ReadonlyArray<string> => {
  if (!Array.isArray(classes)) throw new InputError(`${where}: config.classes must list the class names, got ${show(classes ?? null)}`)
  if (classes.length < 2)
    throw new InputError(`${where}: config.classes lists ${classes.length} class${classes.length === 1 ? '' : 'es'}, expected at least two (an attack needs another class to move a clip to)`)
  const first = new Map<string, number>()
  classes.forEach((c: unknown, i) => {
    if (typeof c !== 'string' || c === '') throw new InputError(`${where}: config.classes[${i}] must be a non-empty string, got ${show(c)}`)
    const earlier = first.get(c)
    if (earlier !== undefined) throw new InputError(`${where}: config.classes[${i}] ${show(c)} repeats config.classes[${earlier}]`)
    first.set(c, i)
  })
  return classes as string[]
}

/** config.clip, when given: `{ T, H, W }`, positive integers (the clip size the model takes). */
const checkClip = (clip: unknown, where: string): { T: number; H: number; W: number } | undefined => {
  if (clip === undefined || clip === null) return undefined
  const size = (typeof clip === 'object' && !Array.isArray(clip) ? clip : {}) as Record<string, unknown>
  const dims = ['T', 'H', 'W'].map((k) => (Object.hasOwn(size, k) ? size[k] : undefined))
  if (!dims.every((d) => Number.isSafeInteger(d) && (d as number) >= 1))
    throw new InputError(`${where}: config.clip must be {T, H, W} with positive integers, got ${show(clip)}`)
  const [T, H, W] = dims as [number, number, number]
  return { T, H, W }
}

/** `default` (or another shipped name) or a model folder. */
export const resolveModel = (ref: string): Promise<Pretrained> =>
  (PRETRAINED as ReadonlyArray<string>).includes(ref) ? pretrained(ref as PretrainedName) : loadModel(ref)
