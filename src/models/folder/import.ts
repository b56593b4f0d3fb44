/**
 * Making a model folder from a file (what `multav import` runs): an ONNX graph (copied in as
 * model.onnx) or a PyTorch state dict saved as safetensors (converted to multav's 3D ResNet-18
 * weights), with the class names, the clip size, the normalisation and where it came from recorded in
 * model.json. Everything is checked before the folder appears: the options, the file's format (by its
 * bytes), the label file, the model loading from the finished temporary folder and one probe run on
 * a clip of the recorded size giving finite logits of the right shape. Only then is the folder renamed
 * into place (write.ts).
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { copyFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import { InputError } from '../../core/errors.js'
import { loadOnnx, type OnnxLayout } from '../onnx/index.js'
import { loadSafetensors } from '../pytorch.js'
import type { R3dConfig } from '../r3d.js'
import { readSafetensors } from '../safetensors.js'
import { openRegularFile, readExactly, reasonOf, saveWeights } from '../weights.js'
import { detectFormat, type ModelFormat } from './detect.js'
import { checkStat, type ClipSize, type ModelInfo, type Provenance } from './info.js'
import { readLabels } from './labels.js'
import { load } from './load.js'
import { ONNX_FILE } from './onnx.js'
import { checkDestination, writeFolderAtomically } from './write.js'

export interface ImportOptions {
  /** The folder to make (must not exist, or be empty). */
  readonly out: string
  readonly mean?: ReadonlyArray<number>
  readonly std?: ReadonlyArray<number>
  /** A label file (one name per line); default names `class 0`, `class 1`, … */
  readonly labels?: string
  /** The clip size; default the ONNX graph's declared one (a safetensors file declares none). */
  readonly clip?: ClipSize
  /** Safetensors only: the architecture the state dict belongs to. */
  readonly arch?: 'r3d18'
  readonly layout?: R3dConfig['layout']
  /** Default: read from the state dict's tensor shapes. */
  readonly widths?: readonly [number, number, number, number]
  /** ONNX only: the layout the graph's input takes (default NCTHW, PyTorch's). */
  readonly inputLayout?: OnnxLayout
  /** ONNX only: the graph output holding the logits (default the first). */
  readonly output?: string | number
  /** For the provenance: the command that runs the import, and multav's version. */
  readonly command: string
  readonly version: string
}

/** SHA-256 of a file's bytes, lowercase hex. */
export const sha256Of = (file: string): Promise<string> =>
  new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256')
    createReadStream(file)
      .on('error', (e) => reject(new InputError(`${file}: cannot read (${reasonOf(e)})`)))
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolvePromise(hash.digest('hex')))
  })

/** What a format contributes: the model's facts (from the file) and how to fill the folder. */
interface Prepared {
  readonly classes: number
  /** Clip dims the file declares (null: symbolic or not declared). */
  readonly declared: { readonly T: number | null; readonly H: number | null; readonly W: number | null }
  readonly fill: (tmp: string, config: Readonly<Record<string, unknown>>) => Promise<void>
  readonly release: () => void
}

const ONNX_ONLY = ['inputLayout', 'output'] as const
const SAFETENSORS_ONLY = ['layout', 'widths'] as const
/** The options as `multav import` spells them, for messages. */
const FLAGS: Readonly<Record<(typeof ONNX_ONLY)[number] | (typeof SAFETENSORS_ONLY)[number] | 'arch', string>> = {
  inputLayout: '--input-layout',
  output: '--output',
  layout: '--layout',
  widths: '--widths',
  arch: '--arch',
}

/** An ONNX graph: loaded once here for its class count and declared clip, then copied in. */
const prepareOnnx = async (file: string, o: ImportOptions): Promise<Prepared> => {
  const wrong = [...SAFETENSORS_ONLY, 'arch' as const].filter((k) => o[k] !== undefined)
  if (wrong.length > 0) throw new InputError(`${file}: is an ONNX model; ${wrong.map((k) => FLAGS[k]).join(', ')} ${wrong.length === 1 ? 'is' : 'are'} for safetensors state dicts`)
  const layout = o.inputLayout ?? 'NCTHW'
  const onnx = await loadOnnx(file, { layout, ...(o.output !== undefined ? { output: o.output } : {}) })
  onnx.dispose()
  if (onnx.clip.channels !== null && onnx.clip.channels !== 3) throw new InputError(`${file}: the graph takes ${onnx.clip.channels} channels; multav's clips are RGB (3)`)
  return {
    classes: onnx.classes,
    declared: { T: onnx.clip.frames, H: onnx.clip.height, W: onnx.clip.width },
    fill: async (tmp, config) => {
      await copyFile(file, join(tmp, ONNX_FILE))
      const extra = { file: ONNX_FILE, layout, ...(o.output !== undefined ? { output: o.output } : {}), input: onnx.inputName }
      await writeFileAtomic(join(tmp, 'model.json'), JSON.stringify({ format: 'multav-model', generatedBy: 'multav', config: { architecture: 'onnx', ...extra, ...config } }, null, 2) + '\n')
    },
    release: () => undefined,
  }
}

