/**
 * `multav check`: the testing kit's properties (`multav/testing`) run on one attack with fast-check,
 * reported rather than thrown. Each property prints one line; a failure prints its shrunk
 * counterexample (summarised, never the whole clip), the error and the seed and path that replay it.
 *
 * Which properties apply is read off the attack and its certificate:
 * - `respectsCertificate` and `staysInRange`: always;
 * - `zeroIsFixed`: when the certificate says zero pixels are a fixed point;
 * - `signalDependent`: when every step multiplies by α^d with d a sign or a normalised direction, the
 *   start is clean or a ratio start, the constraints are ratio projections and clips that cannot act
 *   on clips in [0, maxPixel] (maxPixel = hi / the largest ratio x'/x any iterate can reach), and the
 *   regions fit every clip size (the property draws its own).
 *
 * @example
 * await initBackend('wasm')
 * const report = await runCheck(attacks.multLinf(), { numRuns: 50, seed: 0, log: console.log })
 * report.ok // every applicable property held on 50 generated clips and models
 *
 * @since 0.1.0
 */
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import { absurd } from 'fp-ts/lib/function.js'
import { BUILT_IN } from '../dsl/attacks.js'
import { validateAttack } from '../dsl/codec.js'
import { scaleFree } from '../dsl/constructors.js'
import { fitsClip } from '../dsl/fit.js'
import type { Attack, Direction, Region } from '../dsl/types.js'
import { certify, type Certificate } from '../interpreters/certify.js'
import type { ClipData } from '../core/clip.js'
import type { ClipConstraints, LinearModel } from '../testing/arbitraries.js'
import { respectsCertificate, signalDependent, staysInRange, zeroIsFixed } from '../testing/properties.js'

export type Shape = readonly [number, number, number, number, number]

export interface CheckOptions {
  /** Generated cases per property (default 50). */
  readonly numRuns?: number
  /** fast-check's seed (default 0: a check is reproducible unless told otherwise). */
  readonly seed?: number
  /** A fixed clip shape `[N, T, H, W, C]` (default: fitted to the attack's regions, else random small sizes). */
  readonly shape?: Shape
  /** How long to shrink a failure before reporting the smallest counterexample found so far (default 30 s). */
  readonly shrinkTimeLimitMs?: number
  readonly log: (line: string) => void
}

export interface CheckFailure {
  /** The kit's property (`respectsCertificate`, …). */
  readonly property: string
  /** The shrunk counterexample, summarised. */
  readonly counterexample: string
  readonly error: string
  /** fast-check's seed and counterexample path: `fc.assert(property, { seed, path, endOnFailure: true })` replays it. */
  readonly seed: number
  readonly path: string
}

export interface CheckReport {
  /** True when every property that applies held. */
  readonly ok: boolean
  readonly failures: ReadonlyArray<CheckFailure>
}

/** A fast-check property over any arguments, sync or async. */
export type AnyProperty = fc.IRawProperty<unknown[], boolean>

/** A property to run, or one that does not apply to the attack (and why). */
export type CheckProperty =
  | {
      readonly _tag: 'Run'
      /** The kit's name for it. */
      readonly name: string
      /** What it checks, in words. */
      readonly title: string
      readonly property: AnyProperty
      /** The kit call that builds the same property, for replay instructions. */
      readonly replay: string
      /** Said after a failure, when something already explains it. */
      readonly hint?: string
    }
  | { readonly _tag: 'Skip'; readonly name: string; readonly title: string; readonly reason: string }

const NAMES = Object.keys(BUILT_IN).join(', ')

