/**
 * The codecs of the algebra, one `Members` table per sort (a new tag is a compile error here until
 * its codec is added). The JSON format is the value format itself; `schedule`, `confidence` and
 * `restarts` may be absent (Constant, null and 1), and are left out of the encoding when they are.
 *
 * @since 0.2.0
 */
import * as t from 'io-ts'
import type { Attack, Constraint, Direction, Init, Loss, Region, Schedule, Step, Target, Update } from '../types.js'
import { checked, defaulted, list, oneOf, optional, problem, record, tagged, type Codec, type Members } from './build.js'
import { show } from './issues.js'
import * as L from './leaves.js'

/** The clip the attack will run on, when known: regions are checked against it. */
export interface Clip {
  readonly T: number
  readonly H: number
  readonly W: number
}

/** Distinct frame indices, each < T when T is known (one pass: a Set of those seen). */
const frameIndices = (T: number | undefined): Codec<ReadonlyArray<number>> =>
  checked(list('an array of frame indices', L.frameIndex), (indices, c) => {
    const seen = new Set<number>()
    return indices.flatMap((i, k) => {
      const at = () => t.appendContext(c, String(k), L.frameIndex, i)
      const duplicate = seen.has(i)
      seen.add(i)
      return duplicate
        ? [problem(i, at(), 'invalid', 'distinct frame indices', `duplicate frame index ${i}`)]
        : T !== undefined && i >= T
          ? [problem(i, at(), 'invalid', `a frame index < ${T}`, `frame ${i} lies outside the clip's ${T} frames`)]
          : []
    })
  })

/** A rectangle of `what` that must fit the clip's frames. */
const fits = <R extends { readonly height: number; readonly width: number }>(what: string, clip: Clip | undefined) =>
  (r: R, c: t.Context) =>
    clip === undefined || (r.height <= clip.H && r.width <= clip.W)
      ? []
      : [problem(r, c, 'invalid', `a ${what} at most ${clip.H}x${clip.W}`, `${what} ${r.height}x${r.width} does not fit the clip's ${clip.H}x${clip.W} frames`)]

const regionMembers = (clip: Clip | undefined, self: Codec<Region>): Members<Region> => ({
  Frames: record('a Frames region', { _tag: t.literal('Frames'), indices: frameIndices(clip?.T) }),
  Box: checked(
    record('a Box region', { _tag: t.literal('Box'), top: L.pixelOffset, left: L.pixelOffset, height: L.pixelSize, width: L.pixelSize }),
    (b, c) => {
      if (clip === undefined) return []
      const outside = (what: string, from: number, size: number, limit: number) =>
        from + size <= limit
          ? []
          : [problem(b, c, 'invalid', `a Box within the clip's ${limit} ${what}`, `Box ${what} ${from}..${from + size} lie outside the clip's ${limit} ${what}`)]
      return [...outside('rows', b.top, b.height, clip.H), ...outside('columns', b.left, b.width, clip.W)]
    },
  ),
  Rect: checked(record('a Rect region', { _tag: t.literal('Rect'), height: L.pixelSize, width: L.pixelSize, placement: L.placement }), fits('Rect', clip)),
  SearchedRect: checked(
    record('a SearchedRect region', {
      _tag: t.literal('SearchedRect'),
      height: L.pixelSize,
      width: L.pixelSize,
      search: oneOf('exhaustive', 'gradient'),
      scope: L.placement,
      stride: L.pixelSize,
      topK: L.windows,
      fill: L.pixelValue,
    }),
    fits('SearchedRect', clip),
  ),
  Ring: checked(record('a Ring region', { _tag: t.literal('Ring'), width: L.pixelSize }), (r, c) =>
    clip === undefined || 2 * r.width <= Math.min(clip.H, clip.W)
      ? []
      : [problem(r, c, 'invalid', `a Ring width ≤ ${Math.floor(Math.min(clip.H, clip.W) / 2)}`, `Ring width ${r.width} is more than half of the clip's ${clip.H}x${clip.W} frames`)],
  ),
  Pixels: checked(record('a Pixels region', { _tag: t.literal('Pixels'), perFrame: L.pixelSize }), (r, c) =>
    clip === undefined || r.perFrame <= clip.H * clip.W
      ? []
      : [problem(r, c, 'invalid', `at most ${clip.H * clip.W} pixels per frame`, `Pixels ${r.perFrame} per frame is more than the clip's ${clip.H}x${clip.W} = ${clip.H * clip.W} pixels`)],
  ),
  Union: record('a Union region', { _tag: t.literal('Union'), regions: list('a non-empty array of Regions', self, 1) }),
  Intersection: record('an Intersection region', { _tag: t.literal('Intersection'), regions: list('a non-empty array of Regions', self, 1) }),
  Complement: record('a Complement region', { _tag: t.literal('Complement'), of: self }),
})

const regionCodec = (clip: Clip | undefined): Codec<Region> =>
  t.recursion<Region, unknown, unknown>('a Region', (self) => tagged<Region>('a Region', 'region', regionMembers(clip, self)))

