/**
 * Running the kit's properties on one attack with fast-check, reported rather than thrown: one line per
 * property; a failure prints its shrunk counterexample (summarised), the error and the seed and path
 * that replay it.
 *
 * @example
 * await initBackend('wasm')
 * const report = await runCheck(attacks.multLinf(), { numRuns: 50, seed: 0, log: console.log })
 * report.ok // every applicable property held on 50 generated clips and models
 *
 * @since 0.2.0
 */
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import { InputError, UnavailableError } from '../../core/errors.js'
import { validateAttack } from '../../dsl/codec.js'
import { fitsClip } from '../../dsl/fit.js'
import { match } from '../../dsl/match.js'
import type { Attack } from '../../dsl/types.js'
import { clipsFor, LINEAR_MODEL_CLASSES, type Shape } from './clips.js'
import { checkProperties, type CheckProperty } from './properties.js'
import { attackRegions, fittingFrames } from './regions.js'
import { renderValue } from './render.js'

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

const errorText = (e: unknown): string => (e === null || e === undefined ? 'the property returned false' : e instanceof Error ? e.message : String(e))

const indent = (text: string, by: string) => text.split('\n').join(`\n${by}`)

const checkNumbers = (numRuns: number, seed: number, shrinkTimeLimitMs: number): void => {
  if (!(Number.isInteger(numRuns) && numRuns >= 1)) throw new InputError(`runCheck: numRuns must be an integer ≥ 1, got ${numRuns}`)
  if (!Number.isSafeInteger(seed)) throw new InputError(`runCheck: seed must be an integer, got ${seed}`)
  if (!(shrinkTimeLimitMs > 0)) throw new InputError(`runCheck: shrinkTimeLimitMs must be > 0, got ${shrinkTimeLimitMs}`)
}

const plural = (n: number, what: string, many = `${what}s`) => `${n} ${n === 1 ? what : many}`
const propertiesText = (n: number) => plural(n, 'property', 'properties')

type Settings = { readonly numRuns: number; readonly seed: number; readonly shrinkTimeLimitMs: number; readonly log: (line: string) => void }

/** Runs one property: a line when it holds or does not apply; a failure found, shrunk and reported when it fails. */
const runOne = match<CheckProperty, Promise<CheckFailure | undefined>, [Settings]>({
  Skip: async (p, o) => {
    o.log(`– ${p.title}: not applicable, ${p.reason}`)
    return undefined
  },
  Run: async (p, { numRuns, seed, shrinkTimeLimitMs, log }) => {
    const found = await fc.check(p.property, { numRuns, seed, endOnFailure: true })
    if (!found.failed) {
      log(`✓ ${p.title} (${plural(found.numRuns, 'run')}${found.interrupted ? ', interrupted' : ''})`)
      return undefined
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
    const stopped = shrunk.interrupted ? ` (stopped after ${shrinkTimeLimitMs / 1000} s: it may shrink further)` : ''
    log(
      [
        `✗ ${p.title} (${p.name}): failed on run ${found.numRuns} of ${numRuns}, shrunk ${plural(r.numShrinks, 'time')}${stopped}`,
        `    error: ${indent(failure.error, '      ')}`,
        `    counterexample: ${failure.counterexample}`,
        ...(p.hint === undefined ? [] : [`    note: ${p.hint}`]),
        `    replay: fc.assert(${p.replay}, { seed: ${seed}, path: "${path}", endOnFailure: true }) with multav/testing,`,
        `            or run this check again with seed ${seed}`,
      ].join('\n'),
    )
    return failure
  },
})

const isSkip = match<CheckProperty, boolean>({ Run: () => false, Skip: () => true })

/**
 * Runs `properties` with fast-check (`fc.check`: a failure is reported, not thrown), one line each,
 * then a summary line. A failing property is found with shrinking off, then shrunk from its path for up
 * to `shrinkTimeLimitMs`; the report gives the smallest counterexample found and its seed and path.
 */
export const runProperties = async (properties: ReadonlyArray<CheckProperty>, o: Omit<CheckOptions, 'shape'>): Promise<CheckReport> => {
  const settings: Settings = { numRuns: o.numRuns ?? 50, seed: o.seed ?? 0, shrinkTimeLimitMs: o.shrinkTimeLimitMs ?? 30_000, log: o.log }
  checkNumbers(settings.numRuns, settings.seed, settings.shrinkTimeLimitMs)
  const failures: CheckFailure[] = []
  for (const p of properties) {
    const failure = await runOne(p, settings)
    if (failure !== undefined) failures.push(failure)
  }
  const skipped = properties.filter(isSkip).map((p) => p.name)
  const ran = properties.length - skipped.length
  o.log(
    failures.length === 0
      ? `${ran === 1 ? 'the 1 property holds' : `all ${propertiesText(ran)} hold`}${skipped.length > 0 ? ` (not applicable: ${skipped.join(', ')})` : ''}`
      : `${failures.length} of ${propertiesText(ran)} failed: ${failures.map((f) => f.property).join(', ')}`,
  )
  return { ok: failures.length === 0, failures }
}

/**
 * Checks `attack` with the testing kit's properties (see properties.ts for which apply), on clips that
 * fit its regions and per-sample targets, printing a line per property through `o.log`. Throws an
 * InputError on bad input (options, an invalid attack, one that cannot run on the check's linear
 * models), an UnavailableError without a backend; a property that fails is reported, with `ok` false.
 */
export const runCheck = async (attack: Attack, o: CheckOptions): Promise<CheckReport> => {
  checkNumbers(o.numRuns ?? 50, o.seed ?? 0, o.shrinkTimeLimitMs ?? 30_000)
  if (typeof o.log !== 'function') throw new InputError('runCheck: log must be a function (line: string) => void')
  const problems = validateAttack(attack)
  if (problems.length > 0) throw new InputError(`runCheck: invalid attack:\n  ${problems.join('\n  ')}`, problems)
  if (Object.keys(tf.engine().registryFactory).length === 0) throw new UnavailableError('runCheck: no TensorFlow.js backend is registered; call initBackend() first')
  const { clips, text } = clipsFor(attack, o.shape)
  // the clips fit the regions by construction; a target class may not fit the linear models
  const misfit = fitsClip(attack, fittingFrames(attackRegions(attack)), LINEAR_MODEL_CLASSES)
  if (misfit.length > 0) throw new InputError(`runCheck: the attack cannot run on the check's ${LINEAR_MODEL_CLASSES}-class linear models: ${misfit.join('; ')}`, misfit)
  const properties = checkProperties(attack, clips)
  const restarts = attack.restarts > 1 ? `, ${attack.restarts} restarts` : ''
  o.log(`checking ${attack.name} with fast-check on the ${tf.getBackend()} backend: ${o.numRuns ?? 50} runs per property, seed ${o.seed ?? 0}, ${text}, linear models${restarts}`)
  const { shape: _shape, ...rest } = o
  return runProperties(properties, rest)
}