export const CHECK_USAGE = `multav check <spec.json | ${NAMES}> [--runs 50] [--seed 0] [--backend …]
    property-test the attack with fast-check: run it on generated clips (with exact zeros and ones)
    against small linear models and check that its output respects its certificate
    (verify(certify(a)) holds: range, balls, ratio bounds, zero fixed point, support) and stays in
    [0, 1]; that zero pixels stay zero with no NaN/Inf where the certificate says zeros are fixed
    (multiplicative attacks); and that attack(c·x) = c·attack(x) where the attack is multiplicative
    with sign or normalised directions. Clips fit the attack's regions. --runs cases per property;
    --seed makes the run reproducible (same seed, same cases). A failure prints its shrunk
    counterexample, the error, and the seed and path that replay it with multav/testing.
    Exit codes: 0 every property holds, 1 a property failed (with a shrunk counterexample),
    2 bad input (an unreadable or invalid spec, a bad option).`

// -------------------------------------------------------------------------------------------------
// clips that fit the attack
// -------------------------------------------------------------------------------------------------

/** Every region the attack uses: its start's and its directions' masks. */
export const attackRegions = (attack: Attack): ReadonlyArray<Region> => {
  const inDirection = (d: Direction): Region[] => {
    switch (d._tag) {
      case 'Gradient':
        return []
      case 'Sign':
      case 'Normalize':
        return inDirection(d.of)
      case 'MaskRegion':
        return [d.region, ...inDirection(d.of)]
      default:
        return absurd(d)
    }
  }
  const init = attack.init._tag === 'Clean' || attack.init.region === undefined ? [] : [attack.init.region]
  const steps = attack.body.flatMap((s) => inDirection(s.update._tag === 'Add' ? s.update.offset.of : s.update.factor.of))
  return [...init, ...steps]
}

/** The smallest frames (T ≥ 2) that every region fits: frame indices, boxes, rectangles, rings, pixel counts. */
export const fittingFrames = (regions: ReadonlyArray<Region>): { readonly T: number; readonly H: number; readonly W: number } => {
  let [T, H, W, pixels] = [2, 1, 1, 0]
  const visit = (r: Region): void => {
    switch (r._tag) {
      case 'Frames':
        T = Math.max(T, ...r.indices.map((i) => i + 1))
        return
      case 'Box':
        ;[H, W] = [Math.max(H, r.top + r.height), Math.max(W, r.left + r.width)]
        return
      case 'Rect':
      case 'SearchedRect':
        ;[H, W] = [Math.max(H, r.height), Math.max(W, r.width)]
        return
      case 'Ring':
        ;[H, W] = [Math.max(H, 2 * r.width), Math.max(W, 2 * r.width)]
        return
      case 'Pixels':
        pixels = Math.max(pixels, r.perFrame)
        return
      case 'Union':
      case 'Intersection':
        return r.regions.forEach(visit)
      case 'Complement':
        return visit(r.of)
      default:
        return absurd(r)
    }
  }
  regions.forEach(visit)
  if (H * W < pixels) {
    H = Math.max(H, Math.ceil(Math.sqrt(pixels)))
    W = Math.max(W, Math.ceil(pixels / H))
  }
  return { T, H, W }
}

/** The classes of the kit's linear models (`linearModelArb`), which a targeted attack must target among. */
const LINEAR_MODEL_CLASSES = 2

const isShape = (s: unknown): s is Shape =>
  Array.isArray(s) && s.length === 5 && s.every((d) => Number.isInteger(d) && d >= 1)

/**
 * The clips to generate for `attack`: `shape` when given (it must fit the regions), else the smallest
 * 2-sample shape that fits its regions, else the kit's random small sizes. `text` says which.
 */
export const clipsFor = (attack: Attack, shape?: Shape): { readonly clips: ClipConstraints; readonly text: string } => {
  if (shape !== undefined) {
    if (!isShape(shape)) throw new Error(`runCheck: shape must be [N, T, H, W, C], five integers ≥ 1, got ${JSON.stringify(shape)}`)
    const [, T, H, W] = shape
    const problems = validateAttack(attack, { clip: { T, H, W } })
    if (problems.length > 0) throw new Error(`runCheck: the attack's regions do not fit clips [${shape.join(', ')}]:\n  ${problems.join('\n  ')}`)
    return { clips: { shape }, text: `clips [${shape.join(', ')}]` }
  }
  const regions = attackRegions(attack)
  if (regions.length === 0) return { clips: {}, text: 'clips of random sizes up to [2, 3, 4, 4, 3]' }
  const { T, H, W } = fittingFrames(regions)
  const fitted: Shape = [2, T, H, W, 3]
  return { clips: { shape: fitted }, text: `clips [${fitted.join(', ')}] (fitted to the attack's regions)` }
}

