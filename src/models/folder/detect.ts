/**
 * What a model file is, by its first bytes (not its name): safetensors (8-byte little-endian header
 * length, then a JSON object), ONNX (a protobuf ModelProto: its first field's tag is one of
 * ModelProto's), or something multav names to say what to do instead (a PyTorch checkpoint, an
 * archive, an image).
 *
 * @since 0.3.0
 */
import { InputError } from '../../core/errors.js'
import { openRegularFile, readExactly } from '../weights.js'

export type ModelFormat = 'onnx' | 'safetensors'

/**
 * The protobuf tags ModelProto's fields start with (field number << 3 | wire type): ir_version (1,
 * varint), producer_name (2), producer_version (3), domain (4), model_version (5, varint),
 * doc_string (6), graph (7), opset_import (8), metadata_props (14); training_info (20) and functions
 * (25) take two bytes.
 */
const ONNX_FIRST_TAGS: ReadonlySet<number> = new Set([0x08, 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72])
const ONNX_TWO_BYTE_TAGS: ReadonlyArray<readonly [number, number]> = [[0xa2, 0x01], [0xca, 0x01]]

/** Formats multav does not read, by magic bytes, with what to do instead. */
const OTHERS: ReadonlyArray<readonly [ReadonlyArray<number>, string]> = [
  [[0x50, 0x4b, 0x03, 0x04], 'a zip archive (a PyTorch checkpoint saved with torch.save?): export it with python/export_safetensors.py or torch.onnx.export first'],
  [[0x80], 'a pickle (an old-style PyTorch checkpoint?): export it with python/export_safetensors.py or torch.onnx.export first'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  [[0x1f, 0x8b], 'gzip-compressed: decompress it first'],
  [[0x7b], 'a JSON file (a model.json? give its folder to --model instead)'],
]

const startsWith = (bytes: Uint8Array, magic: ReadonlyArray<number>): boolean => magic.every((b, i) => bytes[i] === b)

/** The file's format; an InputError naming the file otherwise (missing, not a regular file, another format). */
export const detectFormat = async (file: string): Promise<ModelFormat> => {
  const { handle, size } = await openRegularFile(file)
  try {
    if (size === 0) throw new InputError(`${file}: empty file, not an ONNX or safetensors model`)
    const head = new Uint8Array(Math.min(size, 16))
    await readExactly(handle, head, 0, file)
    if (size >= 10) {
      const length = new DataView(head.buffer).getBigUint64(0, true)
      if (length >= 2n && length <= BigInt(size - 8) && head[8] === 0x7b) return 'safetensors'
    }
    const other = OTHERS.find(([magic]) => startsWith(head, magic))
    if (other !== undefined) throw new InputError(`${file}: ${other[1]}; multav imports ONNX models and safetensors state dicts`)
    if (ONNX_FIRST_TAGS.has(head[0]!) || ONNX_TWO_BYTE_TAGS.some((magic) => startsWith(head, magic))) return 'onnx'
    const hex = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ')
    throw new InputError(`${file}: neither an ONNX model nor a safetensors file (it starts with bytes ${hex})`)
  } finally {
    await handle.close()
  }
}
