/**
 * Attack values over the whole algebra, one generator table per sort (src/testing/arbitraries/
 * generators.ts): a new tag is a compile error here until it has a generator, and is then drawn by
 * every property that generates attacks. Parameters stay in the ranges a researcher would use.
 *
 * @since 0.1.0
 */
import fc from 'fast-check'
import { match, TAGS } from '../../dsl/match.js'
import type { Attack, Constraint, Direction, Init, Loss, Region, Schedule, Step, Target, Units, Update } from '../../dsl/types.js'
import { unionOf, type Generators } from './generators.js'

/** Frame geometry: frames, height and width of the clips an attack's regions must fit. */
export interface Geometry {
  readonly T: number
  readonly H: number
  readonly W: number
}

export interface AttackConstraints {
  /** Maximum nesting of direction transforms (default 3). */
  readonly maxDepth?: number
  /** Maximum iterations (default 4). */
  readonly maxSteps?: number
  /** Frame geometry regions must fit (default 1 frame of 1x1: regions stay tiny). */
  readonly geometry?: Geometry
  /**
   * The batch size N the attack will run on: `TargetedEach` gets N labels. Without it, it gets 1 to
   * `maxBatch` (default 2) labels, and the clips must be sized to them (`batchOf`).
   */
  readonly batch?: number
  readonly maxBatch?: number
  /** Classes of the models the attack will run against (default 2): target labels are below it. */
  readonly classes?: number
  /** Maximum restarts (default 3; 1 generates no restarts). Most attacks get 1. */
  readonly maxRestarts?: number
}

const f = (min: number, max: number) => fc.double({ min, max, noNaN: true })

/**
 * Uniform in [min, max] on a grid of 2²⁰ steps, shrinking towards min (fc.double draws among float
 * representations, most of them near 0: a decay or a rate of 1e−300 says nothing a user would write).
 */
const uniform = (min: number, max: number): fc.Arbitrary<number> =>
  fc.integer({ min: 0, max: GRID }).map((k) => min + ((max - min) * k) / GRID)

const GRID = 2 ** 20

/** A rate or factor in (0, 1]: mostly in [0.5, 1], sometimes down to 10⁻³, sometimes exactly 1. */
const decayFactor: fc.Arbitrary<number> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(1) },
  { weight: 3, arbitrary: uniform(0.5, 1) },
  { weight: 1, arbitrary: uniform(1e-3, 0.5) },
)

const units: fc.Arbitrary<Units> = fc.constantFrom('absolute', 'rms')

// -------------------------------------------------------------------------------------------------
// regions
// -------------------------------------------------------------------------------------------------

