/**
 * Layouts between ops. ONNX is channels-first ([N, C, d…]); tfjs's convolutions and pools are
 * channels-last ([N, d…, C]). So Conv and the pools return channels-last values (value.ts,
 * `ChannelsLast`), element-wise ops run on them as they are, and a value is permuted back to ONNX's
 * layout only when a rule needs its axes (Reshape, Flatten, Concat, MatMul, …, and the graph output).
 * Each rule says what it takes (`OpRule.layout`):
 *
 * - 'onnx' (the default): every input in ONNX's layout; the graph permutes channels-last ones, once
 *   per value and call.
 * - 'pointwise': element-wise with numpy broadcasting. An output element depends only on the input
 *   elements at its position, so the op commutes with permuting the axes: when an input is
 *   channels-last, every input is given channels-last (a lower-rank one, e.g. a [C, 1, 1, 1] or
 *   scalar constant, first gets leading 1s up to the rank, then is permuted) and the outputs are
 *   channels-last. An input of higher rank than the channels-last ones (or channels-last inputs of
 *   different ranks) falls back to ONNX's layout.
 * - 'own': the rule takes values of either layout itself (Conv, pools, BatchNormalization read input
 *   0 with `lastOf`; Identity passes values through; Shape reads the ONNX shape every value carries).
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { channelsLast, isLast, permute, tensorOf, toLastPerm, type ChannelsLast, type Value } from './value.js'

export type RuleLayout = 'onnx' | 'pointwise' | 'own'

/** A channels-last value in ONNX's layout (the graph's per-call cache of `tensorOf`). */
export type ToOnnx = (v: ChannelsLast) => tf.Tensor

export interface Arranged {
  readonly inputs: ReadonlyArray<Value | undefined>
  /** Whether the rule runs channels-last: its tensor outputs are channels-last values. */
  readonly last: boolean
}

const onnxInputs = (inputs: ReadonlyArray<Value | undefined>, toOnnx: ToOnnx): ReadonlyArray<Value | undefined> =>
  inputs.map((v) => (isLast(v) ? toOnnx(v) : v))

/** `v` (ONNX layout, rank ≤ `rank`) as the channels-last operand of a broadcast at `rank`. */
const broadcastLast = (v: Value, rank: number): tf.Tensor => {
  if (isLast(v)) return v.tensor
  const t = tensorOf(v)
  if (t.rank <= 1 && t.size === 1) return t // a scalar broadcasts in any layout
  const aligned = t.rank === rank ? t : tf.reshape(t, [...Array.from({ length: rank - t.rank }, () => 1), ...t.shape])
  return permute(aligned, toLastPerm(rank))
}

/** The inputs as a rule of `layout` takes them. */
export const arrange = (layout: RuleLayout, inputs: ReadonlyArray<Value | undefined>, toOnnx: ToOnnx): Arranged => {
  if (layout === 'own' || !inputs.some(isLast)) return { inputs, last: false }
  if (layout === 'pointwise') {
    const ranks = inputs.filter(isLast).map((v) => v.shape.length)
    const rank = ranks[0]!
    const fits = ranks.every((r) => r === rank) && inputs.every((v) => v === undefined || v.shape.length <= rank)
    if (fits) return { inputs: inputs.map((v) => (v === undefined ? undefined : broadcastLast(v, rank))), last: true }
  }
  return { inputs: onnxInputs(inputs, toOnnx), last: false }
}

/** The outputs of a rule that ran channels-last (`arrange`'s `last`): its tensors as channels-last values. */
export const outputsOf = (outputs: ReadonlyArray<Value>, last: boolean): ReadonlyArray<Value> =>
  last ? outputs.map((v) => (v instanceof tf.Tensor ? channelsLast(v) : v)) : outputs
