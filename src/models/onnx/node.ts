/**
 * An ONNX node in plain form: its op type, name, inputs and outputs, and typed attribute readers.
 *
 * @since 0.3.0
 */
import type { onnx } from 'onnx-proto'
import { InputError } from '../../core/errors.js'

type LongLike = number | { toNumber(): number }
export const num = (v: LongLike | null | undefined): number => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber())

/** ONNX AttributeType values (onnx.proto). */
export const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const

export interface RawAttr {
  readonly name: string
  readonly type: number
  readonly f: number
  readonly i: number
  readonly s: string
  readonly t: onnx.TensorProto | undefined
  readonly floats: ReadonlyArray<number>
  readonly ints: ReadonlyArray<number>
}

export interface Node {
  /** Position in the graph (for messages and per-node caches). */
  readonly index: number
  readonly name: string
  readonly opType: string
  readonly domain: string
  /** Input names; '' is an absent optional input. */
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
  readonly attrs: ReadonlyMap<string, RawAttr>
}

/** `Conv "/stem/Conv_0"` for messages. */
export const describe = (n: Node): string => `${n.opType} node ${n.name === '' ? `#${n.index}` : JSON.stringify(n.name)}`

const bad = (n: Node, what: string): InputError => new InputError(`ONNX ${describe(n)}: ${what}`)

export const attrInt = (n: Node, name: string, fallback: number): number => {
  const a = n.attrs.get(name)
  if (a === undefined) return fallback
  if (a.type !== ATTR.INT) throw bad(n, `attribute ${name} must be an int`)
  return a.i
}
export const attrFloat = (n: Node, name: string, fallback: number): number => {
  const a = n.attrs.get(name)
  if (a === undefined) return fallback
  if (a.type !== ATTR.FLOAT) throw bad(n, `attribute ${name} must be a float`)
  return a.f
}
export const attrInts = (n: Node, name: string): ReadonlyArray<number> | undefined => {
  const a = n.attrs.get(name)
  if (a === undefined) return undefined
  if (a.type !== ATTR.INTS) throw bad(n, `attribute ${name} must be a list of ints`)
  return a.ints
}
export const attrFloats = (n: Node, name: string): ReadonlyArray<number> | undefined => {
  const a = n.attrs.get(name)
  if (a === undefined) return undefined
  if (a.type !== ATTR.FLOATS) throw bad(n, `attribute ${name} must be a list of floats`)
  return a.floats
}
export const attrString = (n: Node, name: string, fallback: string): string => {
  const a = n.attrs.get(name)
  if (a === undefined) return fallback
  if (a.type !== ATTR.STRING) throw bad(n, `attribute ${name} must be a string`)
  return a.s
}

/** A node's problem, as an InputError naming the node. */
export const nodeError = bad

/** The plain form of a decoded NodeProto. */
export const nodeOf = (p: onnx.INodeProto, index: number): Node => {
  const attrs = new Map<string, RawAttr>()
  for (const a of p.attribute ?? [])
    attrs.set(a.name ?? '', {
      name: a.name ?? '',
      type: a.type ?? 0,
      f: a.f ?? 0,
      i: num(a.i),
      s: new TextDecoder().decode(a.s ?? new Uint8Array()),
      t: (a.t ?? undefined) as RawAttr['t'],
      floats: a.floats ?? [],
      ints: (a.ints ?? []).map(num),
    })
  return { index, name: p.name ?? '', opType: p.opType ?? '', domain: p.domain ?? '', inputs: p.input ?? [], outputs: p.output ?? [], attrs }
}
