/**
 * The ε and α sliders: where a spec's budget and step numbers are, the range a slider spans, and the
 * spec with them rewritten. ε is every `eps` of the spec (a ball's or ratio bound's radius and the
 * random start's, which go together), α every `alpha` (a step size or a step factor). Pure (no DOM):
 * test/playground.test.ts checks it.
 */

/** A number of the spec a slider sets: every place it appears, and how it reads. */
export interface Knob {
  /** JSON paths of each occurrence, as arrays of keys and indices. */
  readonly paths: ReadonlyArray<ReadonlyArray<string | number>>
  /** The first occurrence's value (the slider's position). */
  readonly value: number
  /**
   * 'factor': a multiplicative number > 1 (a ratio bound, a step factor α^sign(g)); 'size': an
   * additive one > 0 (a radius, a step size).
   */
  readonly kind: 'factor' | 'size'
  /** 'absolute' or 'rms' (units of the first occurrence), for the label. */
  readonly units: string
}

export interface Knobs {
  readonly eps?: Knob
  readonly alpha?: Knob
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

const FACTOR_TAGS = new Set(['ProjectRatio', 'Exponent'])

/** The ε and α numbers of an encoded spec (undefined where it has none). */
export const knobsOf = (spec: unknown): Knobs => {
  const found: Record<'eps' | 'alpha', { paths: Array<Array<string | number>>; value: number; kind: Knob['kind']; units: string } | undefined> = { eps: undefined, alpha: undefined }
  const walk = (u: unknown, path: Array<string | number>) => {
    if (Array.isArray(u)) return u.forEach((v, i) => walk(v, [...path, i]))
    if (typeof u !== 'object' || u === null) return
    const o = u as Record<string, unknown>
    for (const name of ['eps', 'alpha'] as const) {
      const v = o[name]
      if (typeof v !== 'number' || !Number.isFinite(v)) continue
      const entry = (found[name] ??= { paths: [], value: v, kind: FACTOR_TAGS.has(String(o['_tag'])) ? 'factor' : 'size', units: typeof o['units'] === 'string' ? o['units'] : 'absolute' })
      entry.paths.push([...path, name])
    }
    for (const [k, v] of Object.entries(o)) if (typeof v === 'object') walk(v, [...path, k])
  }
  walk(spec, [])
  return { ...(found.eps ? { eps: found.eps } : {}), ...(found.alpha ? { alpha: found.alpha } : {}) }
}

/** Steps of a slider between its ends. */
export const SLIDER_STEPS = 200

/**
 * A slider's range for a knob at `value` (its default): a factor from just above 1 to 1 + 4·(v − 1),
 * a size from just above 0 to 4·v; the default sits on a step (step 50 of 200).
 */
export const rangeOf = (knob: Pick<Knob, 'kind' | 'value'>): { readonly min: number; readonly max: number; readonly step: number } => {
  const origin = knob.kind === 'factor' ? 1 : 0
  const span = 4 * Math.max(Math.abs(knob.value - origin), knob.kind === 'factor' ? 1e-3 : 1e-6)
  const step = span / SLIDER_STEPS
  return { min: origin + step, max: origin + span, step }
}

/** The slider position `k` (1..SLIDER_STEPS) as a value: origin + k·step, rounded to 6 significant digits unless it is the default. */
export const valueAt = (knob: Pick<Knob, 'kind' | 'value'>, k: number): number => {
  const { step } = rangeOf(knob)
  const origin = knob.kind === 'factor' ? 1 : 0
  const v = origin + k * step
  return Math.abs(v - knob.value) <= step * 1e-9 ? knob.value : Number(v.toPrecision(6))
}

/** The slider position nearest to `v` (clamped to the slider). */
export const positionOf = (knob: Pick<Knob, 'kind' | 'value'>, v: number): number => {
  const { step } = rangeOf(knob)
  const origin = knob.kind === 'factor' ? 1 : 0
  return Math.max(1, Math.min(SLIDER_STEPS, Math.round((v - origin) / step)))
}

/** `spec` (a JSON value) with every path of `knob` set to `value`: a new value, the input untouched. */
export const withKnob = (spec: unknown, knob: Knob, value: number): unknown => {
  const copy = JSON.parse(JSON.stringify(spec)) as Json
  for (const path of knob.paths) {
    let at = copy as Record<string | number, Json>
    for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, Json>
    at[path[path.length - 1]!] = value
  }
  return copy
}

/** A knob's value for a label: an absolute L∞ size also in /255 units. */
export const showKnob = (knob: Pick<Knob, 'kind' | 'units'>, v: number): string =>
  knob.kind === 'size' && knob.units === 'absolute' && v < 1 ? `${Number(v.toPrecision(4))} (${(v * 255).toFixed(2)}/255)` : `${Number(v.toPrecision(6))}${knob.units === 'rms' ? ' rms' : ''}`