/** Regions that fit a geometry, combined (∪, ∩, ¬) while depth > 0. */
export const regionGenerators: Generators<Region, [g: Geometry, depth: number]> = {
  Frames: (g) =>
    fc
      .uniqueArray(fc.integer({ min: 0, max: g.T - 1 }), { minLength: 1, maxLength: g.T })
      .map((indices) => ({ _tag: 'Frames' as const, indices })),
  Box: (g) =>
    fc.tuple(fc.integer({ min: 1, max: g.H }), fc.integer({ min: 1, max: g.W })).chain(([height, width]) =>
      fc.record({
        _tag: fc.constant('Box' as const),
        top: fc.integer({ min: 0, max: g.H - height }),
        left: fc.integer({ min: 0, max: g.W - width }),
        height: fc.constant(height),
        width: fc.constant(width),
      }),
    ),
  Rect: (g) =>
    fc.record({
      _tag: fc.constant('Rect' as const),
      height: fc.integer({ min: 1, max: g.H }),
      width: fc.integer({ min: 1, max: g.W }),
      placement: fc.constantFrom('perFrame' as const, 'shared' as const),
    }),
  SearchedRect: (g) =>
    fc.record({
      _tag: fc.constant('SearchedRect' as const),
      height: fc.integer({ min: 1, max: g.H }),
      width: fc.integer({ min: 1, max: g.W }),
      search: fc.constantFrom('exhaustive' as const, 'gradient' as const),
      scope: fc.constantFrom('perFrame' as const, 'shared' as const),
      stride: fc.integer({ min: 1, max: 3 }),
      topK: fc.integer({ min: 1, max: 4 }),
      fill: fc.constantFrom(0, 0.5, 1),
    }),
  // a ring at most half the frame wide (only frames of at least 2x2 have one)
  Ring: (g) =>
    Math.min(g.H, g.W) < 2
      ? undefined
      : fc.record({ _tag: fc.constant('Ring' as const), width: fc.integer({ min: 1, max: Math.floor(Math.min(g.H, g.W) / 2) }) }),
  Pixels: (g) => fc.record({ _tag: fc.constant('Pixels' as const), perFrame: fc.integer({ min: 1, max: g.H * g.W }) }),
  Union: (g, depth) =>
    depth <= 0 ? undefined : fc.array(regionArb(g, depth - 1), { minLength: 1, maxLength: 2 }).map((regions) => ({ _tag: 'Union' as const, regions })),
  Intersection: (g, depth) =>
    depth <= 0
      ? undefined
      : fc.array(regionArb(g, depth - 1), { minLength: 1, maxLength: 2 }).map((regions) => ({ _tag: 'Intersection' as const, regions })),
  Complement: (g, depth) => (depth <= 0 ? undefined : regionArb(g, depth - 1).map((of) => ({ _tag: 'Complement' as const, of }))),
}

/** Regions that fit `g`, combined (∪, ∩, ¬) up to `depth` levels; mostly leaves. */
export const regionArb = (g: Geometry, depth = 1): fc.Arbitrary<Region> =>
  unionOf(TAGS.Region, regionGenerators, { Frames: 2, Box: 2, Rect: 2, SearchedRect: 2, Ring: 2, Pixels: 2 })(g, depth)

// -------------------------------------------------------------------------------------------------
// directions, schedules, updates
// -------------------------------------------------------------------------------------------------

/** Directions nested up to `depth` transforms, their masks drawn from `region`. */
export const directionGenerators: Generators<Direction, [depth: number, region: fc.Arbitrary<Region>]> = {
  Gradient: () => fc.constant({ _tag: 'Gradient' as const }),
  Sign: (depth, region) => (depth <= 0 ? undefined : directionArb(depth - 1, region).map((of) => ({ _tag: 'Sign' as const, of }))),
  Normalize: (depth, region) =>
    depth <= 0
      ? undefined
      : fc
          .tuple(directionArb(depth - 1, region), fc.constantFrom('sample' as const, 'frame' as const))
          .map(([of, scope]) => ({ _tag: 'Normalize' as const, norm: 'l2' as const, scope, of })),
  MaskRegion: (depth, region) =>
    depth <= 0 ? undefined : fc.tuple(directionArb(depth - 1, region), region).map(([of, r]) => ({ _tag: 'MaskRegion' as const, region: r, of })),
  // μ = 0 (no memory) and μ = 1 (MI-FGSM's choice) are drawn often
  Momentum: (depth, region) =>
    depth <= 0
      ? undefined
      : fc
          .tuple(directionArb(depth - 1, region), fc.oneof(fc.constantFrom(0, 1), uniform(0, 2)))
          .map(([of, decay]) => ({ _tag: 'Momentum' as const, decay, of })),
}

/** Directions built from the primitives, nested up to `depth`. */
export const directionArb = (depth: number, region: fc.Arbitrary<Region>): fc.Arbitrary<Direction> =>
  unionOf(TAGS.Direction, directionGenerators, { Sign: 3, Normalize: 2 })(depth, region)

/** Step-size schedules s_i ∈ (0, 1]: rates and factors mostly in [0.5, 1], `every` 1 to 4 iterations. */
export const scheduleGenerators: Generators<Schedule> = {
  Constant: () => fc.constant({ _tag: 'Constant' as const }),
  Exponential: () => fc.record({ _tag: fc.constant('Exponential' as const), rate: decayFactor }),
  StepDecay: () =>
    fc.record({ _tag: fc.constant('StepDecay' as const), every: fc.integer({ min: 1, max: 4 }), factor: decayFactor }),
}