// -------------------------------------------------------------------------------------------------
// which properties apply
// -------------------------------------------------------------------------------------------------

/**
 * The most values per sample the clips of `signalDependent` have: it draws with the kit's default
 * sizes (`clipArb`: T ≤ 3, H ≤ 4, W ≤ 4, C = 3). rms parameters are read at this N, their largest.
 */
const SIGNAL_MAX_VALUES = 3 * 4 * 4 * 3

/** Clips are drawn in [0, maxPixel]: the kit's default, unless a large ratio asks for less. */
const SIGNAL_DEFAULT_MAX_PIXEL = 0.5

/**
 * Whether attack(c·x) = c·attack(x) must hold on the linear models' clips in [0, maxPixel]: the
 * maxPixel below which no clip can act, or why it does not apply.
 */
export const signalDependence = (attack: Attack): { readonly maxPixel: number } | { readonly reason: string } => {
  if (validateAttack(attack, { clip: { T: 1, H: 1, W: 1 } }).length > 0)
    return { reason: "its regions do not fit every clip size, and signalDependent draws clips of its own sizes" }
  if (attack.init._tag !== 'Clean' && attack.init._tag !== 'UniformRatio')
    return { reason: `its ${attack.init._tag} start does not scale with the clip` }
  // The largest x'/x any iterate reaches (before its step's constraints act), by steps.
  let ratio = attack.init._tag === 'UniformRatio' ? attack.init.eps : 1
  let peak = ratio
  // the ratio start clips to [0, 1]
  let hi = attack.init._tag === 'UniformRatio' ? 1 : Infinity
  const count = attack.body.length
  for (let i = 0; i < attack.steps; i++) {
    const step = attack.body[i % count]!
    const label = count === 1 ? 'the step' : `step ${i % count}`
    if (step.update._tag === 'Add') return { reason: `${label} adds an offset, which does not scale with the clip` }
    const { alpha, units, of } = step.update.factor
    if (!scaleFree(of)) return { reason: `${label}'s factor follows the raw gradient, whose size depends on the clip` }
    ratio *= Math.exp(Math.abs(Math.log(alpha)) * (units === 'rms' ? Math.sqrt(SIGNAL_MAX_VALUES) : 1))
    peak = Math.max(peak, ratio)
    for (const c of step.constraints)
      switch (c._tag) {
        case 'ProjectBall':
          return { reason: `${label} projects onto an additive ball, which does not scale with the clip` }
        case 'ProjectRatio':
          if (c.norm === 'linf') ratio = Math.min(ratio, c.eps)
          else if (c.reading === 'literal') ratio = Infinity // may scale x'/x up: no per-value bound
          break
        case 'Clip':
          if (c.lo > 0 || c.hi <= 0) return { reason: `${label}'s clip to [${c.lo}, ${c.hi}] moves the clip's small values` }
          hi = Math.min(hi, c.hi)
          break
        default:
          return absurd(c)
      }
    peak = Math.max(peak, ratio)
  }
  if (!Number.isFinite(peak)) return { reason: "x'/x has no per-value bound, so its clip may act on any clip" }
  const maxPixel = Math.min(SIGNAL_DEFAULT_MAX_PIXEL, hi / peak)
  if (!(maxPixel >= 1e-6)) return { reason: `x'/x may reach ${peak.toPrecision(3)}, so its clip acts on all but clips below ${maxPixel.toPrecision(2)}` }
  return { maxPixel }
}

const clipsText = (c: ClipConstraints): string =>
  c.shape ? `{ shape: [${c.shape.join(', ')}] }` : '{}'

