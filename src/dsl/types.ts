/**
 * The attack algebra's data model: plain, immutable, JSON-serialisable values.
 *
 * Units are carried by the tags, so nonsense does not compile:
 * - a `Direction` is unitless (a function of the loss gradient g = ∇ₓL at the current iterate);
 * - an `Offset` (`Scale`) is in pixel units and can only be `add`ed;
 * - a `Factor` (`Exponent`) is a positive multiplier α^d and can only be `multiply`-ed.
 *
 * Clips are `[N, T, H, W, C]` float32 in [0, 1] (NDHWC). N = T·H·W·C is the number of values in one
 * sample; "rms" units scale a per-value quantity by √N (ε_abs = ε_rms·√N).
 *
 * @since 0.1.0
 */

// -------------------------------------------------------------------------------------------------
// regions
// -------------------------------------------------------------------------------------------------

/** Where a random rectangle goes: a new uniform position on every frame (the paper's ROA), or one shared by all frames. */
export type Placement = 'perFrame' | 'shared'

/**
 * A subset of a clip's pixels (all channels). Random regions are drawn once per run from the run's
 * seed, independently for each sample of the batch, and stay fixed across steps; the same region value
 * always denotes the same pixels within a run.
 */
export type Region =
  /** Frames `indices` (0-based), all pixels. */
  | { readonly _tag: 'Frames'; readonly indices: ReadonlyArray<number> }
  /** A fixed rectangle of `height`x`width` pixels at (`top`, `left`), on every frame. */
  | {
      readonly _tag: 'Box'
      readonly top: number
      readonly left: number
      readonly height: number
      readonly width: number
    }
  /** A `height`x`width` rectangle at a uniformly random position (ROA). */
  | { readonly _tag: 'Rect'; readonly height: number; readonly width: number; readonly placement: Placement }
  /**
   * A `height`x`width` rectangle placed where the model is most hurt by a grey (`fill`) patch
   * (Wu et al., ICLR 2020), per sample, on each frame or shared by all frames: 'exhaustive' tries every
   * position on a `stride` grid; 'gradient' ranks the windows by the gradient energy inside them at the
   * clean clip and tries the best `topK`. Found once per run by the tensor interpreter.
   */
  | {
      readonly _tag: 'SearchedRect'
      readonly height: number
      readonly width: number
      readonly search: 'exhaustive' | 'gradient'
      readonly scope: Placement
      readonly stride: number
      readonly topK: number
      readonly fill: number
    }
  /** The border ring of `width` pixels on every frame (adversarial framing). */
  | { readonly _tag: 'Ring'; readonly width: number }
  /** `perFrame` uniformly random pixels on every frame, drawn with replacement (salt-and-pepper). */
  | { readonly _tag: 'Pixels'; readonly perFrame: number }
  | { readonly _tag: 'Union'; readonly regions: ReadonlyArray<Region> }
  | { readonly _tag: 'Intersection'; readonly regions: ReadonlyArray<Region> }
  | { readonly _tag: 'Complement'; readonly of: Region }

// -------------------------------------------------------------------------------------------------
// directions, offsets, factors
// -------------------------------------------------------------------------------------------------

/** Where an L2 normalisation takes its norm: over the whole sample, or over each frame. */
export type NormScope = 'sample' | 'frame'

/** How a scalar parameter is read: as is, or per value (multiplied by √N, N = values per sample). */
export type Units = 'absolute' | 'rms'

/** A unitless tensor expression of the gradient g = ∇ₓL(x', y). */
export type Direction =
  | { readonly _tag: 'Gradient' }
  | { readonly _tag: 'Sign'; readonly of: Direction }
  /** d / ‖d‖₂, per sample (whole clip) or per frame; 0 where the norm is 0. */
  | { readonly _tag: 'Normalize'; readonly norm: 'l2'; readonly scope: NormScope; readonly of: Direction }
  /** d inside `region`, 0 outside. */
  | { readonly _tag: 'MaskRegion'; readonly region: Region; readonly of: Direction }
  /**
   * Accumulated direction (MI-FGSM, Dong et al. 2018): m ← μ·m + d / mean|d| per sample (0 where d
   * is all zero), m = 0 before the first step; the value is m. The state is kept per occurrence (body
   * step and position in it) across the iterations that run that body step. `decay` is μ ≥ 0.
   */
  | { readonly _tag: 'Momentum'; readonly decay: number; readonly of: Direction }

/**
 * How the step size changes over the iterations: a multiplier s_i ∈ (0, 1] for iteration i (0-based,
 * counted over the whole attack). An additive step is α·s_i; a multiplicative one has ln α·s_i in its
 * exponent. s_i ≤ 1, so every bound derived from α holds at every step.
 */
export type Schedule =
  /** s_i = 1. */
  | { readonly _tag: 'Constant' }
  /** s_i = rate^i, 0 < rate ≤ 1. */
  | { readonly _tag: 'Exponential'; readonly rate: number }
  /** s_i = factor^⌊i / every⌋, 0 < factor ≤ 1, `every` ≥ 1 iterations. */
  | { readonly _tag: 'StepDecay'; readonly every: number; readonly factor: number }

