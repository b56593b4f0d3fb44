/**
 * Starts, losses and targets, and the attack: `iterate` and the combinators that replace one field.
 *
 * @since 0.1.0
 */
import type { Attack, BallNorm, Init, Loss, Region, Step, Target } from '../types.js'
import type { UnitsOption } from './options.js'

// -------------------------------------------------------------------------------------------------
// init and loss
// -------------------------------------------------------------------------------------------------

/** x' = x. */
export const clean = (): Init => ({ _tag: 'Clean' })

/** Additive random start in the ε-ball (L2: a random direction rescaled to norm ε), optionally in a region. */
export const uniform = (
  options: { readonly norm: BallNorm; readonly eps: number; readonly region?: Region } & UnitsOption,
): Init => ({
  _tag: 'Uniform',
  norm: options.norm,
  eps: options.eps,
  units: options.units ?? 'absolute',
  ...(options.region === undefined ? {} : { region: options.region }),
})

/** x' = `value` inside `region`, x outside (ROA's grey start, SPA's black start). */
export const fill = (value: number, region: Region): Init => ({ _tag: 'Fill', value, region })

/** Multiplicative random start: log-ratio uniform in [−ln ε, ln ε]. */
export const uniformRatio = (options: { readonly eps: number; readonly region?: Region }): Init => ({
  _tag: 'UniformRatio',
  eps: options.eps,
  ...(options.region === undefined ? {} : { region: options.region }),
})

/** Untargeted cross-entropy with the true label (the default). */
export const crossEntropy = (): Loss => ({ _tag: 'CrossEntropy', target: { _tag: 'Untargeted' } })

/** Targeted cross-entropy: the attack pushes every sample towards `label`. */
export const targeted = (label: number): Loss => ({
  _tag: 'CrossEntropy',
  target: { _tag: 'Targeted', label },
})

/** Targeted cross-entropy with one target per sample: sample n is pushed towards `labels[n]`. */
export const targetedEach = (labels: ReadonlyArray<number>): Loss => ({
  _tag: 'CrossEntropy',
  target: { _tag: 'TargetedEach', labels: [...labels] },
})

/**
 * The logit margin (Carlini & Wagner), untargeted: max_{j≠y} z_j − z_y, capped at `confidence` κ when
 * given. Combine with `withTarget` for a targeted margin.
 */
export const margin = (options: { readonly confidence?: number } = {}): Loss => ({
  _tag: 'Margin',
  target: { _tag: 'Untargeted' },
  confidence: options.confidence ?? null,
})

/** Replaces a loss's target (`withTarget({ _tag: 'Targeted', label: 3 })(margin())`). */
export const withTarget =
  (target: Target) =>
  (loss: Loss): Loss => ({ ...loss, target })

// -------------------------------------------------------------------------------------------------
// attacks
// -------------------------------------------------------------------------------------------------

export interface IterateOptions {
  readonly name?: string
  readonly init?: Init
  readonly loss?: Loss
  readonly seed?: number
}

/**
 * Runs `step` (or the `steps` in turn, cycling) `count` times. Defaults: clean start, untargeted
 * cross-entropy, seed 0.
 */
export const iterate =
  (count: number, options: IterateOptions = {}) =>
  (body: Step | ReadonlyArray<Step>): Attack => ({
    _tag: 'Attack',
    name: options.name ?? 'custom',
    init: options.init ?? clean(),
    body: isStep(body) ? [body] : [...body],
    steps: count,
    loss: options.loss ?? crossEntropy(),
    seed: options.seed ?? 0,
    restarts: 1,
  })

const isStep = (b: Step | ReadonlyArray<Step>): b is Step => !Array.isArray(b)

/** Replaces the attack's initialisation. */
export const withInit =
  (init: Init) =>
  (attack: Attack): Attack => ({ ...attack, init })

/** Replaces the attack's loss (e.g. `targeted(3)`). */
export const withLoss =
  (loss: Loss) =>
  (attack: Attack): Attack => ({ ...attack, loss })

/** Replaces the attack's seed. */
export const withSeed =
  (seed: number) =>
  (attack: Attack): Attack => ({ ...attack, seed })

/** Renames the attack. */
export const named =
  (name: string) =>
  (attack: Attack): Attack => ({ ...attack, name })

/**
 * Runs the attack `count` times from fresh random draws (seeds `restartSeed(seed, r)`) and keeps, per
 * sample, the best run: successful before unsuccessful, then the higher per-sample objective, then
 * the earlier run. `count` is an integer ≥ 1; 1 is the attack itself.
 */
export const withRestarts =
  (count: number) =>
  (attack: Attack): Attack => ({ ...attack, restarts: count })

/** Sets the number of iterations. */
export const withSteps =
  (steps: number) =>
  (attack: Attack): Attack => ({ ...attack, steps })

/**
 * The seed of restart r (0-based) of an attack seeded `seed`: seed + r, or seed − r where seed + r
 * would leave the safe integers (distinct for distinct r either way).
 */
export const restartSeed = (seed: number, r: number): number => (seed <= Number.MAX_SAFE_INTEGER - r ? seed + r : seed - r)
