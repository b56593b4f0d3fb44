/**
 * The graph walk: checks every node before anything runs (one error listing each unsupported op type
 * with a node, then each rule's own checks), reads the initializers once, folds every node whose
 * inputs are all constants at load time (shape arithmetic on constant shapes, Constant nodes, weight
 * reshapes), and runs the rest in order on each call, inside one tf.tidy. Values stay channels-last
 * from a Conv or pool on, through element-wise ops, until a rule needs ONNX's layout (layout.ts).
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { InputError } from '../../core/errors.js'
import { describe, nodeOf, type Node } from './node.js'
import { OPS, SUPPORTED_OPS, type OpRule, type RunContext } from './ops/index.js'
import type { Parsed } from './parse.js'
import { valueOf } from './tensors.js'
import { arrange, outputsOf, type ToOnnx } from './layout.js'
import { isHost, isLast, tensorOf, toHost, type ChannelsLast, type Host, type Value } from './value.js'

export interface Compiled {
  readonly inputName: string
  readonly outputName: string
  /** The input's declared dims (null where symbolic or absent). */
  readonly inputDims: ReadonlyArray<number | null>
  readonly outputDims: ReadonlyArray<number | null> | undefined
  /** Op type → number of nodes. */
  readonly ops: Readonly<Record<string, number>>
  /** Nodes left to run per call (the others were folded at load time). */
  readonly runtimeNodes: number
  /** The graph output for input `x` (a tensor in the layout the graph takes, or its channels-last form). */
  readonly run: (x: tf.Tensor | ChannelsLast) => tf.Tensor
  readonly dispose: () => void
}

export interface GraphOptions {
  readonly input?: string
  readonly output?: string | number
}

const list = (names: ReadonlyArray<string>): string => names.map((n) => JSON.stringify(n)).join(', ')

/** The unsupported op types, each with the first node that uses it; [] when all are supported. */
export const unsupported = (nodes: ReadonlyArray<Node>): string[] => {
  const seen = new Map<string, Node>()
  for (const n of nodes) {
    const key = n.domain === '' || n.domain === 'ai.onnx' ? n.opType : `${n.domain}:${n.opType}`
    const ok = (n.domain === '' || n.domain === 'ai.onnx') && Object.hasOwn(OPS, n.opType)
    if (!ok && !seen.has(key)) seen.set(key, n)
  }
  return [...seen].map(([key, n]) => `${key} (${describe(n).replace(/^\S+ /, '')})`)
}

const dimsOf = (v: { type?: { tensorType?: { shape?: { dim?: Array<{ dimValue?: unknown }> | null } | null } | null } | null } | undefined) => {
  const dims = v?.type?.tensorType?.shape?.dim
  if (!dims) return undefined
  return dims.map((d) => {
    const raw = d.dimValue as number | { toNumber(): number } | null | undefined
    const n = raw === null || raw === undefined ? 0 : typeof raw === 'number' ? raw : raw.toNumber()
    return n > 0 ? n : null
  })
}

