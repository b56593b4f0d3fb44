/**
 * Constructors and combinators of the attack algebra: data-last, so they read as the paper's formula
 * inside fp-ts `pipe`.
 *
 * @example
 * import { pipe } from 'fp-ts/lib/function.js'
 * // Mult-L∞: x' ← clip[0,1](Π_ratio∞(1.04)(x' ⊙ 1.01^sign(∇ₓL))), 5 steps
 * const multLinf = pipe(gradient(), sign, exponent(1.01), multiply,
 *   projectRatio({ norm: 'linf', eps: 1.04 }), clip(0, 1), iterate(5))
 *
 * @since 0.1.0
 */
import type {
  Attack,
  BallNorm,
  Constraint,
  Direction,
  Factor,
  Init,
  Loss,
  NormScope,
  Offset,
  Placement,
  RatioReading,
  Region,
  Step,
  Units,
} from './types.js'

// -------------------------------------------------------------------------------------------------
// regions
// -------------------------------------------------------------------------------------------------

/** Frames `indices` (0-based) of every sample. */
export const frames = (indices: ReadonlyArray<number>): Region => ({ _tag: 'Frames', indices: [...indices] })

/** A fixed `height`x`width` rectangle at (`top`, `left`) on every frame. */
export const box = (r: { top: number; left: number; height: number; width: number }): Region => ({
  _tag: 'Box',
  top: r.top,
  left: r.left,
  height: r.height,
  width: r.width,
})

/** A `height`x`width` rectangle at a random position: a new one on every frame (default), or one shared. */
export const rect = (r: { height: number; width: number; placement?: Placement }): Region => ({
  _tag: 'Rect',
  height: r.height,
  width: r.width,
  placement: r.placement ?? 'perFrame',
})

/**
 * A rectangle placed by searching for the position that hurts the model most (see `Region`):
 * defaults 'gradient' search, per frame, stride 2, top 8 windows, grey (0.5) patch while scoring.
 */
export const searchedRect = (r: {
  height: number
  width: number
  search?: 'exhaustive' | 'gradient'
  scope?: Placement
  stride?: number
  topK?: number
  fill?: number
}): Region => ({
  _tag: 'SearchedRect',
  height: r.height,
  width: r.width,
  search: r.search ?? 'gradient',
  scope: r.scope ?? 'perFrame',
  stride: r.stride ?? 2,
  topK: r.topK ?? 8,
  fill: r.fill ?? 0.5,
})

/** The border ring of `width` pixels on every frame. */
export const ring = (width: number): Region => ({ _tag: 'Ring', width })

/** `perFrame` random pixels on every frame (with replacement). */
export const pixels = (perFrame: number): Region => ({ _tag: 'Pixels', perFrame })

export const union = (...regions: ReadonlyArray<Region>): Region => ({ _tag: 'Union', regions: [...regions] })

export const intersection = (...regions: ReadonlyArray<Region>): Region => ({ _tag: 'Intersection', regions: [...regions] })

export const complement = (of: Region): Region => ({ _tag: 'Complement', of })

// -------------------------------------------------------------------------------------------------
// directions
// -------------------------------------------------------------------------------------------------

/** g = ∇ₓL at the current iterate. */
export const gradient = (): Direction => ({ _tag: 'Gradient' })

/** sign(d), with sign(0) = 0. */
export const sign = (of: Direction): Direction => ({ _tag: 'Sign', of })

/** d / ‖d‖₂ per sample (default) or per frame; a zero direction stays zero. */
export const normalize =
  (options: { readonly scope?: NormScope } = {}) =>
  (of: Direction): Direction => ({ _tag: 'Normalize', norm: 'l2', scope: options.scope ?? 'sample', of })

/** d inside `region`, 0 outside: the update leaves everything outside unchanged. */
export const maskRegion =
  (region: Region) =>
  (of: Direction): Direction => ({ _tag: 'MaskRegion', region, of })

// -------------------------------------------------------------------------------------------------
// offsets and factors
// -------------------------------------------------------------------------------------------------

interface UnitsOption {
  /** 'rms' reads the parameter per value (× √N). Default 'absolute'. */
  readonly units?: Units
}

/** The additive offset α·d (pixel units). */
export const scale =
  (alpha: number, options: UnitsOption = {}) =>
  (of: Direction): Offset => ({ _tag: 'Scale', alpha, units: options.units ?? 'absolute', of })

/** The multiplicative factor α^d, computed as exp(d·ln α). */
export const exponent =
  (alpha: number, options: UnitsOption = {}) =>
  (of: Direction): Factor => ({ _tag: 'Exponent', alpha, units: options.units ?? 'absolute', of })

