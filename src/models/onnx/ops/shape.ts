/**
 * Shape and data-movement operators: Shape, Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat,
 * Gather, Slice, Split, Expand, Tile, Pad, Cast, Constant, ConstantOfShape, Range, Identity, Dropout.
 * Shape arithmetic stays on the host (see ../value.ts); Gather and strided Slice on float tensors are
 * written with slice/concat/reshape, which have gradients on every backend (wasm has no gradient
 * kernel for tf.gather, tfjs none for stridedSlice).
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { ATTR, attrFloat, attrInt, attrInts, attrString, nodeError, type Node } from '../node.js'
import { DTYPE, isFloat, valueOf } from '../tensors.js'
import { host, isHost, narrow, numbersOf, sizeOf, type Value } from '../value.js'
import { axisOf, broadcastShape, input, intsOf, one, scalarOf, subsample, type OpRule, type OpTable } from './rule.js'

/** Axes from the attribute (before `inputFrom`) or from input 1. */
const axesOf = (node: Node, inputs: ReadonlyArray<Value | undefined>, opset: number, inputFrom: number): ReadonlyArray<number> | undefined =>
  opset < inputFrom ? attrInts(node, 'axes') : intsOf(node, inputs, 1)

const unsqueeze = (node: Node, shape: ReadonlyArray<number>, axes: ReadonlyArray<number>): number[] => {
  const rank = shape.length + axes.length
  const at = new Set(axes.map((a) => axisOf(node, a, rank)))
  if (at.size !== axes.length) throw nodeError(node, `repeated axes [${axes.join(', ')}]`)
  const out: number[] = []
  let j = 0
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : shape[j++]!)
  return out
}

const reshapeTo = (node: Node, shape: ReadonlyArray<number>, target: ReadonlyArray<number>, allowZero: boolean): number[] => {
  const out = target.map((d, i) => (d === 0 && !allowZero ? (shape[i] ?? 0) : d))
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1)
  const size = sizeOf(shape)
  const unknown = out.filter((d) => d === -1).length
  if (unknown > 1 || out.some((d) => d < -1)) throw nodeError(node, `shape [${target.join(', ')}] is invalid`)
  const filled = out.map((d) => (d === -1 ? (known === 0 ? 0 : size / known) : d))
  if (sizeOf(filled) !== size || filled.some((d) => !Number.isInteger(d)))
    throw nodeError(node, `cannot reshape [${shape.join(', ')}] (${size} elements) to [${target.join(', ')}]`)
  return filled
}

/** Elements `indices` of `x` along `axis` (indices already in range). */
const take = (x: tf.Tensor, indices: ReadonlyArray<number>, axis: number): tf.Tensor => {
  const pieces = indices.map((i) => tf.slice(x, x.shape.map((_, a) => (a === axis ? i : 0)), x.shape.map((d, a) => (a === axis ? 1 : d))))
  return pieces.length === 1 ? pieces[0]! : tf.concat(pieces, axis)
}

/** Slice of one axis with ONNX's start/end/step rules (clamping, negative steps). */
const sliceAxis = (x: tf.Tensor, axis: number, start: number, end: number, step: number): tf.Tensor => {
  const len = x.shape[axis]!
  let v = x
  let [s, e, st] = [start < 0 ? start + len : start, end < 0 ? end + len : end, step]
  if (st < 0) {
    // walk the reversed axis upwards: element i of x is element len − 1 − i of the reverse
    s = Math.min(Math.max(s, 0), len - 1)
    e = Math.min(Math.max(e, -1), len - 1)
    v = tf.reverse(v, [axis])
    ;[s, e, st] = [len - 1 - s, len - 1 - e, -st]
  } else {
    s = Math.min(Math.max(s, 0), len)
    e = Math.min(Math.max(e, 0), len)
  }
  const count = Math.max(Math.ceil((e - s) / st), 0)
  const begin = v.shape.map((_, a) => (a === axis ? (count === 0 ? 0 : s) : 0))
  const size = v.shape.map((d, a) => (a === axis ? (count === 0 ? 0 : (count - 1) * st + 1) : d))
  const cut = tf.slice(v, begin, size)
  return st === 1 ? cut : subsample(cut, axis, st, count)
}

