/**
 * What a model folder's model.json says about its model besides the weights: the class names, the clip
 * size it takes, the per-channel normalisation it expects and where it came from. Each field is
 * checked with a message naming it; a folder written before these fields existed (only `classes` and
 * `clip`) reads with `mean`, `std` and `source` absent.
 *
 * @since 0.3.0
 */
import { InputError } from '../../core/errors.js'
import { show } from '../manifest.js'

/** Frames, height and width of the clips a model takes. */
export interface ClipSize {
  readonly T: number
  readonly H: number
  readonly W: number
}

/** Where a model folder came from (written by `multav import`). */
export interface Provenance {
  /** The imported file's name (its base name, not the path it had). */
  readonly file: string
  /** The imported file's format. */
  readonly format: 'onnx' | 'safetensors'
  /** SHA-256 of the imported file's bytes, lowercase hex. */
  readonly sha256: string
  /** The command that made the folder. */
  readonly command: string
  /** When, as an ISO 8601 date-time (UTC). */
  readonly date: string
  /** multav's version then. */
  readonly multav: string
}

/** The kinds of model a folder holds: multav's 3D ResNet-18 (weight shards) or an ONNX graph. */
export const MODEL_KINDS = ['r3d18', 'onnx'] as const
export type ModelKind = (typeof MODEL_KINDS)[number]

/** A model folder's description, as `models.load` returns it. */
export interface ModelInfo {
  readonly kind: ModelKind
  /** The class names, in the order of the logits (their count is the number of classes). */
  readonly classes: ReadonlyArray<string>
  /** The clip size the model takes; null for an old folder that does not record it. */
  readonly clip: ClipSize | null
  /**
   * Per-channel mean and standard deviation: the model computes `(x − mean) / std` from its [0, 1]
   * input itself. Null when the model takes [0, 1] clips as they are.
   */
  readonly mean: ReadonlyArray<number> | null
  readonly std: ReadonlyArray<number> | null
  /** Where the folder came from (`multav import`); null for a folder `multav train` wrote. */
  readonly source: Provenance | null
  /** model.json's `config` as written (e.g. `testAccuracy`, the training command). */
  readonly config: Readonly<Record<string, unknown>>
}

/** An own field of a JSON object (never one from its prototype: `__proto__` or `toString` is absent). */
export const fieldOf = (o: Readonly<Record<string, unknown>>, name: string): unknown => (Object.hasOwn(o, name) ? o[name] : undefined)

/** The most classes a folder may name (ImageNet-21k has 21 841; a label file is read whole). */
export const MAX_CLASSES = 100_000
/** The longest class name, in characters. */
export const MAX_NAME = 200

/**
 * config.classes: at least two distinct non-empty names (one class leaves an untargeted attack nothing
 * to move a clip to, and its accuracy is 100% by construction). A label file read by `multav import`
 * is held to more (`nameProblem`); model.json keeps the rules folders were written under.
 */
export const checkClasses = (classes: unknown, where: string): ReadonlyArray<string> => {
  if (!Array.isArray(classes)) throw new InputError(`${where}: config.classes must list the class names, got ${show(classes ?? null)}`)
  if (classes.length < 2)
    throw new InputError(`${where}: config.classes lists ${classes.length} class${classes.length === 1 ? '' : 'es'}, expected at least two (an attack needs another class to move a clip to)`)
  if (classes.length > MAX_CLASSES) throw new InputError(`${where}: config.classes lists ${classes.length} classes, more than the ${MAX_CLASSES} multav reads`)
  const first = new Map<string, number>()
  classes.forEach((c: unknown, i) => {
    if (typeof c !== 'string' || c === '') throw new InputError(`${where}: config.classes[${i}] must be a non-empty string, got ${show(c)}`)
    const earlier = first.get(c)
    if (earlier !== undefined) throw new InputError(`${where}: config.classes[${i}] ${show(c)} repeats config.classes[${earlier}]`)
    first.set(c, i)
  })
  return classes as string[]
}

/** What is wrong with a class name from a label file, if anything. */
export const nameProblem = (c: string): string | undefined => {
  if (c === '') return 'is empty'
  if (c.length > MAX_NAME) return `is ${c.length} characters long, more than ${MAX_NAME}`
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(c)) return `${show(c)} holds a control character (a NUL byte, a tab, an escape)`
  return undefined
}