/** Schedules, mostly constant. */
export const scheduleArb: fc.Arbitrary<Schedule> = unionOf(TAGS.Schedule, scheduleGenerators, { Constant: 2 })()

/** Additive offsets α ∈ [−0.05, 0.05] and multiplicative factors α ∈ [0.9, 1.2] of a direction. */
export const updateGenerators: Generators<Update, [direction: fc.Arbitrary<Direction>]> = {
  Add: (direction) =>
    fc
      .record({ alpha: f(-0.05, 0.05), units, schedule: scheduleArb, of: direction })
      .map((o) => ({ _tag: 'Add' as const, offset: { _tag: 'Scale' as const, ...o } })),
  Multiply: (direction) =>
    fc
      .record({ alpha: f(0.9, 1.2), units, schedule: scheduleArb, of: direction })
      .map((o) => ({ _tag: 'Multiply' as const, factor: { _tag: 'Exponent' as const, ...o } })),
}

export const updateArb = (direction: fc.Arbitrary<Direction>): fc.Arbitrary<Update> => unionOf(TAGS.Update, updateGenerators)(direction)

// -------------------------------------------------------------------------------------------------
// constraints, steps, init
// -------------------------------------------------------------------------------------------------

/** Constraints with parameters in the ranges a researcher would use. */
export const constraintGenerators: Generators<Constraint> = {
  ProjectBall: () =>
    fc.record({ _tag: fc.constant('ProjectBall' as const), norm: fc.constantFrom('linf' as const, 'l2' as const), eps: f(1e-3, 0.3), units }),
  ProjectRatio: () =>
    fc.record({
      _tag: fc.constant('ProjectRatio' as const),
      norm: fc.constantFrom('linf' as const, 'l2' as const),
      eps: f(1.001, 2),
      reading: fc.constantFrom('log' as const, 'literal' as const, 'deviation' as const),
      units,
    }),
  Clip: () => fc.record({ _tag: fc.constant('Clip' as const), lo: fc.constant(0), hi: fc.constant(1) }),
}

export const constraintArb: fc.Arbitrary<Constraint> = unionOf(TAGS.Constraint, constraintGenerators)()

const stepArb = (depth: number, region: fc.Arbitrary<Region>): fc.Arbitrary<Step> =>
  fc.record({
    _tag: fc.constant('Step' as const),
    update: updateArb(directionArb(depth, region)),
    constraints: fc.array(constraintArb, { maxLength: 3 }),
  })

/** Random and filled starts, optionally inside a region. */
export const initGenerators: Generators<Init, [region: fc.Arbitrary<Region>]> = {
  Clean: () => fc.constant({ _tag: 'Clean' as const }),
  Uniform: (region) =>
    fc.record(
      { _tag: fc.constant('Uniform' as const), norm: fc.constantFrom('linf' as const, 'l2' as const), eps: f(1e-3, 0.2), units, region },
      { requiredKeys: ['_tag', 'norm', 'eps', 'units'] },
    ),
  UniformRatio: (region) => fc.record({ _tag: fc.constant('UniformRatio' as const), eps: f(1.001, 1.5), region }, { requiredKeys: ['_tag', 'eps'] }),
  Fill: (region) => fc.record({ _tag: fc.constant('Fill' as const), value: fc.constantFrom(0, 0.5, 1), region }),
}

export const initArb = (region: fc.Arbitrary<Region>): fc.Arbitrary<Init> => unionOf(TAGS.Init, initGenerators)(region)

// -------------------------------------------------------------------------------------------------
// targets, losses, attacks
// -------------------------------------------------------------------------------------------------

/** What targets need to know: the models' classes K, and the batch size N (when known) or its maximum. */
export interface TargetConstraints {
  readonly classes?: number
  readonly batch?: number
  readonly maxBatch?: number
}

