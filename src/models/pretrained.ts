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
  const dir = pretrainedDir(name)
  // the architecture comes from model.json's config; loadWeights then checks every weight against it
  const info = (JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { config: Record<string, unknown> }).config
  const config: R3dConfig = {
    layout: info['layout'] as R3dConfig['layout'],
    classes: (info['classes'] as ReadonlyArray<string>).length,
    widths: info['widths'] as NonNullable<R3dConfig['widths']>,
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
