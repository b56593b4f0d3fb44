/**
 * The spec format's leaf codecs: numbers with their ranges and what they are for, names, labels.
 *
 * @since 0.2.0
 */
import * as t from 'io-ts'
import { atMost, checked, codec, int, list, nullable, num, oneOf, problem } from './build.js'

/** Iteration counts (and decay intervals) above this are taken as mistakes. */
export const MAX_STEPS = 100_000
/** Restarts above this are taken as mistakes (each is a whole run of the attack). */
export const MAX_RESTARTS = 1000
/** Per-sample targets above this are taken as mistakes (one per sample of a batch). */
export const MAX_LABELS = 65_536
/** Momentum decays above this are taken as mistakes (MI-FGSM uses μ = 1). */
export const MAX_DECAY = 10

export const finite = num('a finite number')
export const stepSize = num('a finite number (a step size)')
export const stepFactor = num('a number > 0 (a step factor)', (n) => n > 0)
export const radius = num('a number > 0 (a radius)', (n) => n > 0)
export const ratioBound = num('a number > 1 (a ratio bound)', (n) => n > 1)
export const pixelValue = num('a number in [0, 1] (a pixel value)', (n) => n >= 0 && n <= 1)
export const decay = num(`a number in [0, ${MAX_DECAY}] (a momentum decay)`, (n) => n >= 0 && n <= MAX_DECAY)
export const decayRate = num('a number in (0, 1] (a decay rate)', (n) => n > 0 && n <= 1)
export const decayFactor = num('a number in (0, 1] (a decay factor)', (n) => n > 0 && n <= 1)
export const decayEvery = atMost(int('an integer ≥ 1 (iterations between decays)', 1), MAX_STEPS, 'iterations')
export const confidence = nullable('a number ≥ 0 (a confidence) or null', num('a number ≥ 0 (a confidence)', (n) => n >= 0))
export const units = oneOf('absolute', 'rms')
export const ballNorm = oneOf('linf', 'l2')
export const placement = oneOf('perFrame', 'shared')
export const stepCount = atMost(int('an integer ≥ 1 (a step count)', 1), MAX_STEPS, 'steps')
export const restartCount = atMost(int('an integer ≥ 1 (a restart count)', 1), MAX_RESTARTS, 'restarts')
export const windows = int('an integer ≥ 1 (windows to try)', 1)
export const label = int('an integer ≥ 0 (a class label)', 0)
/** One class label per sample: non-empty, at most {@link MAX_LABELS}. */
export const labels = checked(list('a non-empty array of class labels', label, 1), (ls, c) =>
  ls.length <= MAX_LABELS ? [] : [problem(ls, c, 'mismatch', `at most ${MAX_LABELS} labels (one per sample)`, String(ls.length))],
)
export const seed = int('a safe integer (a seed)', Number.MIN_SAFE_INTEGER)
export const name = codec<string>(
  'a non-empty string (a name)',
  (u, c) => (typeof u === 'string' && u.length > 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
)
export const frameIndex = int('an integer ≥ 0 (a frame index)', 0)
export const pixelOffset = int('an integer ≥ 0 (a pixel offset)', 0)
export const pixelSize = int('an integer ≥ 1 (a size in pixels)', 1)
export const clipSize = int('an integer ≥ 1 (a clip size)', 1)