/** torchvision's and Hara's names of the tensor whose output channels are stage s's width (0-based). */
const widthTensor = (layout: R3dConfig['layout'], stage: number): string =>
  stage === 0 ? (layout === 'hara' ? 'conv1.weight' : 'stem.0.weight') : layout === 'hara' ? `layer${stage + 1}.0.conv1.weight` : `layer${stage + 1}.0.conv1.0.weight`

/**
 * The tensor shapes a safetensors header declares, without reading the data (loadSafetensors then
 * reads and checks everything); undefined when the header cannot be read.
 */
const safetensorsShapes = async (file: string): Promise<ReadonlyMap<string, ReadonlyArray<number>> | undefined> => {
  const { handle, size } = await openRegularFile(file)
  try {
    const prefix = Buffer.alloc(8)
    await readExactly(handle, prefix, 0, file)
    const length = Number(prefix.readBigUInt64LE(0))
    if (length > Math.min(MAX_HEADER_BYTES, size - 8)) return undefined
    const text = Buffer.alloc(length)
    await readExactly(handle, text, 8, file)
    const header: unknown = JSON.parse(text.toString('utf8'))
    if (typeof header !== 'object' || header === null) return undefined
    return new Map(
      Object.entries(header as Record<string, unknown>).flatMap(([name, spec]) => {
        const shape = typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>)['shape'] : undefined
        return Array.isArray(shape) ? [[name, shape as number[]] as const] : []
      }),
    )
  } catch {
    return undefined
  } finally {
    await handle.close()
  }
}

/** safetensors' own cap on a header. */
const MAX_HEADER_BYTES = 100_000_000

/** A PyTorch state dict: classes and (unless given) widths from its shapes; checked and converted by loadSafetensors. */
const prepareSafetensors = async (file: string, o: ImportOptions): Promise<Prepared> => {
  const wrong = ONNX_ONLY.filter((k) => o[k] !== undefined)
  if (wrong.length > 0) throw new InputError(`${file}: is a safetensors state dict; ${wrong.map((k) => FLAGS[k]).join(', ')} ${wrong.length === 1 ? 'is' : 'are'} for ONNX models`)
  if (o.arch === undefined) throw new InputError(`${file}: a safetensors file holds weights without the network; say which with --arch r3d18 (and --layout torchvision|hara)`)
  const layout = o.layout ?? 'torchvision'
  // an unreadable header: readSafetensors names what is wrong with it
  const shapes = (await safetensorsShapes(file)) ?? new Map([...(await readSafetensors(file))].map(([name, t]) => [name, t.shape]))
  const dim0 = (name: string): number | undefined => {
    const shape = shapes.get(name)
    return shape !== undefined && shape.length >= 1 && Number.isSafeInteger(shape[0]) ? shape[0] : undefined
  }
  const classes = dim0('fc.weight')
  if (classes === undefined) throw new InputError(`${file}: has no fc.weight tensor; not a ${layout} 3D ResNet-18 state dict`)
  const inferred = [0, 1, 2, 3].map((s) => dim0(widthTensor(layout, s)))
  if (o.widths === undefined && inferred.some((w) => w === undefined))
    throw new InputError(`${file}: cannot read the stage widths (no ${widthTensor(layout, inferred.findIndex((w) => w === undefined))}): wrong --layout, or give --widths`)
  const widths = o.widths ?? (inferred as unknown as readonly [number, number, number, number])
  const config: R3dConfig = { layout, classes, widths }
  const net = await loadSafetensors(file, config)
  return {
    classes,
    declared: { T: null, H: null, W: null },
    fill: async (tmp, common) => {
      await saveWeights(tmp, { ...net.variables, ...net.state }, { config: { architecture: 'r3d18', layout, widths: [...widths], denoise: 'none', ...common } })
    },
    release: net.dispose,
  }
}

