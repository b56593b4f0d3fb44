/**
 * The models multav ships, by name: `pretrained('default')` is the 3D ResNet-18 (torchvision layout,
 * widths 8-16-32-64) trained on the shipped benchmark by `scripts/train-default.ts` (its command, test
 * accuracy and training time are in models/default/model.json). `resolveModel` turns what `--model`
 * says (a shipped name or any model folder, ./folder) into a loaded model.
 *
 * @since 0.1.0
 */
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InputError, UnavailableError } from '../core/errors.js'
import { load, type LoadedModel } from './folder/load.js'
import { loadModel, type Pretrained } from './folder/r3d.js'

export { loadModel, type Pretrained } from './folder/r3d.js'

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

/** A shipped model with its weights loaded (inference: `model`; the caller disposes it). */
export const pretrained = async (name: PretrainedName = 'default'): Promise<Pretrained> => {
  if (!PRETRAINED.includes(name)) throw new InputError(`pretrained: unknown model "${name}", expected one of ${PRETRAINED.join(', ')}`)
  return loadModel(pretrainedDir(name))
}

/** `default` (or another shipped name) or a model folder of any kind (`load`). */
export const resolveModel = (ref: string): Promise<LoadedModel> =>
  load((PRETRAINED as ReadonlyArray<string>).includes(ref) ? pretrainedDir(ref as PretrainedName) : ref)
