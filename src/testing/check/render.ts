/**
 * Counterexamples, compactly: clips, models and attacks summarised in a line, never dumped whole.
 *
 * @since 0.2.0
 */
import fc from 'fast-check'
import type { ClipData } from '../../core/clip.js'
import type { Attack } from '../../dsl/types.js'
import type { LinearModel } from '../arbitraries.js'

/** A float32 value in its shortest decimal (0.53, not 0.5299999713897705); others to 6 digits. */
const short = (v: number): string => {
  if (!Number.isFinite(v)) return String(v)
  for (let p = 1; p <= 9; p++) {
    const s = Number(v.toPrecision(p))
    if (Math.fround(s) === v || s === v) return String(s)
  }
  return String(Number(v.toPrecision(6)))
}

/** Runs of equal values, `0 ×12, 0.5, 1 ×3`; undefined when there are more than `maxRuns`. */
const runs = (values: ArrayLike<number>, maxRuns: number): string | undefined => {
  const out: string[] = []
  for (let i = 0; i < values.length; ) {
    let j = i + 1
    while (j < values.length && Object.is(values[j], values[i])) j++
    if (out.length === maxRuns) return undefined
    out.push(j - i === 1 ? short(values[i]!) : `${short(values[i]!)} ×${j - i}`)
    i = j
  }
  return out.join(', ')
}

/** Values as runs when few, else their range, zeros and ones, and how they begin. */
const summarise = (values: ArrayLike<number>): string => {
  const compact = runs(values, 16)
  if (compact !== undefined) return `[${compact}]`
  let [lo, hi, zeros, ones, bad] = [Infinity, -Infinity, 0, 0, 0]
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (!Number.isFinite(v)) bad++
    else [lo, hi] = [Math.min(lo, v), Math.max(hi, v)]
    if (v === 0) zeros++
    if (v === 1) ones++
  }
  const head = Array.from({ length: Math.min(6, values.length) }, (_, i) => short(values[i]!)).join(', ')
  return `${values.length} values in [${short(lo)}, ${short(hi)}] (${zeros} zeros, ${ones} ones${bad > 0 ? `, ${bad} not finite` : ''}), [${head}, …]`
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null
const isClip = (v: unknown): v is ClipData => isObject(v) && Array.isArray(v['shape']) && v['data'] instanceof Float32Array
const isModel = (v: unknown): v is LinearModel => isObject(v) && typeof v['D'] === 'number' && v['weights'] instanceof Float32Array
const isAttackValue = (v: unknown): v is Attack => isObject(v) && v['_tag'] === 'Attack'

/** One argument of a counterexample: clips, models and attacks summarised, anything else stringified (cut at 300 characters). */
export const renderValue = (v: unknown): string => {
  if (isAttackValue(v)) return `attack "${v.name}"`
  if (isClip(v)) return `clip [${v.shape.join(', ')}] = ${summarise(v.data)}`
  if (isModel(v)) {
    let [lo, hi] = [Infinity, -Infinity]
    v.weights.forEach((w) => ([lo, hi] = [Math.min(lo, w), Math.max(hi, w)]))
    return `linear model ${v.D} → ${v.K} classes, weights in [${short(lo)}, ${short(hi)}]`
  }
  if (isObject(v) && isClip(v['x']) && Array.isArray(v['labels']) && isModel(v['model']))
    return [renderValue(v['x']), `labels ${summarise(v['labels'] as number[])}`, renderValue(v['model'])].join('; ')
  if (typeof v === 'number') return short(v)
  if (v instanceof Float32Array || v instanceof Float64Array) return summarise(v)
  const text = fc.stringify(v)
  return text.length <= 300 ? text : `${text.slice(0, 300)}… (${text.length} characters)`
}