const castTo = (to: number): 'float32' | 'int32' | 'bool' => (isFloat(to) ? 'float32' : to === DTYPE.BOOL ? 'bool' : 'int32')

export const shapes: OpTable = {
  Identity: { host: true, layout: 'own', run: (_node, inputs) => [inputs[0]!] },
  Dropout: {
    check: (node) => (node.outputs.length > 1 && node.outputs[1] !== '' ? 'the mask output is not supported' : undefined),
    host: true,
    layout: 'own',
    run: (node, inputs) => {
      const t = scalarOf(inputs[2])
      if (t !== undefined && t !== 0) throw nodeError(node, 'training_mode true is not supported (export in eval mode)')
      return [inputs[0]!]
    },
  },
  Shape: {
    host: true,
    layout: 'own', // reads only the ONNX shape, which every value carries
    run: (node, inputs) => {
      const v = inputs[0]
      if (v === undefined) throw nodeError(node, 'input 0 is required')
      const dims = v.shape
      const clamp = (a: number) => Math.min(Math.max(a < 0 ? a + dims.length : a, 0), dims.length)
      return one(host(dims.slice(clamp(attrInt(node, 'start', 0)), clamp(attrInt(node, 'end', dims.length)))))
    },
  },
  Size: { host: true, layout: 'own', run: (node, inputs) => one(host([sizeOf(inputs[0]?.shape ?? [])], [])) },
  Constant: {
    host: true,
    run: (node) => {
      const [name, a] = [...node.attrs][0] ?? []
      if (a === undefined || node.attrs.size !== 1) throw nodeError(node, 'must have exactly one value attribute')
      if (name === 'value' && a.type === ATTR.TENSOR && a.t) return one(valueOf(a.t, `the value of ${node.name}`, { folder: undefined, where: 'ONNX model' }))
      if (name === 'value_float') return one(tf.scalar(a.f))
      if (name === 'value_floats') return one(tf.tensor1d([...a.floats]))
      if (name === 'value_int') return one(host([narrow(a.i)], []))
      if (name === 'value_ints') return one(host(a.ints.map(narrow)))
      throw nodeError(node, `value attribute ${name} is not supported`)
    },
  },
  ConstantOfShape: {
    host: true,
    run: (node, inputs) => {
      const shape = intsOf(node, inputs, 0) ?? []
      const a = node.attrs.get('value')
      const v = a?.t ? valueOf(a.t, 'the value', { folder: undefined, where: 'ONNX model' }) : tf.scalar(0)
      const fill = numbersOf(v)[0] ?? 0
      const dtype = isHost(v) ? v.dtype : 'float32'
      if (!isHost(v)) v.dispose()
      const n = sizeOf(shape)
      if (dtype !== 'float32' && n <= 4096) return one(host(Array.from({ length: n }, () => fill), shape, dtype))
      return one(tf.fill([...shape], fill, dtype))
    },
  },
  Cast: {
    layout: 'pointwise',
    run: (node, inputs) => one(tf.cast(input(node, inputs, 0), castTo(attrInt(node, 'to', DTYPE.FLOAT)))),
  },
  CastLike: { run: (node, inputs) => one(tf.cast(input(node, inputs, 0), input(node, inputs, 1).dtype)) },
  Reshape: {
    run: (node, inputs, ctx) => {
      const x = input(node, inputs, 0)
      const target = ctx.opset < 5 ? attrInts(node, 'shape') : intsOf(node, inputs, 1)
      if (target === undefined) throw nodeError(node, 'the shape is required')
      return one(tf.reshape(x, reshapeTo(node, x.shape, target, attrInt(node, 'allowzero', 0) === 1)))
    },
  },
  Flatten: {
    run: (node, inputs) => {
      const x = input(node, inputs, 0)
      const axis = attrInt(node, 'axis', 1)
      const a = axis < 0 ? axis + x.rank : axis
      if (a < 0 || a > x.rank) throw nodeError(node, `axis ${axis} is out of range for rank ${x.rank}`)
      const rows = sizeOf(x.shape.slice(0, a))
      return one(tf.reshape(x, [rows, sizeOf(x.shape.slice(a))]))
    },
  },
  Transpose: {
    run: (node, inputs) => {
      const x = input(node, inputs, 0)
      const perm = attrInts(node, 'perm') ?? x.shape.map((_, i) => x.rank - 1 - i)
      if (perm.length !== x.rank || new Set(perm).size !== x.rank || perm.some((p) => p < 0 || p >= x.rank))
        throw nodeError(node, `perm [${perm.join(', ')}] is not a permutation of ${x.rank} axes`)
      return one(tf.transpose(x, [...perm]))
    },
  },
  Squeeze: {
    run: (node, inputs, ctx) => {
      const x = input(node, inputs, 0)
      const axes = axesOf(node, inputs, ctx.opset, 13)
      if (axes === undefined) return one(tf.reshape(x, x.shape.filter((d) => d !== 1)))
      const at = new Set(axes.map((a) => axisOf(node, a, x.rank)))
      for (const a of at) if (x.shape[a] !== 1) throw nodeError(node, `cannot squeeze axis ${a} of size ${x.shape[a]}`)
      return one(tf.reshape(x, x.shape.filter((_, i) => !at.has(i))))
    },
  },
  Unsqueeze: {
    run: (node, inputs, ctx) => {
      const x = input(node, inputs, 0)
      const axes = axesOf(node, inputs, ctx.opset, 13)
      if (axes === undefined) throw nodeError(node, 'axes are required')
      return one(tf.reshape(x, unsqueeze(node, x.shape, axes)))
    },
  },
  Concat: {
    run: (node, inputs) => {
      const xs = inputs.map((_, i) => input(node, inputs, i))
      const axis = axisOf(node, attrInt(node, 'axis', 0), xs[0]!.rank)
      const kept = xs.filter((x) => x.shape[axis] !== 0)
      const dtype = xs.some((x) => x.dtype === 'float32') ? 'float32' : xs[0]!.dtype
      const same = (kept.length > 0 ? kept : xs.slice(0, 1)).map((x) => (x.dtype === dtype ? x : tf.cast(x, dtype)))
      return one(same.length === 1 ? same[0]! : tf.concat(same, axis))
    },
  },
  Gather: {
    run: (node, inputs) => {
      const x = input(node, inputs, 0)
      const axis = axisOf(node, attrInt(node, 'axis', 0), x.rank)
      const idx = inputs[1]
      if (idx === undefined) throw nodeError(node, 'indices are required')
      const len = x.shape[axis]!
      const indices = numbersOf(idx).map((i) => (i < 0 ? i + len : i))
      if (indices.some((i) => i < 0 || i >= len)) throw nodeError(node, `indices [${numbersOf(idx).join(', ')}] out of range for an axis of ${len}`)
      const outShape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)]
      const picked = indices.length <= 64 ? take(x, indices, axis) : tf.gather(x, tf.tensor1d(indices, 'int32'), axis)
      return one(tf.reshape(picked, outShape))
    },
  },
  Slice: {
    run: (node, inputs, ctx) => {
      const x = input(node, inputs, 0)
      const pick = (attr: string, i: number) => (ctx.opset < 10 ? attrInts(node, attr) : intsOf(node, inputs, i))
      const starts = pick('starts', 1)
      const ends = pick('ends', 2)
      if (starts === undefined || ends === undefined || starts.length !== ends.length) throw nodeError(node, 'starts and ends must be given, of equal length')
      const axes = (pick('axes', 3) ?? starts.map((_, i) => i)).map((a) => axisOf(node, a, x.rank))
      const steps = (ctx.opset < 10 ? undefined : intsOf(node, inputs, 4)) ?? starts.map(() => 1)
      if (steps.some((s) => s === 0)) throw nodeError(node, 'steps must not be 0')
      return one(axes.reduce((v, a, i) => sliceAxis(v, a, starts[i]!, ends[i]!, steps[i]!), x))
    },
  },
  Split: {
    run: (node, inputs, ctx) => {
      const x = input(node, inputs, 0)
      const axis = axisOf(node, attrInt(node, 'axis', 0), x.rank)
      const n = node.outputs.length
      const given = ctx.opset < 13 ? attrInts(node, 'split') : intsOf(node, inputs, 1)
      const len = x.shape[axis]!
      const sizes = given ?? Array.from({ length: n }, (_, i) => Math.min(Math.ceil(len / n), Math.max(len - i * Math.ceil(len / n), 0)))
      if (sizes.reduce((a, b) => a + b, 0) !== len) throw nodeError(node, `split [${sizes.join(', ')}] does not add up to ${len}`)
      return tf.split(x, [...sizes], axis)
    },
  },
  Expand: {
    run: (node, inputs) => {
      const x = input(node, inputs, 0)
      const shape = broadcastShape(node, x.shape, intsOf(node, inputs, 1) ?? [])
      const same = shape.length === x.rank && shape.every((d, i) => d === x.shape[i])
      return one(same ? x : tf.broadcastTo(x, [...shape]))
    },
  },
  Tile: { run: (node, inputs) => one(tf.tile(input(node, inputs, 0), [...(intsOf(node, inputs, 1) ?? [])])) },
  Range: {
    host: true,
    run: (node, inputs) => {
      const [start, limit, delta] = [0, 1, 2].map((i) => scalarOf(inputs[i]) ?? 0) as [number, number, number]
      const n = Math.max(Math.ceil((limit - start) / delta), 0)
      if (!Number.isFinite(n) || n > 1 << 24) throw nodeError(node, `range(${start}, ${limit}, ${delta}) is too long`)
      const data = Array.from({ length: n }, (_, i) => start + i * delta)
      const v = inputs[0]
      return one(v !== undefined && (isHost(v) ? v.dtype : v.dtype) === 'float32' ? tf.tensor1d(data) : host(data))
    },
  },
  Pad: {
    check: (node) => {
      const mode = attrString(node, 'mode', 'constant')
      return mode === 'constant' || mode === 'reflect' || mode === 'edge' ? undefined : `mode ${JSON.stringify(mode)} is not supported`
    },
    run: (node, inputs, ctx) => {
      const x = input(node, inputs, 0)
      const r = x.rank
      const pads = ctx.opset < 11 ? attrInts(node, 'pads') : intsOf(node, inputs, 1)
      if (pads === undefined) throw nodeError(node, 'pads are required')
      const axes = (ctx.opset >= 18 ? intsOf(node, inputs, 3) : undefined)?.map((a) => axisOf(node, a, r)) ?? x.shape.map((_, i) => i)
      if (pads.length !== 2 * axes.length) throw nodeError(node, `pads has ${pads.length} values, expected ${2 * axes.length}`)
      const pairs: Array<[number, number]> = x.shape.map(() => [0, 0])
      axes.forEach((a, i) => (pairs[a] = [pads[i]!, pads[i + axes.length]!]))
      const value = ctx.opset < 11 ? attrFloat(node, 'value', 0) : (scalarOf(inputs[2]) ?? 0)
      const grow = pairs.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)] as [number, number])
      const mode = attrString(node, 'mode', 'constant')
      let y = x
      if (grow.some(([a, b]) => a > 0 || b > 0)) {
        if (mode === 'constant') y = tf.pad(x, grow, value)
        else if (mode === 'reflect') y = tf.mirrorPad(x, grow, 'reflect')
        else
          y = grow.reduce((v, [a, b], axis) => {
            if (a === 0 && b === 0) return v
            const edge = (at: number, n: number) => tf.concat(Array.from({ length: n }, () => tf.slice(v, v.shape.map((_, k) => (k === axis ? at : 0)), v.shape.map((d, k) => (k === axis ? 1 : d)))), axis)
            return tf.concat([...(a > 0 ? [edge(0, a)] : []), v, ...(b > 0 ? [edge(v.shape[axis]! - 1, b)] : [])], axis)
          }, x)
      }
      // negative pads crop
      if (pairs.some(([a, b]) => a < 0 || b < 0))
        y = tf.slice(y, pairs.map(([a]) => Math.max(-a, 0)), y.shape.map((d, i) => d - Math.max(-pairs[i]![0], 0) - Math.max(-pairs[i]![1], 0)))
      return one(y)
    },
  },
}