/** config.clip, when given: `{ T, H, W }`, positive integers (the clip size the model takes). */
export const checkClip = (clip: unknown, where: string): ClipSize | undefined => {
  if (clip === undefined || clip === null) return undefined
  const size = (typeof clip === 'object' && !Array.isArray(clip) ? clip : {}) as Record<string, unknown>
  const dims = ['T', 'H', 'W'].map((k) => fieldOf(size, k))
  if (!dims.every((d) => Number.isSafeInteger(d) && (d as number) >= 1 && (d as number) <= 65_536))
    throw new InputError(`${where}: config.clip must be {T, H, W} with positive integers, got ${show(clip)}`)
  const [T, H, W] = dims as [number, number, number]
  return { T, H, W }
}

/**
 * A per-channel statistic (config.mean, config.std, or an option): `channels` finite numbers, and for
 * a standard deviation each > 0. Undefined or null when not given.
 */
export const checkStat = (value: unknown, name: string, o: { readonly channels: number; readonly positive: boolean; readonly where: string }): ReadonlyArray<number> | undefined => {
  if (value === undefined || value === null) return undefined
  const what = `${o.channels} finite numbers${o.positive ? ' > 0' : ''} (one per channel)`
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number')) throw new InputError(`${o.where}: ${name} must be ${what}, got ${show(value)}`)
  if (value.length !== o.channels) throw new InputError(`${o.where}: ${name} has ${value.length} value${value.length === 1 ? '' : 's'}, the model takes ${o.channels} channels`)
  const bad = value.findIndex((v: number) => !Number.isFinite(v) || (o.positive && v <= 0))
  if (bad >= 0) throw new InputError(`${o.where}: ${name}[${bad}] is ${value[bad]}; it must be ${o.positive ? 'a finite number > 0 (a standard deviation)' : 'a finite number'}`)
  return value as number[]
}

/** config.source, when given: what `multav import` records. */
export const checkSource = (source: unknown, where: string): Provenance | undefined => {
  if (source === undefined || source === null) return undefined
  if (typeof source !== 'object' || Array.isArray(source)) throw new InputError(`${where}: config.source must be an object saying where the model came from, got ${show(source)}`)
  const s = source as Record<string, unknown>
  for (const key of ['file', 'sha256', 'command', 'date', 'multav'])
    if (typeof fieldOf(s, key) !== 'string') throw new InputError(`${where}: config.source.${key} must be a string, got ${show(fieldOf(s, key) ?? null)}`)
  const format = fieldOf(s, 'format')
  if (format !== 'onnx' && format !== 'safetensors') throw new InputError(`${where}: config.source.format must be "onnx" or "safetensors", got ${show(format ?? null)}`)
  if (!/^[0-9a-f]{64}$/.test(s['sha256'] as string)) throw new InputError(`${where}: config.source.sha256 must be 64 lowercase hex digits, got ${show(s['sha256'])}`)
  return { file: s['file'] as string, format, sha256: s['sha256'] as string, command: s['command'] as string, date: s['date'] as string, multav: s['multav'] as string }
}

/** The fields every kind of folder shares, checked: classes, clip, mean/std (3 channels), source. */
export const checkCommon = (config: Readonly<Record<string, unknown>>, where: string, o: { readonly clipRequired: boolean; readonly kind: ModelKind }): Omit<ModelInfo, 'config'> => {
  const classes = checkClasses(fieldOf(config, 'classes'), where)
  const clip = checkClip(fieldOf(config, 'clip'), where)
  if (clip === undefined && o.clipRequired) throw new InputError(`${where}: config.clip must say the clip size the model takes ({T, H, W})`)
  const mean = checkStat(fieldOf(config, 'mean'), 'config.mean', { channels: 3, positive: false, where })
  const std = checkStat(fieldOf(config, 'std'), 'config.std', { channels: 3, positive: true, where })
  const source = checkSource(fieldOf(config, 'source'), where)
  return { kind: o.kind, classes, clip: clip ?? null, mean: mean ?? null, std: std ?? null, source: source ?? null }
}