/** The kit's properties for `attack` on `clips`, or why each does not apply. */
export const checkProperties = (attack: Attack, clips: ClipConstraints, certificate: Certificate = certify(attack)): ReadonlyArray<CheckProperty> => {
  const args = `attack, ${clipsText(clips)}`
  const reasonOf = (prefix: string) => certificate.reasons.find((r) => r.startsWith(prefix))
  const rangeHint = certificate.range === null || certificate.range.lo < 0 || certificate.range.hi > 1
    ? `its certificate promises no range within [0, 1]${reasonOf('no range') ? ` (${reasonOf('no range')})` : ''}`
    : undefined
  const signal = signalDependence(attack)
  return [
    {
      _tag: 'Run',
      name: 'respectsCertificate',
      title: 'respects its certificate',
      property: respectsCertificate(attack, clips),
      replay: `respectsCertificate(${args})`,
    },
    {
      _tag: 'Run',
      name: 'staysInRange',
      title: "stays in [0, 1]",
      property: staysInRange(attack, clips),
      replay: `staysInRange(${args})`,
      ...(rangeHint === undefined ? {} : { hint: rangeHint }),
    },
    certificate.zeroFixed
      ? {
          _tag: 'Run',
          name: 'zeroIsFixed',
          title: 'keeps zero pixels at zero, with no NaN/Inf',
          property: zeroIsFixed(attack, clips),
          replay: `zeroIsFixed(${args})`,
        }
      : {
          _tag: 'Skip',
          name: 'zeroIsFixed',
          title: 'keeps zero pixels at zero',
          reason: `its certificate does not fix zero pixels (${reasonOf('zero pixels may change') ?? 'zero pixels may change'})`,
        },
    'maxPixel' in signal
      ? {
          _tag: 'Run',
          name: 'signalDependent',
          title: `is signal-dependent: attack(c·x) = c·attack(x), clips in [0, ${Number(signal.maxPixel.toPrecision(3))}]`,
          property: signalDependent(attack, { maxPixel: signal.maxPixel }),
          replay: `signalDependent(attack, { maxPixel: ${signal.maxPixel} })`,
        }
      : { _tag: 'Skip', name: 'signalDependent', title: 'is signal-dependent', reason: signal.reason },
  ]
}

// -------------------------------------------------------------------------------------------------
// counterexamples, compactly
// -------------------------------------------------------------------------------------------------

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

const errorText = (e: unknown): string =>
  e === null || e === undefined ? 'the property returned false' : e instanceof Error ? e.message : String(e)

const indent = (text: string, by: string) => text.split('\n').join(`\n${by}`)

// -------------------------------------------------------------------------------------------------
// running
// -------------------------------------------------------------------------------------------------

const checkNumbers = (numRuns: number, seed: number, shrinkTimeLimitMs: number): void => {
  if (!(Number.isInteger(numRuns) && numRuns >= 1)) throw new Error(`runCheck: numRuns must be an integer ≥ 1, got ${numRuns}`)
  if (!Number.isSafeInteger(seed)) throw new Error(`runCheck: seed must be an integer, got ${seed}`)
  if (!(shrinkTimeLimitMs > 0)) throw new Error(`runCheck: shrinkTimeLimitMs must be > 0, got ${shrinkTimeLimitMs}`)
}

const plural = (n: number, what: string, many = `${what}s`) => `${n} ${n === 1 ? what : many}`
const propertiesText = (n: number) => plural(n, 'property', 'properties')

/**
 * Runs `properties` with fast-check (`fc.check`: a failure is reported, not thrown), one line each,
 * then a summary line. A failing property is found with shrinking off, then shrunk from its path for up
 * to `shrinkTimeLimitMs`; the report gives the smallest counterexample found and its seed and path.
 */