// -------------------------------------------------------------------------------------------------
// steps
// -------------------------------------------------------------------------------------------------

/** x' ← x' + offset (no constraint yet). */
export const add = (offset: Offset): Step => ({ _tag: 'Step', update: { _tag: 'Add', offset }, constraints: [] })

/** x' ← x' ⊙ factor (no constraint yet). */
export const multiply = (factor: Factor): Step => ({
  _tag: 'Step',
  update: { _tag: 'Multiply', factor },
  constraints: [],
})

/** Appends a constraint to a step. */
export const constrain =
  (constraint: Constraint) =>
  (step: Step): Step => ({ ...step, constraints: [...step.constraints, constraint] })

/** Then project onto the additive ball ‖x' − x‖ ≤ ε (per sample). */
export const projectBall = (options: { readonly norm: BallNorm; readonly eps: number } & UnitsOption) =>
  constrain({ _tag: 'ProjectBall', norm: options.norm, eps: options.eps, units: options.units ?? 'absolute' })

/** Then project onto the ratio ball around x; `reading` defaults to 'log'. */
export const projectRatio = (
  options: { readonly norm: BallNorm; readonly eps: number; readonly reading?: RatioReading } & UnitsOption,
) =>
  constrain({
    _tag: 'ProjectRatio',
    norm: options.norm,
    eps: options.eps,
    reading: options.reading ?? 'log',
    units: options.units ?? 'absolute',
  })

/** Then clip every value to [lo, hi] (default [0, 1]). */
export const clip = (lo = 0, hi = 1) => constrain({ _tag: 'Clip', lo, hi })

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

/** Sets the number of iterations. */
export const withSteps =
  (steps: number) =>
  (attack: Attack): Attack => ({ ...attack, steps })

/**
 * Restricts every update of the attack (and its random start) to `region`. Applied twice, the masks
 * nest: the updates are restricted to the intersection.
 */
export const restrictTo =
  (region: Region) =>
  (attack: Attack): Attack => ({
    ...attack,
    init: attack.init._tag === 'Clean' ? attack.init : { ...attack.init, region },
    body: attack.body.map(restrictStep(region)),
  })

const restrictStep =
  (region: Region) =>
  (step: Step): Step => ({
    ...step,
    update:
      step.update._tag === 'Add'
        ? { _tag: 'Add', offset: { ...step.update.offset, of: maskRegion(region)(step.update.offset.of) } }
        : { _tag: 'Multiply', factor: { ...step.update.factor, of: maskRegion(region)(step.update.factor.of) } },
  })

/**
 * The multiplicative twin of an additive attack (the log-space view: Mult-L∞ is Add-L∞ on log x): every `add(scale(α, d))`
 * becomes `multiply(exponent(alpha, d))` on the same direction (masks included), additive ball
 * projections are dropped (or replaced by a ratio bound `eps` when given), and a random or filled start
 * becomes the clean start (ratio 1). Multiplicative steps and other constraints are kept.
 */
export const multiplicative =
  (options: { readonly alpha: number; readonly eps?: number }) =>
  (attack: Attack): Attack => ({
    ...attack,
    name: attack.name.startsWith('mult-') ? attack.name : `mult-${attack.name}`,
    init: clean(),
    body: attack.body.map((step) => ({
      _tag: 'Step',
      update:
        step.update._tag === 'Add'
          ? { _tag: 'Multiply', factor: { _tag: 'Exponent', alpha: options.alpha, units: 'absolute', of: step.update.offset.of } }
          : step.update,
      constraints: step.constraints.flatMap((c): ReadonlyArray<Constraint> =>
        c._tag !== 'ProjectBall'
          ? [c]
          : options.eps === undefined
            ? []
            : [{ _tag: 'ProjectRatio', norm: c.norm, eps: options.eps, reading: 'log', units: c.units }],
      ),
    })),
  })

/**
 * True for a direction that is signed or normalised (sign(·), ·/‖·‖₂, masked or not): its value does
 * not change when the gradient is scaled, and |d| ≤ 1 everywhere. False for a raw gradient.
 */
export const scaleFree = (d: Direction): boolean => {
  switch (d._tag) {
    case 'Gradient':
      return false
    case 'Sign':
    case 'Normalize':
      return true
    case 'MaskRegion':
      return scaleFree(d.of)
  }
}

/**
 * The seed of restart r (0-based) of an attack seeded `seed`: seed + r, or seed − r where seed + r
 * would leave the safe integers (distinct for distinct r either way).
 */
export const restartSeed = (seed: number, r: number): number => (seed <= Number.MAX_SAFE_INTEGER - r ? seed + r : seed - r)