/** An additive offset α·s_i·d, in pixel units (α·√N when `units` is 'rms'). */
export interface Offset {
  readonly _tag: 'Scale'
  readonly alpha: number
  readonly units: Units
  readonly schedule: Schedule
  readonly of: Direction
}

/** A multiplicative factor α^(s_i·d) = exp(s_i·d·ln α), α > 0 (ln α·√N in the exponent when 'rms'). */
export interface Factor {
  readonly _tag: 'Exponent'
  readonly alpha: number
  readonly units: Units
  readonly schedule: Schedule
  readonly of: Direction
}

/** x' ← x' + offset, or x' ← x' ⊙ factor. */
export type Update =
  | { readonly _tag: 'Add'; readonly offset: Offset }
  | { readonly _tag: 'Multiply'; readonly factor: Factor }

// -------------------------------------------------------------------------------------------------
// constraints
// -------------------------------------------------------------------------------------------------

export type BallNorm = 'linf' | 'l2'

/**
 * How an L2 ratio bound is read: 'log' ‖log(x'/x)‖₂ ≤ ln ε (default),
 * 'literal' ‖x'/x‖₂ ≤ ε (summed over x > 0: the zeros' ratio, taken as 1, cannot move),
 * 'deviation' ‖x'/x − 1‖₂ ≤ ε. Ignored for L∞.
 */
export type RatioReading = 'log' | 'literal' | 'deviation'

export type Constraint =
  /** Project x' onto {‖x' − x‖ ≤ ε} (per sample). */
  | { readonly _tag: 'ProjectBall'; readonly norm: BallNorm; readonly eps: number; readonly units: Units }
  /**
   * Project x' onto the ratio ball around x: L∞ max(x'/x, x/x') ≤ ε, or the L2 `reading`.
   * Where x = 0 the ratio is taken as 1, so x' = 0 there.
   */
  | {
      readonly _tag: 'ProjectRatio'
      readonly norm: BallNorm
      readonly eps: number
      readonly reading: RatioReading
      readonly units: Units
    }
  /** Clip every value to [lo, hi]. */
  | { readonly _tag: 'Clip'; readonly lo: number; readonly hi: number }

/** One iteration: an update followed by constraints, applied in order. */
export interface Step {
  readonly _tag: 'Step'
  readonly update: Update
  readonly constraints: ReadonlyArray<Constraint>
}

// -------------------------------------------------------------------------------------------------
// initialisation, loss, attack
// -------------------------------------------------------------------------------------------------

export type Init =
  /** x' = x. */
  | { readonly _tag: 'Clean' }
  /**
   * Additive random start: L∞, `x' = clip[0,1](x + U(−ε, ε))`; L2, `x' = clip[0,1](x + ε·z/‖z‖₂)`, z ~ N(0, I).
   * Inside `region` only, when given.
   */
  | {
      readonly _tag: 'Uniform'
      readonly norm: BallNorm
      readonly eps: number
      readonly units: Units
      readonly region?: Region
    }
  /** Multiplicative random start: `x' = clip[0,1](x ⊙ exp(U(−ln ε, ln ε)))`; zeros stay zero. */
  | { readonly _tag: 'UniformRatio'; readonly eps: number; readonly region?: Region }
  /** x' = `value` inside `region`, x outside (ROA's grey start, SPA's black start). */
  | { readonly _tag: 'Fill'; readonly value: number; readonly region: Region }

export type Target =
  | { readonly _tag: 'Untargeted' }
  /** Push every sample towards class `label` (the attack descends CE(label)). */
  | { readonly _tag: 'Targeted'; readonly label: number }
  /** Push sample n towards class `labels[n]`: one label per sample of the batch it runs on. */
  | { readonly _tag: 'TargetedEach'; readonly labels: ReadonlyArray<number> }

/** The attacker ascends L, the mean over the batch of a per-sample objective. */
export type Loss =
  /** Cross-entropy: CE(y) untargeted, −CE(t) towards target t. */
  | { readonly _tag: 'CrossEntropy'; readonly target: Target }
  /**
   * Logit margin (Carlini & Wagner 2017): max_{j≠y} z_j − z_y untargeted, z_t − max_{j≠t} z_j towards
   * target t; capped at κ = `confidence` (min(·, κ)) when it is not null.
   */
  | { readonly _tag: 'Margin'; readonly target: Target; readonly confidence: number | null }

/**
 * An iterative attack: x' ← init(x), then `steps` iterations; iteration i runs `body[i mod body.length]`.
 * Random choices (the random start, random regions) are drawn from `seed`.
 *
 * With `restarts` = R > 1 the whole attack runs R times, run r with seed `restartSeed(seed, r)` (run 0
 * is the attack without restarts), and each sample keeps its best run: a successful one before an
 * unsuccessful one, then the higher per-sample objective, then the earlier run.
 */
export interface Attack {
  readonly _tag: 'Attack'
  readonly name: string
  readonly init: Init
  readonly body: ReadonlyArray<Step>
  readonly steps: number
  readonly loss: Loss
  readonly seed: number
  readonly restarts: number
}

/** Every node of the algebra, for rule tables keyed by tag. */
export type Node =
  | Region
  | Direction
  | Offset
  | Factor
  | Schedule
  | Update
  | Constraint
  | Step
  | Init
  | Target
  | Loss
  | Attack