/** Targets: labels in [0, K); `TargetedEach` one per sample of the batch. */
export const targetGenerators: Generators<Target, [k: TargetConstraints]> = {
  Untargeted: () => fc.constant({ _tag: 'Untargeted' as const }),
  Targeted: (k) => fc.record({ _tag: fc.constant('Targeted' as const), label: fc.integer({ min: 0, max: (k.classes ?? 2) - 1 }) }),
  TargetedEach: (k) => {
    const label = fc.integer({ min: 0, max: (k.classes ?? 2) - 1 })
    const sized = k.batch === undefined ? { minLength: 1, maxLength: k.maxBatch ?? 2 } : { minLength: k.batch, maxLength: k.batch }
    return fc.array(label, sized).map((labels) => ({ _tag: 'TargetedEach' as const, labels }))
  },
}

export const targetArb = (k: TargetConstraints = {}): fc.Arbitrary<Target> =>
  unionOf(TAGS.Target, targetGenerators, { Untargeted: 2 })(k)

/**
 * Cross-entropy and the logit margin, capped at κ ∈ [0, 10] half the time (κ ∈ [0, 2], where the
 * margins of `linearModelArb`'s models lie, half of those).
 */
export const lossGenerators: Generators<Loss, [target: fc.Arbitrary<Target>]> = {
  CrossEntropy: (target) => fc.record({ _tag: fc.constant('CrossEntropy' as const), target }),
  Margin: (target) =>
    fc.record({ _tag: fc.constant('Margin' as const), target, confidence: fc.option(fc.oneof(uniform(0, 2), uniform(0, 10)), { nil: null }) }),
}

export const lossArb = (k: TargetConstraints = {}): fc.Arbitrary<Loss> => unionOf(TAGS.Loss, lossGenerators, { CrossEntropy: 2 })(targetArb(k))

/** 1 three times in four, else 2 … max. */
export const restartsArb = (max = 3): fc.Arbitrary<number> =>
  max <= 1 ? fc.constant(1) : fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max }) })

/** Attack values over the whole algebra (regions fit `geometry`; target labels below `classes`). */
export const attackArb = (k: AttackConstraints = {}): fc.Arbitrary<Attack> => {
  const region = regionArb(k.geometry ?? { T: 1, H: 1, W: 1 })
  const targets: TargetConstraints = {
    ...(k.classes === undefined ? {} : { classes: k.classes }),
    ...(k.batch === undefined ? {} : { batch: k.batch }),
    ...(k.maxBatch === undefined ? {} : { maxBatch: k.maxBatch }),
  }
  return fc.record({
    _tag: fc.constant('Attack' as const),
    name: fc.constant('generated'),
    init: initArb(region),
    body: fc.array(stepArb(k.maxDepth ?? 3, region), { minLength: 1, maxLength: 3 }),
    steps: fc.integer({ min: 1, max: k.maxSteps ?? 4 }),
    loss: lossArb(targets),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    restarts: restartsArb(k.maxRestarts),
  })
}

/** The batch size an attack needs: its `TargetedEach` labels' count, undefined when any will do. */
export const batchOf = (attack: Attack): number | undefined => batchOfTarget(attack.loss.target)

const batchOfTarget = match<Target, number | undefined>({
  Untargeted: () => undefined,
  Targeted: () => undefined,
  TargetedEach: ({ labels }) => labels.length,
})

/**
 * The attack for a batch of N clips: `TargetedEach` labels cycled or cut to N (sample n gets
 * labels[n mod L]); other attacks unchanged. For attacks generated apart from their clips.
 */
export const fitBatch = (attack: Attack, N: number): Attack => ({ ...attack, loss: { ...attack.loss, target: fitTarget(attack.loss.target, N) } })

const fitTarget = match<Target, Target, [N: number]>({
  Untargeted: (t) => t,
  Targeted: (t) => t,
  TargetedEach: (t, N) => ({ ...t, labels: Array.from({ length: N }, (_, n) => t.labels[n % t.labels.length]!) }),
})
