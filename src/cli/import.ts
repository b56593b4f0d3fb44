/** `multav import`: a model folder from an ONNX file or a safetensors state dict, with its preprocessing. */
import * as E from 'fp-ts/lib/Either.js'
import { multavVersion } from '../eval/results.js'
import { importModel, type ImportOptions } from '../models/folder/import.js'
import { checkDestination } from '../models/folder/write.js'
import { defineCommand, onePositional } from './command.js'
import { withContext } from './errors.js'
import { enumeration, list, parsed, string, type Values } from './options.js'
import { BACKEND_OPTIONS, startBackend } from './shared.js'

const finite = (text: string): number | undefined => (text !== '' && Number.isFinite(Number(text)) ? Number(text) : undefined)
const positive = (text: string): number | undefined => {
  const v = finite(text)
  return v !== undefined && v > 0 ? v : undefined
}
const width = (text: string): number | undefined => (/^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= 4096 ? Number(text) : undefined)

/** `--clip TxHxW`: three positive integers. */
const clipSize = (text: string): E.Either<string, { T: number; H: number; W: number }> => {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(text)
  const dims = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : []
  return m && dims.every((d) => d >= 1 && d <= 65_536) ? E.right({ T: dims[0]!, H: dims[1]!, W: dims[2]! }) : E.left(`--clip must be TxHxW, three positive integers (e.g. 16x112x112), got "${text}"`)
}

const IMPORT_OPTIONS = {
  out: string({ metavar: 'DIR', required: 'import needs --out DIR (a new folder for the model)', description: 'the model folder to make (must not exist, or be empty)' }),
  mean: list({ read: finite, text: 'numbers', length: 3, example: '0.43216,0.394666,0.37645' }, { metavar: 'a,b,c', description: "per-channel mean the model's input is normalised with, (x − mean) / std; Kinetics': 0.43216,0.394666,0.37645" }),
  std: list({ read: positive, text: 'positive numbers', length: 3, example: '0.22803,0.22145,0.216989' }, { metavar: 'a,b,c', description: "per-channel standard deviation; Kinetics': 0.22803,0.22145,0.216989 (default with --mean: 1,1,1)" }),
  classes: string({ metavar: 'FILE', description: "a label file: one class name per line, in the order of the model's logits (default: class 0, class 1, …)" }),
  clip: parsed(clipSize, { metavar: 'TxHxW', description: "the clip size the model takes (default: the ONNX graph's, when it fixes one)" }, (c) => `${c.T}x${c.H}x${c.W}`),
  arch: enumeration(['r3d18'], { description: 'safetensors only: the network the state dict belongs to' }),
  layout: enumeration(['torchvision', 'hara'], { description: "safetensors only: the 3D ResNet-18's layout (torchvision's r3d_18, or Hara et al.'s resnet-18; default torchvision)" }),
  widths: list({ read: width, text: 'integers from 1 to 4096', length: 4, example: '64,128,256,512' }, { metavar: 'a,b,c,d', description: "safetensors only: the four stage widths (default: read from the state dict's shapes)" }),
  'input-layout': enumeration(['NCTHW', 'NTHWC'], { description: "ONNX only: the layout the graph's input takes (default NCTHW, PyTorch's)" }),
  output: string({ metavar: 'NAME|INDEX', description: 'ONNX only: the graph output holding the logits (default: the first)' }),
  ...BACKEND_OPTIONS,
} as const

/** An argument as a shell would need it written (for the command recorded in model.json). */
const quoted = (arg: string): string => (/^[\w./:=,@+%-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)

const optionsOf = (v: Values<typeof IMPORT_OPTIONS>, argv: ReadonlyArray<string>): ImportOptions => ({
  out: v.out,
  command: `multav ${argv.map(quoted).join(' ')}`,
  version: multavVersion(),
  ...(v.mean !== undefined ? { mean: v.mean } : {}),
  ...(v.std !== undefined ? { std: v.std } : {}),
  ...(v.classes !== undefined ? { labels: v.classes } : {}),
  ...(v.clip !== undefined ? { clip: v.clip } : {}),
  ...(v.arch !== undefined ? { arch: v.arch } : {}),
  ...(v.layout !== undefined ? { layout: v.layout } : {}),
  ...(v.widths !== undefined ? { widths: [v.widths[0]!, v.widths[1]!, v.widths[2]!, v.widths[3]!] as const } : {}),
  ...(v['input-layout'] !== undefined ? { inputLayout: v['input-layout'] } : {}),
  ...(v.output !== undefined ? { output: /^\d+$/.test(v.output) ? Number(v.output) : v.output } : {}),
})

export const importCommand = defineCommand({
  name: 'import',
  positionals: onePositional('FILE', 'model file (an ONNX model, or a PyTorch state dict as safetensors)'),
  options: IMPORT_OPTIONS,
  summary: 'make a model folder (weights, preprocessing, class names) from an ONNX file or a PyTorch state dict',
  details: `FILE's format is read from its bytes: an ONNX model is copied into the folder; a safetensors
    state dict (python/export_safetensors.py writes one) is converted to multav's 3D ResNet-18 and needs
    --arch r3d18. model.json records the class names, the clip size, mean/std (applied inside the model,
    so attacks work on [0, 1] pixels) and where the model came from (file, SHA-256, this command, date,
    multav's version). The model is loaded back from the finished folder and run once before the folder
    appears under --out. Then: multav eval --model DIR, multav attack --model DIR, models.load(DIR).`,
  run: async (v, [file], { io, argv }) => {
    await checkDestination(v.out).catch(withContext('--out '))
    await startBackend(v)
    const info = await importModel(file!, optionsOf(v, argv)).catch(withContext(''))
    const { T, H, W } = info.clip!
    const shown = info.classes.length > 6 ? `${info.classes.slice(0, 5).join(', ')}, … (${info.classes.length})` : info.classes.join(', ')
    io.log(`${v.out}: ${info.kind === 'onnx' ? 'ONNX graph' : '3D ResNet-18'} from ${info.source!.file} (sha256 ${info.source!.sha256.slice(0, 12)}…)`)
    io.log(`  classes: ${shown}`)
    io.log(`  clips: ${T}x${H}x${W} (T x H x W), [0, 1] RGB${info.mean ? `; normalised inside with mean ${info.mean.join(',')} and std ${info.std!.join(',')}` : '; no normalisation'}`)
    io.log(`then: multav eval --model ${quoted(v.out)} --data …  |  multav attack --model ${quoted(v.out)} --video …`)
    return 0
  },
})