const PREPARE: { readonly [F in ModelFormat]: (file: string, o: ImportOptions) => Promise<Prepared> } = { onnx: prepareOnnx, safetensors: prepareSafetensors }

/** The clip size: the one asked for, which must agree with what the file declares, or the declared one. */
const clipOf = (file: string, asked: ClipSize | undefined, declared: Prepared['declared'], format: ModelFormat): ClipSize => {
  const dims = [declared.T, declared.H, declared.W]
  if (asked !== undefined) {
    if ([asked.T, asked.H, asked.W].some((d, i) => dims[i] !== null && dims[i] !== d))
      throw new InputError(`${file}: the graph takes ${dims.map((d) => d ?? '?').join('x')} clips (T x H x W), not ${asked.T}x${asked.H}x${asked.W}`)
    return asked
  }
  if (dims.some((d) => d === null))
    throw new InputError(
      format === 'onnx'
        ? `${file}: the graph does not fix its clip size (${dims.map((d) => d ?? '?').join('x')}); say which the model takes with --clip TxHxW`
        : `${file}: a state dict does not say what clip size the model takes; give it with --clip TxHxW (torchvision's Kinetics models: 16x112x112)`,
    )
  return { T: dims[0]!, H: dims[1]!, W: dims[2]! }
}

/** One run on a mid-grey clip of the recorded size: `[1, classes]` finite logits. */
const probe = async (model: (x: tf.Tensor5D) => tf.Tensor2D, info: ModelInfo, where: string): Promise<void> => {
  const { T, H, W } = info.clip!
  const y = tf.tidy(() => model(tf.fill([1, T, H, W, 3], 0.5) as tf.Tensor5D))
  try {
    if (y.rank !== 2 || y.shape[0] !== 1 || y.shape[1] !== info.classes.length)
      throw new InputError(`${where}: a probe run on a 1x${T}x${H}x${W}x3 clip gave logits of shape [${y.shape.join(', ')}], expected [1, ${info.classes.length}]`)
    const values = await y.data()
    const bad = values.findIndex((v) => !Number.isFinite(v))
    if (bad >= 0) throw new InputError(`${where}: a probe run on a 1x${T}x${H}x${W}x3 clip gave a non-finite logit (${values[bad]} for class ${bad})`)
  } finally {
    y.dispose()
  }
}

/** Makes the model folder `o.out` from `file` (see the module comment); resolves to what the folder records. */
export const importModel = async (file: string, o: ImportOptions): Promise<ModelInfo> => {
  await checkDestination(o.out)
  const mean = checkStat(o.mean, 'mean', { channels: 3, positive: false, where: 'import' })
  const std = checkStat(o.std, 'std', { channels: 3, positive: true, where: 'import' })
  const format = await detectFormat(file)
  const labels = o.labels === undefined ? undefined : await readLabels(o.labels)
  const prepared = await PREPARE[format](file, o)
  try {
    if (prepared.classes < 2) throw new InputError(`${file}: the model gives ${prepared.classes} logit(s); an attack needs at least two classes`)
    if (labels !== undefined && labels.length !== prepared.classes)
      throw new InputError(`${o.labels}: names ${labels.length} classes, but ${basename(file)} gives ${prepared.classes} logits`)
    const clip = clipOf(file, o.clip, prepared.declared, format)
    const source: Provenance = { file: basename(file), format, sha256: await sha256Of(file), command: o.command, date: new Date().toISOString(), multav: o.version }
    const common = {
      clip,
      classes: labels ?? Array.from({ length: prepared.classes }, (_, k) => `class ${k}`),
      // both or neither: a missing one is the identity
      ...(mean !== undefined || std !== undefined ? { mean: mean ?? [0, 0, 0], std: std ?? [1, 1, 1] } : {}),
      source,
    }
    return await writeFolderAtomically(
      o.out,
      (tmp) => prepared.fill(tmp, common),
      async (tmp) => {
        const loaded = await load(tmp).catch((e: unknown) => {
          throw e instanceof InputError ? new InputError(`${file}: the model folder made from it does not load back: ${e.message}`) : e
        })
        try {
          await probe(loaded.model, loaded.info, file)
          return loaded.info
        } finally {
          loaded.dispose()
        }
      },
    )
  } finally {
    prepared.release()
  }
}