export const runProperties = async (
  properties: ReadonlyArray<CheckProperty>,
  o: Omit<CheckOptions, 'shape'>,
): Promise<CheckReport> => {
  const numRuns = o.numRuns ?? 50
  const seed = o.seed ?? 0
  const shrinkTimeLimitMs = o.shrinkTimeLimitMs ?? 30_000
  checkNumbers(numRuns, seed, shrinkTimeLimitMs)
  const failures: CheckFailure[] = []
  const skipped: string[] = []
  for (const p of properties) {
    if (p._tag === 'Skip') {
      skipped.push(p.name)
      o.log(`– ${p.title}: not applicable, ${p.reason}`)
      continue
    }
    const found = await fc.check(p.property, { numRuns, seed, endOnFailure: true })
    if (!found.failed) {
      o.log(`✓ ${p.title} (${plural(found.numRuns, 'run')}${found.interrupted ? ', interrupted' : ''})`)
      continue
    }
    const shrunk = await fc.check(p.property, { seed, path: found.counterexamplePath ?? '', interruptAfterTimeLimit: shrinkTimeLimitMs })
    // A property that passes on replay (flaky) keeps the unshrunk failure.
    const r = shrunk.failed ? shrunk : found
    const path = r.counterexamplePath ?? ''
    const failure: CheckFailure = {
      property: p.name,
      counterexample: (r.counterexample ?? []).map(renderValue).join('; '),
      error: errorText(r.errorInstance),
      seed,
      path,
    }
    failures.push(failure)
    const stopped = shrunk.interrupted ? ` (stopped after ${shrinkTimeLimitMs / 1000} s: it may shrink further)` : ''
    o.log(
      [
        `✗ ${p.title} (${p.name}): failed on run ${found.numRuns} of ${numRuns}, shrunk ${plural(r.numShrinks, 'time')}${stopped}`,
        `    error: ${indent(failure.error, '      ')}`,
        `    counterexample: ${failure.counterexample}`,
        ...(p.hint === undefined ? [] : [`    note: ${p.hint}`]),
        `    replay: fc.assert(${p.replay}, { seed: ${seed}, path: "${path}", endOnFailure: true }) with multav/testing,`,
        `            or run this check again with seed ${seed}`,
      ].join('\n'),
    )
  }
  const ran = properties.length - skipped.length
  o.log(
    failures.length === 0
      ? `${ran === 1 ? 'the 1 property holds' : `all ${propertiesText(ran)} hold`}${skipped.length > 0 ? ` (not applicable: ${skipped.join(', ')})` : ''}`
      : `${failures.length} of ${propertiesText(ran)} failed: ${failures.map((f) => f.property).join(', ')}`,
  )
  return { ok: failures.length === 0, failures }
}

/**
 * Checks `attack` with the testing kit's properties (see the module comment for which apply), on clips
 * that fit its regions, printing a line per property through `o.log`. Throws on bad input (options, an
 * invalid attack, no backend); a property that fails is reported, with `ok` false.
 */
export const runCheck = async (attack: Attack, o: CheckOptions): Promise<CheckReport> => {
  checkNumbers(o.numRuns ?? 50, o.seed ?? 0, o.shrinkTimeLimitMs ?? 30_000)
  if (typeof o.log !== 'function') throw new Error('runCheck: log must be a function (line: string) => void')
  const problems = validateAttack(attack)
  if (problems.length > 0) throw new Error(`runCheck: invalid attack:\n  ${problems.join('\n  ')}`)
  if (Object.keys(tf.engine().registryFactory).length === 0)
    throw new Error('runCheck: no TensorFlow.js backend is registered; call initBackend() first')
  const { clips, text } = clipsFor(attack, o.shape)
  // the clips fit the regions by construction; a target class may not fit the linear models
  const misfit = fitsClip(attack, fittingFrames(attackRegions(attack)), LINEAR_MODEL_CLASSES)
  if (misfit.length > 0) throw new Error(`runCheck: the attack cannot run on the check's ${LINEAR_MODEL_CLASSES}-class linear models: ${misfit.join('; ')}`)
  const properties = checkProperties(attack, clips)
  o.log(
    `checking ${attack.name} with fast-check on the ${tf.getBackend()} backend: ${o.numRuns ?? 50} runs per property, seed ${o.seed ?? 0}, ${text}, linear models`,
  )
  const { shape: _shape, ...rest } = o
  return runProperties(properties, rest)
}
