/**
 * The models multav ships, by name: `pretrained('default')` is the 3D ResNet-18 (torchvision layout,
 * widths 8-16-32-64) trained on the shipped benchmark by `scripts/train-default.ts` (its command, test
 * accuracy and training time are in models/default/model.json).
 *
 * @since 0.1.0
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { r3d18, type R3dConfig, type VideoModel } from './r3d.js'
import { loadWeights } from './weights.js'
import { DENOISE_KINDS, type DenoiseKind } from './denoise.js'

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
  throw new Error(`pretrained('${name}'): models/${name}/model.json not found above ${here()}`)
}

export interface Pretrained extends VideoModel {
  /** What model.json says about it (classes, clip size, test accuracy, the training command). */
  readonly info: Readonly<Record<string, unknown>>
}

/** A shipped model with its weights loaded (inference: `model`; the caller disposes it). */
export const pretrained = async (name: PretrainedName = 'default'): Promise<Pretrained> => {
  if (!PRETRAINED.includes(name)) throw new Error(`pretrained: unknown model "${name}", expected one of ${PRETRAINED.join(', ')}`)
  return loadModel(pretrainedDir(name))
}

/**
 * A model folder as `multav train` writes it (model.json with the architecture in its config, and the
 * weight shards): the architecture is built from the config, then every weight is checked against it.
 */
export const loadModel = async (dir: string): Promise<Pretrained> => {
  let info: Record<string, unknown>
  try {
    info = (JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { config?: Record<string, unknown> }).config ?? {}
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new Error(
      code === 'ENOENT' ? `${dir}: not a model folder (no model.json)` : `${join(dir, 'model.json')}: cannot read it as JSON (${code ?? (e as Error).message})`,
    )
  }
  const [layout, classes, widths] = [info['layout'], info['classes'], info['widths']]
  if (info['architecture'] !== 'r3d18' || (layout !== 'torchvision' && layout !== 'hara'))
    throw new Error(`${join(dir, 'model.json')}: config must name architecture "r3d18" and layout "torchvision" or "hara"`)
  if (!Array.isArray(classes) || classes.length < 2 || !classes.every((c) => typeof c === 'string'))
    throw new Error(`${join(dir, 'model.json')}: config.classes must list at least two class names`)
  if (!Array.isArray(widths) || widths.length !== 4 || !widths.every((w) => Number.isInteger(w) && w >= 1 && w <= 4096))
    throw new Error(`${join(dir, 'model.json')}: config.widths must be four positive integers`)
  const denoise = info['denoise'] ?? 'none'
  if (!(DENOISE_KINDS as ReadonlyArray<unknown>).includes(denoise))
    throw new Error(`${join(dir, 'model.json')}: config.denoise must be one of ${DENOISE_KINDS.join(', ')}, got ${JSON.stringify(denoise)}`)
  const frames = (info['clip'] as { T?: unknown } | undefined)?.T
  if (denoise === '2d' && !(Number.isInteger(frames) && (frames as number) >= 1))
    throw new Error(`${join(dir, 'model.json')}: a '2d' denoising model needs config.clip.T, a positive integer`)
  const config: R3dConfig = {
    layout,
    classes: classes.length,
    widths: widths as unknown as NonNullable<R3dConfig['widths']>,
    denoise: denoise as DenoiseKind,
    ...(typeof frames === 'number' ? { frames } : {}),
  }
  const model = r3d18(config)
  try {
    const { weights } = await loadWeights(dir, model.shapes)
    const all = { ...model.variables, ...model.state }
    for (const [n, t] of Object.entries(weights)) {
      all[n]!.assign(t)
      t.dispose()
    }
    return { ...model, info }
  } catch (e) {
    model.dispose()
    throw e
  }
}

/** `default` (or another shipped name) or a model folder. */
export const resolveModel = (ref: string): Promise<Pretrained> =>
  (PRETRAINED as ReadonlyArray<string>).includes(ref) ? pretrained(ref as PretrainedName) : loadModel(ref)