export const compile = (parsed: Parsed, options: GraphOptions): Compiled => {
  const { graph, where, opset } = parsed
  const nodes = (graph.node ?? []).map(nodeOf)
  const missing = unsupported(nodes)
  if (missing.length > 0)
    throw new InputError(
      `${where}: ${missing.length} operator type${missing.length > 1 ? 's' : ''} multav does not support: ${missing.join(', ')} (multav runs ${SUPPORTED_OPS.join(', ')})`,
      missing,
    )
  const issues: string[] = []
  for (const n of nodes) {
    try {
      const problem = OPS[n.opType]!.check?.(n, opset)
      if (problem !== undefined) issues.push(`${describe(n)}: ${problem}`)
    } catch (e) {
      issues.push((e as Error).message)
    }
  }
  if (issues.length > 0) throw new InputError(`${where}: ${issues.length > 1 ? `${issues.length} problems: ` : ''}${issues.join('; ')}`, issues)

  const constants = new Map<string, Value>()
  const owned: tf.Tensor[] = []
  const memo = new Map<string, tf.Tensor | ReadonlyArray<tf.Tensor>>()
  const dispose = () => {
    tf.dispose(owned)
    for (const m of memo.values()) tf.dispose(m as tf.Tensor | tf.Tensor[])
    owned.length = 0
    memo.clear()
  }
  try {
    const src = { folder: parsed.folder, where }
    for (const [i, t] of (graph.initializer ?? []).entries()) {
      const name = t.name ?? ''
      if (constants.has(name)) throw new InputError(`${where}: initializer ${JSON.stringify(name)} is defined twice`)
      const v = valueOf(t, `initializer ${JSON.stringify(name || `#${i}`)}`, src)
      if (!isHost(v)) owned.push(v)
      constants.set(name, v)
    }
    const inputs = (graph.input ?? []).filter((v) => !constants.has(v.name ?? ''))
    const input =
      options.input !== undefined ? inputs.find((v) => v.name === options.input)
      : inputs.length === 1 ? inputs[0]
      : undefined
    if (input === undefined)
      throw new InputError(
        options.input !== undefined
          ? `${where}: no graph input named ${JSON.stringify(options.input)} (inputs: ${list(inputs.map((v) => v.name ?? ''))})`
          : `${where}: the graph has ${inputs.length} inputs (${list(inputs.map((v) => v.name ?? ''))}); name the clip's with options.input`,
      )
    const inputName = input.name ?? ''
    const outputs = graph.output ?? []
    const o = options.output ?? 0
    const output = typeof o === 'number' ? outputs[o] : outputs.find((v) => v.name === o)
    if (output === undefined)
      throw new InputError(`${where}: no graph output ${typeof o === 'number' ? `at index ${o}` : JSON.stringify(o)} (outputs: ${list(outputs.map((v) => v.name ?? ''))})`)
    const outputName = output.name ?? ''

    // order: every input must be produced before it is read
    const defined = new Set<string>([...constants.keys(), inputName])
    for (const n of nodes) {
      for (const i of n.inputs)
        if (i !== '' && !defined.has(i)) throw new InputError(`${where}: ${describe(n)} reads ${JSON.stringify(i)}, which no earlier node, initializer or input produces (the graph is not in topological order, or it takes another input)`)
      for (const out of n.outputs) if (out !== '') defined.add(out)
    }
    if (!defined.has(outputName)) throw new InputError(`${where}: no node produces the output ${JSON.stringify(outputName)}`)

    const keep = (key: string) => <T extends tf.Tensor | ReadonlyArray<tf.Tensor>>(k: string, make: () => T): T => {
      const full = `${key}:${k}`
      const hit = memo.get(full)
      if (hit !== undefined) return hit as T
      const made = tf.tidy(() => make() as unknown as tf.Tensor | tf.Tensor[]) as unknown as T
      tf.keep(made as unknown as tf.Tensor)
      if (Array.isArray(made)) for (const t of made as tf.Tensor[]) tf.keep(t)
      memo.set(full, made)
      return made
    }

    const exec = (n: Node, values: ReadonlyMap<string, Value>, toOnnx: ToOnnx): ReadonlyArray<Value> => {
      const rule: OpRule = OPS[n.opType]!
      const arranged = arrange(rule.layout ?? 'onnx', n.inputs.map((i) => (i === '' ? undefined : values.get(i))), toOnnx)
      const ins = arranged.inputs
      const ctx: RunContext = {
        opset,
        constant: n.inputs.map((i) => i !== '' && constants.has(i)),
        memo: keep(String(n.index)),
        activation: reluFused.has(n.index) ? 'relu' : 'linear',
      }
      const present = ins.filter((v) => v !== undefined)
      if (!rule.host && present.length > 0 && present.every(isHost)) {
        let hosts: Value[] = []
        tf.tidy(() => {
          hosts = rule.run(n, ins, ctx).map((v) => (isHost(v) ? v : toHost(tensorOf(v))))
        })
        return hosts
      }
      return outputsOf(rule.run(n, ins, ctx), arranged.last)
    }
    /** Channels-last values in ONNX's layout, each permuted once per call. */
    const onnxCache = (): ToOnnx => {
      const made = new Map<ChannelsLast, tf.Tensor>()
      return (v) => {
        const hit = made.get(v)
        if (hit !== undefined) return hit
        const t = tensorOf(v)
        made.set(v, t)
        return t
      }
    }
    const bind = (n: Node, outs: ReadonlyArray<Value>, into: Map<string, Value>) => {
      n.outputs.forEach((name, i) => {
        if (name === '') return
        const v = outs[i]
        if (v === undefined) throw new InputError(`${where}: ${describe(n)} has no output ${i} (${JSON.stringify(name)})`)
        into.set(name, v)
      })
    }

    // Conv → Relu, the Relu the conv output's only reader (and not a graph output): one node, the ReLU
    // fused into the convolution's kernel (ops.fusedConv3d, tf.fused.conv2d)
    const readers = new Map<string, number>()
    for (const n of nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1)
    const producer = new Map<string, Node>()
    for (const n of nodes) for (const o of n.outputs) producer.set(o, n)
    const reluFused = new Set<number>()
    const fusedAway = new Set<number>()
    const renamed = new Map<number, Node>()
    for (const n of nodes) {
      const from = n.opType === 'Relu' && n.inputs.length === 1 ? producer.get(n.inputs[0]!) : undefined
      if (from?.opType !== 'Conv' || from.outputs.length !== 1 || readers.get(from.outputs[0]!) !== 1 || from.outputs[0] === outputName) continue
      reluFused.add(from.index)
      fusedAway.add(n.index)
      renamed.set(from.index, { ...from, outputs: n.outputs })
    }
    const graphNodes = nodes.filter((n) => !fusedAway.has(n.index)).map((n) => renamed.get(n.index) ?? n)

    // fold what depends on constants only
    const runtime: Node[] = []
    for (const n of graphNodes) {
      const present = n.inputs.filter((i) => i !== '')
      const foldable = present.every((i) => constants.has(i)) && (present.length > 0 || n.opType === 'Constant')
      if (!foldable) {
        runtime.push(n)
        continue
      }
      const outs = tf.tidy(() => {
        // constants are kept in ONNX's layout
        const vs = exec(n, constants, onnxCache()).map((v): tf.Tensor | Host => (isLast(v) ? tensorOf(v) : v))
        const ts = vs.filter((v): v is tf.Tensor => !isHost(v))
        ts.forEach((t) => tf.keep(t))
        return vs as unknown as tf.Tensor[]
      }) as unknown as Array<tf.Tensor | Host>
      for (const v of outs) if (!isHost(v) && !owned.includes(v)) owned.push(v)
      bind(n, outs, constants)
    }

    const ops: Record<string, number> = {}
    for (const n of nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1

    const run = (x: tf.Tensor | ChannelsLast): tf.Tensor =>
      tf.tidy(() => {
        const values = new Map<string, Value>(constants)
        values.set(inputName, x)
        const toOnnx = onnxCache()
        for (const n of runtime) bind(n, exec(n, values, toOnnx), values)
        const out = values.get(outputName)!
        return isLast(out) ? toOnnx(out) : tensorOf(out)
      })
    return { inputName, outputName, inputDims: dimsOf(input) ?? [], outputDims: dimsOf(output), ops, runtimeNodes: runtime.length, run, dispose }
  } catch (e) {
    dispose()
    throw e
  }
}
