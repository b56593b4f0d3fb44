/**
 * A label file: one class name per line, in the order of the model's logits (strict UTF-8, `\n` or
 * `\r\n` line ends, a final line end optional, a BOM dropped). Read whole, so its size is capped; a
 * blank, repeated, overlong or control-character name is refused naming its line.
 *
 * @since 0.3.0
 */
import { InputError } from '../../core/errors.js'
import { decodeUtf8, openRegularFile, readExactly, show } from '../weights.js'
import { MAX_CLASSES, MAX_NAME, nameProblem } from './info.js'

/** The largest label file read: MAX_CLASSES names of MAX_NAME characters fit, in ASCII. */
export const MAX_LABEL_BYTES = MAX_CLASSES * (MAX_NAME + 2)

/** The class names of a label file. */
export const readLabels = async (file: string): Promise<ReadonlyArray<string>> => {
  const { handle, size } = await openRegularFile(file)
  let bytes: Uint8Array
  try {
    if (size > MAX_LABEL_BYTES) throw new InputError(`${file}: ${size} bytes, larger than a label file may be (${MAX_LABEL_BYTES} bytes: ${MAX_CLASSES} names of up to ${MAX_NAME} characters)`)
    bytes = new Uint8Array(size)
    await readExactly(handle, bytes, 0, file)
  } finally {
    await handle.close()
  }
  if (bytes.includes(0)) throw new InputError(`${file}: holds a NUL byte at byte ${bytes.indexOf(0)}; a label file is text, one class name per line`)
  const text = decodeUtf8(bytes, file)
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  if (lines.length === 0) throw new InputError(`${file}: empty; a label file holds one class name per line`)
  if (lines.length > MAX_CLASSES) throw new InputError(`${file}: ${lines.length} lines, more than the ${MAX_CLASSES} classes multav reads`)
  const first = new Map<string, number>()
  lines.forEach((name, i) => {
    const problem = nameProblem(name)
    if (problem !== undefined) throw new InputError(`${file}: line ${i + 1} ${problem}`)
    const earlier = first.get(name)
    if (earlier !== undefined) throw new InputError(`${file}: line ${i + 1} ${show(name)} repeats line ${earlier + 1}`)
    first.set(name, i)
  })
  return lines
}
