/**
 * Reading an ONNX file: the bytes (a path or a buffer), the protobuf decoded with onnx-proto (the
 * protobufjs-generated ONNX schema), and the model-level checks: a graph, an IR version, the
 * default-domain opset in the range multav's rules follow. A truncated or non-ONNX file is an
 * InputError naming the file, never a crash.
 *
 * @since 0.3.0
 */
import { readFile, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import pkg from 'onnx-proto'
import type { onnx } from 'onnx-proto'
import { InputError } from '../../core/errors.js'
import { num } from './node.js'

const schema = pkg.onnx

/** A protobuf message cannot exceed 2 GiB; larger models use external data. */
export const MAX_FILE_BYTES = 2 ** 31 - 1

/** Default-domain opsets whose operator forms the rules follow (torch.onnx exports 7–17). */
export const OPSET_RANGE = [7, 21] as const

export interface Parsed {
  readonly proto: onnx.ModelProto
  readonly graph: onnx.IGraphProto
  readonly opset: number
  /** The model's folder (external data may be read from it), undefined for bytes. */
  readonly folder: string | undefined
  /** What to call the model in messages. */
  readonly where: string
}

const readSource = async (source: string | Uint8Array): Promise<{ bytes: Uint8Array; folder: string | undefined; where: string }> => {
  if (typeof source !== 'string') {
    if (!(source instanceof Uint8Array)) throw new InputError('loadOnnx: source must be a file path or a Uint8Array of the model')
    return { bytes: source, folder: undefined, where: 'ONNX model (bytes)' }
  }
  const file = resolve(source)
  let size: number
  try {
    const s = await stat(file)
    if (!s.isFile()) throw new InputError(`${source}: not a file`)
    size = s.size
  } catch (e) {
    if (e instanceof InputError) throw e
    throw new InputError(`${source}: cannot read the ONNX model (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
  }
  if (size > MAX_FILE_BYTES) throw new InputError(`${source}: ${size} bytes is larger than a protobuf can be (2 GiB); models this large keep their weights as external data`)
  return { bytes: await readFile(file), folder: dirname(file), where: source }
}

/** Decodes and checks the model. */
export const parse = async (source: string | Uint8Array): Promise<Parsed> => {
  const { bytes, folder, where } = await readSource(source)
  if (bytes.length === 0) throw new InputError(`${where}: empty file, not an ONNX model`)
  let proto: onnx.ModelProto
  try {
    proto = schema.ModelProto.decode(bytes)
  } catch (e) {
    throw new InputError(`${where}: not a readable ONNX model (${(e as Error).message}): the file is truncated, corrupt, or not ONNX`)
  }
  const graph = proto.graph ?? undefined
  const ir = num(proto.irVersion)
  if (graph === undefined || graph === null || ir <= 0 || (graph.node ?? []).length === 0)
    throw new InputError(`${where}: not an ONNX model (${graph ? 'its graph has no nodes' : 'no graph'}${ir <= 0 ? ', no IR version' : ''}): truncated, corrupt, or another format`)
  const imports = (proto.opsetImport ?? []).filter((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx')
  if (imports.length === 0) throw new InputError(`${where}: the model imports no default-domain (ai.onnx) opset`)
  const opset = num(imports[0]!.version)
  if (opset < OPSET_RANGE[0] || opset > OPSET_RANGE[1])
    throw new InputError(`${where}: opset ${opset} is outside the ${OPSET_RANGE[0]}–${OPSET_RANGE[1]} multav reads (re-export with opset_version between them, e.g. 17)`)
  return { proto, graph, opset, folder, where }
}