const directionMembers = (region: Codec<Region>, self: Codec<Direction>): Members<Direction> => ({
  Gradient: record('a Gradient', { _tag: t.literal('Gradient') }),
  Sign: record('a Sign', { _tag: t.literal('Sign'), of: self }),
  Normalize: record('a Normalize', { _tag: t.literal('Normalize'), norm: oneOf('l2'), scope: oneOf('sample', 'frame'), of: self }),
  MaskRegion: record('a MaskRegion', { _tag: t.literal('MaskRegion'), region, of: self }),
  Momentum: record('a Momentum', { _tag: t.literal('Momentum'), decay: L.decay, of: self }),
})

const scheduleMembers: Members<Schedule> = {
  Constant: record('a Constant schedule', { _tag: t.literal('Constant') }),
  Exponential: record('an Exponential schedule', { _tag: t.literal('Exponential'), rate: L.decayRate }),
  StepDecay: record('a StepDecay schedule', { _tag: t.literal('StepDecay'), every: L.decayEvery, factor: L.decayFactor }),
}
const schedule = defaulted(tagged<Schedule>('a Schedule', 'schedule', scheduleMembers), { _tag: 'Constant' })

const updateMembers = (direction: Codec<Direction>): Members<Update> => ({
  Add: record('an Add', {
    _tag: t.literal('Add'),
    offset: record('an Offset', { _tag: t.literal('Scale'), alpha: L.stepSize, units: L.units, schedule, of: direction }),
  }),
  Multiply: record('a Multiply', {
    _tag: t.literal('Multiply'),
    factor: record('a Factor', { _tag: t.literal('Exponent'), alpha: L.stepFactor, units: L.units, schedule, of: direction }),
  }),
})

const constraintMembers: Members<Constraint> = {
  ProjectBall: record('a ProjectBall', { _tag: t.literal('ProjectBall'), norm: L.ballNorm, eps: L.radius, units: L.units }),
  ProjectRatio: record('a ProjectRatio', {
    _tag: t.literal('ProjectRatio'),
    norm: L.ballNorm,
    eps: L.ratioBound,
    reading: oneOf('log', 'literal', 'deviation'),
    units: L.units,
  }),
  Clip: checked(record('a Clip', { _tag: t.literal('Clip'), lo: L.finite, hi: L.finite }), (k, c) =>
    k.lo < k.hi ? [] : [problem(k, c, 'mismatch', 'lo < hi', `lo=${show(k.lo)}, hi=${show(k.hi)}`)],
  ),
}

const initMembers = (region: Codec<Region>): Members<Init> => ({
  Clean: record('a Clean init', { _tag: t.literal('Clean') }),
  Uniform: record('a Uniform init', { _tag: t.literal('Uniform'), norm: L.ballNorm, eps: L.radius, units: L.units, region: optional(region) }),
  UniformRatio: record('a UniformRatio init', { _tag: t.literal('UniformRatio'), eps: L.ratioBound, region: optional(region) }),
  Fill: record('a Fill init', { _tag: t.literal('Fill'), value: L.pixelValue, region }),
})

const targetMembers: Members<Target> = {
  Untargeted: record('an Untargeted target', { _tag: t.literal('Untargeted') }),
  Targeted: record('a Targeted target', { _tag: t.literal('Targeted'), label: L.label }),
  TargetedEach: record('a TargetedEach target', { _tag: t.literal('TargetedEach'), labels: L.labels }),
}
const target = tagged<Target>('a Target', 'target', targetMembers)

const lossMembers: Members<Loss> = {
  CrossEntropy: record('a CrossEntropy loss', { _tag: t.literal('CrossEntropy'), target }),
  Margin: record('a Margin loss', { _tag: t.literal('Margin'), target, confidence: defaulted(L.confidence, null) }),
}

/** The codec of attacks on `clip` (any clip when undefined). */
export const attackCodec = (clip: Clip | undefined): Codec<Attack> => {
  const region = regionCodec(clip)
  const direction = t.recursion<Direction, unknown, unknown>('a Direction', (self) =>
    tagged<Direction>('a Direction', 'primitive', directionMembers(region, self)),
  )
  const step: Codec<Step> = record('a Step', {
    _tag: t.literal('Step'),
    update: tagged<Update>('an Update', 'update', updateMembers(direction)),
    constraints: list('an array of Constraints', tagged<Constraint>('a Constraint', 'constraint', constraintMembers)),
  })
  return record('an Attack', {
    _tag: t.literal('Attack'),
    name: L.name,
    init: tagged<Init>('an Init', 'init', initMembers(region)),
    body: list('a non-empty array of Steps', step, 1),
    steps: L.stepCount,
    loss: tagged<Loss>('a Loss', 'loss', lossMembers),
    seed: L.seed,
    restarts: defaulted(L.restartCount, 1),
  })
}

export const clipCodec = t.type({ T: L.clipSize, H: L.clipSize, W: L.clipSize }, 'a clip size')
