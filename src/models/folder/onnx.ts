/**
 * A model folder holding an ONNX graph: model.json (`config.architecture: "onnx"`, the graph's file
 * inside the folder, the input layout, the output, classes, clip, mean/std, source) beside the .onnx
 * file `multav import` copied in. Loaded with `loadOnnx`, normalisation inside; the graph's class
 * count and declared clip dims must agree with what model.json records.
 *
 * @since 0.3.0
 */
import { realpath } from 'node:fs/promises'
import { isAbsolute, join, relative, sep } from 'node:path'
import { InputError } from '../../core/errors.js'
import { loadOnnx, type OnnxLayout, type OnnxModel } from '../onnx/index.js'
import { reasonOf, show, type Manifest } from '../weights.js'
import { checkCommon, fieldOf, type ModelInfo } from './info.js'

/** The name `multav import` gives the graph inside a folder. */
export const ONNX_FILE = 'model.onnx'

/** What an ONNX folder's config says beyond the common fields. */
interface OnnxConfig {
  readonly file: string
  readonly layout: OnnxLayout
  readonly output: string | number | undefined
  readonly input: string | undefined
}

const checkOnnxConfig = (config: Readonly<Record<string, unknown>>, where: string): OnnxConfig => {
  const [file, layout, output, input] = ['file', 'layout', 'output', 'input'].map((k) => fieldOf(config, k))
  if (typeof file !== 'string' || file === '' || isAbsolute(file) || file.split(/[\\/]/).includes('..'))
    throw new InputError(`${where}: config.file must name the .onnx file inside the folder (a relative path), got ${show(file ?? null)}`)
  if (layout !== 'NCTHW' && layout !== 'NTHWC') throw new InputError(`${where}: config.layout must be "NCTHW" or "NTHWC" (the layout the graph's input takes), got ${show(layout ?? null)}`)
  if (output !== undefined && output !== null && typeof output !== 'string' && !(Number.isSafeInteger(output) && (output as number) >= 0))
    throw new InputError(`${where}: config.output must name the graph output holding the logits (a name, or an index ≥ 0), got ${show(output)}`)
  if (input !== undefined && input !== null && typeof input !== 'string') throw new InputError(`${where}: config.input must be the graph input's name, got ${show(input)}`)
  return { file, layout, output: (output ?? undefined) as string | number | undefined, input: (input ?? undefined) as string | undefined }
}

/** The graph file's path, which must stay inside the folder once links are resolved. */
const graphPath = async (root: string, file: string, where: string): Promise<string> => {
  const real = await realpath(join(root, file)).catch((e: unknown) => {
    throw new InputError(`${where}: config.file ${show(file)}: cannot open it in the folder (${reasonOf(e)})`)
  })
  const rel = relative(root, real)
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw new InputError(`${where}: config.file ${show(file)} is a link that leads outside the model folder`)
  return real
}

/** An ONNX folder whose model.json was read: the loaded graph and what the folder says about it. */
export const loadOnnxFolder = async (manifest: Manifest): Promise<{ onnx: OnnxModel; info: ModelInfo }> => {
  const { where, root } = manifest
  const raw = manifest.json['config']
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError(`${where}: config must be an object describing the model, got ${show(raw ?? null)}`)
  const config = raw as Record<string, unknown>
  const common = checkCommon(config, where, { clipRequired: true, kind: 'onnx' })
  const o = checkOnnxConfig(config, where)
  const path = await graphPath(root, o.file, where)
  const onnx = await loadOnnx(path, {
    layout: o.layout,
    ...(common.mean ? { mean: common.mean } : {}),
    ...(common.std ? { std: common.std } : {}),
    ...(o.output !== undefined ? { output: o.output } : {}),
    ...(o.input !== undefined ? { input: o.input } : {}),
  })
  try {
    const clip = common.clip!
    if (onnx.classes !== common.classes.length)
      throw new InputError(`${where}: config.classes names ${common.classes.length} classes but the graph gives ${onnx.classes} logits`)
    const declared = [onnx.clip.frames, onnx.clip.height, onnx.clip.width]
    if ([clip.T, clip.H, clip.W].some((d, i) => declared[i] !== null && declared[i] !== d))
      throw new InputError(`${where}: config.clip is ${clip.T}x${clip.H}x${clip.W} but the graph takes ${declared.map((d) => d ?? '?').join('x')} (T x H x W)`)
    if (onnx.clip.channels !== null && onnx.clip.channels !== 3)
      throw new InputError(`${where}: the graph takes ${onnx.clip.channels} channels; multav's clips are RGB (3)`)
    return { onnx, info: { ...common, config } }
  } catch (e) {
    onnx.dispose()
    throw e
  }
}
