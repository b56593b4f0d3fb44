import test from 'ava'
import fc from 'fast-check'
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import { readFileSync } from 'node:fs'
import * as attacks from '../src/dsl/attacks.js'
import {
  decodeAttack,
  decodeAttackIssues,
  encodeAttack,
  formatIssues,
  parseAttackJson,
  parseAttackJsonIssues,
  renderIssue,
  validateAttack,
} from '../src/dsl/codec.js'
import type { CodecContext, SpecIssue } from '../src/dsl/codec.js'
import {
  add,
  box,
  clean,
  constant,
  constrain,
  crossEntropy,
  exponent,
  exponentialDecay,
  frames,
  gradient,
  margin,
  maskRegion,
  momentum,
  multiply,
  normalize,
  restrictTo,
  scale,
  sign,
  stepDecay,
  targeted,
  targetedEach,
  uniform,
  uniformRatio,
  withRestarts,
  withTarget,
} from '../src/dsl/constructors.js'
import type { Attack, Constraint, Direction, Init, Loss, Region, Schedule, Step, Target } from '../src/dsl/types.js'

// -------------------------------------------------------------------------------------------------
// an arbitrary of attack values (covering every tag)
// -------------------------------------------------------------------------------------------------

/** Finite doubles; -0 is mapped to 0 (JSON cannot carry -0, and it means the same as 0 here). */
const double = (c: fc.DoubleConstraints = {}) =>
  fc.double({ noNaN: true, noDefaultInfinity: true, ...c }).map((x) => x + 0)
const positive = double({ min: 0, minExcluded: true })
const aboveOne = double({ min: 1, minExcluded: true })
const units = fc.constantFrom('absolute' as const, 'rms' as const)
const ballNorm = fc.constantFrom('linf' as const, 'l2' as const)

const region: fc.Arbitrary<Region> = fc.oneof(
  fc.uniqueArray(fc.nat({ max: 255 }), { maxLength: 5 }).map(frames),
  fc
    .record({
      top: fc.nat(200),
      left: fc.nat(200),
      height: fc.integer({ min: 1, max: 200 }),
      width: fc.integer({ min: 1, max: 200 }),
    })
    .map(box),
)

/** Directions nested at most `depth` deep. */
const direction = (depth: number): fc.Arbitrary<Direction> =>
  depth === 0
    ? fc.constant(gradient())
    : fc.oneof(
        fc.constant(gradient()),
        direction(depth - 1).map(sign),
        fc
          .tuple(fc.constantFrom('sample' as const, 'frame' as const), direction(depth - 1))
          .map(([scope, of]) => normalize({ scope })(of)),
        fc.tuple(region, direction(depth - 1)).map(([r, of]) => maskRegion(r)(of)),
        fc.tuple(double({ min: 0, max: 10 }), direction(depth - 1)).map(([mu, of]) => momentum(mu)(of)),
      )

const unitInterval = double({ min: 0, max: 1, minExcluded: true })
const schedule: fc.Arbitrary<Schedule> = fc.oneof(
  fc.constant(constant()),
  unitInterval.map(exponentialDecay),
  fc.record({ every: fc.integer({ min: 1, max: 100_000 }), factor: unitInterval }).map(stepDecay),
)

const constraint: fc.Arbitrary<Constraint> = fc.oneof(
  fc.record({ norm: ballNorm, eps: positive, units }).map((c): Constraint => ({ _tag: 'ProjectBall', ...c })),
  fc
    .record({
      norm: ballNorm,
      eps: aboveOne,
      reading: fc.constantFrom('log' as const, 'literal' as const, 'deviation' as const),
      units,
    })
    .map((c): Constraint => ({ _tag: 'ProjectRatio', ...c })),
  fc
    .tuple(double(), double())
    .filter(([a, b]) => a !== b)
    .map(([a, b]): Constraint => ({ _tag: 'Clip', lo: Math.min(a, b), hi: Math.max(a, b) })),
)

const step: fc.Arbitrary<Step> = fc
  .tuple(
    fc.oneof(
      fc.tuple(double(), units, schedule, direction(3)).map(([alpha, u, sc, of]) => add(scale(alpha, { units: u, schedule: sc })(of))),
      fc.tuple(positive, units, schedule, direction(3)).map(([alpha, u, sc, of]) => multiply(exponent(alpha, { units: u, schedule: sc })(of))),
    ),
    fc.array(constraint, { maxLength: 4 }),
  )
  .map(([s, cs]) => cs.reduce((acc, c) => constrain(c)(acc), s))

const optionalRegion = fc.option(region, { nil: undefined }).map((r) => (r === undefined ? {} : { region: r }))

const init: fc.Arbitrary<Init> = fc.oneof(
  fc.constant(clean()),
  fc
    .tuple(ballNorm, positive, units, optionalRegion)
    .map(([norm, eps, u, r]) => uniform({ norm, eps, units: u, ...r })),
  fc.tuple(aboveOne, optionalRegion).map(([eps, r]) => uniformRatio({ eps, ...r })),
)

const target: fc.Arbitrary<Target> = fc.oneof(
  fc.constant<Target>({ _tag: 'Untargeted' }),
  fc.nat().map((label): Target => ({ _tag: 'Targeted', label })),
  fc.array(fc.nat(), { minLength: 1, maxLength: 8 }).map((labels): Target => ({ _tag: 'TargetedEach', labels })),
)

const loss: fc.Arbitrary<Loss> = fc.oneof(
  fc.constant(crossEntropy()),
  fc.nat().map(targeted),
  fc.array(fc.nat(), { minLength: 1, maxLength: 8 }).map(targetedEach),
  fc
    .tuple(target, fc.option(double({ min: 0 }), { nil: undefined }))
    .map(([tg, confidence]) => withTarget(tg)(margin(confidence === undefined ? {} : { confidence }))),
)

const attack: fc.Arbitrary<Attack> = fc
  .record({
    name: fc.string({ minLength: 1, unit: 'binary' }),
    init,
    body: fc.array(step, { minLength: 1, maxLength: 3 }),
    steps: fc.integer({ min: 1, max: 100_000 }),
    loss,
    seed: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }).map((n) => n + 0),
    restarts: fc.integer({ min: 1, max: 1000 }),
  })
  .map((r): Attack => ({ _tag: 'Attack', ...r }))

const throughJson = (a: Attack): unknown => JSON.parse(JSON.stringify(encodeAttack(a)))

// -------------------------------------------------------------------------------------------------
// round trips
// -------------------------------------------------------------------------------------------------

test('any attack round-trips through encode, JSON and decode', (t) => {
  fc.assert(
    fc.property(attack, (a) => {
      t.deepEqual(decodeAttack(throughJson(a)), E.right(a))
      t.deepEqual(validateAttack(a), [])
    }),
    { numRuns: 300 },
  )
})

test('encodeAttack is a JSON-stable deep copy without undefined fields', (t) => {
  fc.assert(
    fc.property(attack, (a) => {
      const encoded = encodeAttack(a)
      t.not(encoded, a)
      t.deepEqual(JSON.parse(JSON.stringify(encoded)), encoded)
    }),
  )
  const init = (encodeAttack(attacks.addLinf()) as { init: object }).init
  t.deepEqual(init, { _tag: 'Uniform', norm: 'linf', eps: 4 / 255, units: 'absolute' })
  t.false('region' in init)
})

/** Every object and array inside `u`, `u` included. */
const objectsIn = (u: unknown): ReadonlyArray<object> =>
  typeof u === 'object' && u !== null ? [u, ...Object.values(u).flatMap(objectsIn)] : []

test('decoding a value built in code gives a fresh copy that shares nothing with it', (t) => {
  fc.assert(
    fc.property(attack, (a) => {
      const decoded = decodeAttack(a)
      t.deepEqual(decoded, E.right(a))
      const original = new Set(objectsIn(a))
      t.true(E.isRight(decoded) && objectsIn(decoded.right).every((o) => !original.has(o)))
    }),
  )
})

for (const [name, a] of Object.entries(attacks.BUILT_IN).map(([n, make]) => [n, make()] as const)) {
  test(`${name}: round-trips, and examples/specs/${name}.json decodes to it`, (t) => {
    t.deepEqual(decodeAttack(throughJson(a)), E.right(a))
    t.deepEqual(validateAttack(a, { clip: { T: 16, H: 112, W: 112 } }), [])
    const text = readFileSync(new URL(`../examples/specs/${name}.json`, import.meta.url), 'utf8')
    t.deepEqual(parseAttackJson(text), E.right(a))
    // the defaults (Constant schedule, restarts 1) are left out: the JSON of the built-ins is unchanged
    t.deepEqual(encodeAttack(a), JSON.parse(text))
  })
}

test('a region inside the clip is valid; the same region is rejected on a smaller clip', (t) => {
  const a = restrictTo(box({ top: 41, left: 41, height: 30, width: 30 }))(attacks.addLinf())
  t.deepEqual(validateAttack(a, { clip: { T: 16, H: 112, W: 112 } }), [])
  t.deepEqual(validateAttack(a, { clip: { T: 16, H: 112, W: 64 } }), [
    "attack.init.region: Box columns 41..71 lie outside the clip's 64 columns",
    "attack.body[0].update.offset.of.region: Box columns 41..71 lie outside the clip's 64 columns",
  ])
  t.deepEqual(validateAttack(a), [])
})

// -------------------------------------------------------------------------------------------------
// malformed specs
// -------------------------------------------------------------------------------------------------

/** A spec being edited: any JSON. */
type Json = any

/** Mult-L∞'s JSON spec, edited. */
const edit = (change: (spec: Json) => void): unknown => {
  const spec: Json = structuredClone(encodeAttack(attacks.multLinf()))
  change(spec)
  return spec
}

const clip16: CodecContext = { clip: { T: 16, H: 16, W: 112 } }

/** MI-FGSM with a decaying step, a capped margin towards a target per sample, and 3 restarts. */
const extended: Attack = pipe(
  gradient(),
  momentum(1),
  sign,
  scale(2 / 255, { schedule: exponentialDecay(0.9) }),
  add,
  constrain({ _tag: 'ProjectBall', norm: 'linf', eps: 16 / 255, units: 'absolute' }),
  (step) => [step],
  (body): Attack => ({
    _tag: 'Attack',
    name: 'mi-margin',
    init: clean(),
    body,
    steps: 10,
    loss: withTarget({ _tag: 'TargetedEach', labels: [3, 1, 4] })(margin({ confidence: 5 })),
    seed: 0,
    restarts: 3,
  }),
)

/** The extended attack's JSON spec, edited. */
const editExtended = (change: (spec: Json) => void): unknown => {
  const spec: Json = structuredClone(encodeAttack(extended))
  change(spec)
  return spec
}
const OFFSET = 'attack.body[0].update.offset'

interface Malformed {
  readonly title: string
  readonly spec: unknown
  readonly context?: CodecContext
  readonly expected: ReadonlyArray<string>
}

const malformed: ReadonlyArray<Malformed> = [
  {
    title: 'ratio bound ≤ 1',
    spec: edit((s) => (s.body[0].constraints[0].eps = 0.9)),
    expected: ['attack.body[0].constraints[0].eps: expected a number > 1 (a ratio bound), got 0.9'],
  },
  {
    title: 'ratio bound of a random start = 1',
    spec: edit((s) => (s.init = { _tag: 'UniformRatio', eps: 1 })),
    expected: ['attack.init.eps: expected a number > 1 (a ratio bound), got 1'],
  },
  {
    title: 'negative steps',
    spec: edit((s) => (s.steps = -3)),
    expected: ['attack.steps: expected an integer ≥ 1 (a step count), got -3'],
  },
  {
    title: 'non-integer steps',
    spec: edit((s) => (s.steps = 2.5)),
    expected: ['attack.steps: expected an integer ≥ 1 (a step count), got 2.5'],
  },
  {
    title: 'absurd steps',
    spec: edit((s) => (s.steps = 1e9)),
    expected: ['attack.steps: expected at most 100000 steps, got 1000000000'],
  },
  {
    title: 'unknown primitive',
    spec: edit((s) => (s.body[0].update.factor.of = { _tag: 'Sgn', of: { _tag: 'Gradient' } })),
    expected: [
      'attack.body[0].update.factor.of: unknown primitive "Sgn", expected one of Gradient, Sign, Normalize, MaskRegion, Momentum',
    ],
  },
  {
    title: 'non-string constraint tag',
    spec: edit((s) => (s.body[0].constraints[1] = { _tag: 7 })),
    expected: ['attack.body[0].constraints[1]: unknown constraint 7, expected one of ProjectBall, ProjectRatio, Clip'],
  },
  {
    title: 'missing _tag',
    spec: edit((s) => (s.init = {})),
    expected: ['attack.init: missing _tag, expected one of Clean, Uniform, UniformRatio, Fill'],
  },
  {
    title: 'wrong _tag of a single-tag record',
    spec: edit((s) => (s.body[0]._tag = 'Stp')),
    expected: ['attack.body[0]._tag: expected "Step", got "Stp"'],
  },
  {
    title: 'unknown loss',
    spec: edit((s) => (s.loss._tag = 'CE')),
    expected: ['attack.loss: unknown loss "CE", expected one of CrossEntropy, Margin'],
  },
  {
    title: 'missing field',
    spec: edit((s) => delete s.seed),
    expected: ['attack.seed: missing, expected a safe integer (a seed)'],
  },
  {
    title: 'string for a number',
    spec: edit((s) => (s.steps = '5')),
    expected: ['attack.steps: expected an integer ≥ 1 (a step count), got "5"'],
  },
  {
    title: 'unknown units',
    spec: edit((s) => (s.body[0].update.factor.units = 'abs')),
    expected: ['attack.body[0].update.factor.units: expected "absolute" | "rms", got "abs"'],
  },
  {
    title: 'a number for a direction',
    spec: edit((s) => (s.body[0].update.factor.of.of = 3)),
    expected: ['attack.body[0].update.factor.of.of: expected a Direction, got 3'],
  },
  {
    title: 'unknown field',
    spec: edit((s) => (s.body[0].foo = 1)),
    expected: ['attack.body[0].foo: unknown field'],
  },
  {
    title: 'clip lo ≥ hi',
    spec: edit((s) => (s.body[0].constraints[1] = { _tag: 'Clip', lo: 1, hi: 0 })),
    expected: ['attack.body[0].constraints[1]: expected lo < hi, got lo=1, hi=0'],
  },
  {
    title: 'empty body',
    spec: edit((s) => (s.body = [])),
    expected: ['attack.body: expected a non-empty array of Steps, got []'],
  },
  {
    title: 'body not an array',
    spec: edit((s) => (s.body = {})),
    expected: ['attack.body: expected a non-empty array of Steps, got {}'],
  },
  {
    title: 'Box outside the clip',
    spec: edit((s) => (s.init = uniformRatio({ eps: 1.04, region: box({ top: 10, left: 0, height: 30, width: 30 }) }))),
    context: clip16,
    expected: ["attack.init.region: Box rows 10..40 lie outside the clip's 16 rows"],
  },
  {
    title: 'Box with a negative top and zero width',
    spec: edit((s) => (s.init = uniformRatio({ eps: 1.04, region: box({ top: -1, left: 0, height: 3, width: 0 }) }))),
    expected: [
      'attack.init.region.top: expected an integer ≥ 0 (a pixel offset), got -1',
      'attack.init.region.width: expected an integer ≥ 1 (a size in pixels), got 0',
    ],
  },
  {
    title: 'frame index ≥ T',
    spec: edit((s) => (s.body[0].update.factor.of = maskRegion(frames([0, 16]))(gradient()))),
    context: clip16,
    expected: ["attack.body[0].update.factor.of.region.indices[1]: frame 16 lies outside the clip's 16 frames"],
  },
  {
    title: 'duplicate frame index',
    spec: edit((s) => (s.body[0].update.factor.of = maskRegion(frames([3, 1, 3]))(gradient()))),
    expected: ['attack.body[0].update.factor.of.region.indices[2]: duplicate frame index 3'],
  },
  {
    title: 'targeted label −1',
    spec: edit((s) => (s.loss.target = { _tag: 'Targeted', label: -1 })),
    expected: ['attack.loss.target.label: expected an integer ≥ 0 (a class label), got -1'],
  },
  {
    title: 'exponent alpha ≤ 0',
    spec: edit((s) => (s.body[0].update.factor.alpha = 0)),
    expected: ['attack.body[0].update.factor.alpha: expected a number > 0 (a step factor), got 0'],
  },
  { title: 'null', spec: null, expected: ['attack: expected an Attack, got null'] },
  { title: 'a number', spec: 42, expected: ['attack: expected an Attack, got 42'] },
  {
    title: 'an array',
    spec: [edit(() => {})],
    expected: ['attack: expected an Attack, got [{"_tag":"Attack","name":"mult-linf","init":{"_tag":"Clea...'],
  },
  {
    title: 'several problems at once',
    spec: edit((s) => {
      s.name = ''
      s.steps = 0
      s.body[0].constraints[0].eps = 0.5
      s.body[0].update.factor.of = { _tag: 'Normalize', norm: 'l1', scope: 'clip', of: { _tag: 'Gradient' } }
      s.colour = 'red'
    }),
    expected: [
      'attack.name: expected a non-empty string (a name), got ""',
      'attack.body[0].update.factor.of.norm: expected "l2", got "l1"',
      'attack.body[0].update.factor.of.scope: expected "sample" | "frame", got "clip"',
      'attack.body[0].constraints[0].eps: expected a number > 1 (a ratio bound), got 0.5',
      'attack.steps: expected an integer ≥ 1 (a step count), got 0',
      'attack.colour: unknown field',
    ],
  },
  {
    title: 'an invalid context',
    spec: edit(() => {}),
    context: { clip: { T: 0, H: 16, W: 16.5 } },
    expected: [
      'context.clip.T: expected an integer ≥ 1 (a clip size), got 0',
      'context.clip.W: expected an integer ≥ 1 (a clip size), got 16.5',
    ],
  },
  // momentum
  {
    title: 'momentum decay < 0',
    spec: editExtended((s) => (s.body[0].update.offset.of.of.decay = -0.5)),
    expected: [`${OFFSET}.of.of.decay: expected a number in [0, 10] (a momentum decay), got -0.5`],
  },
  {
    title: 'momentum decay > 10',
    spec: editExtended((s) => (s.body[0].update.offset.of.of.decay = 11)),
    expected: [`${OFFSET}.of.of.decay: expected a number in [0, 10] (a momentum decay), got 11`],
  },
  {
    title: 'momentum without a decay, and with a stray field',
    spec: editExtended((s) => {
      delete s.body[0].update.offset.of.of.decay
      s.body[0].update.offset.of.of.mu = 1
    }),
    expected: [`${OFFSET}.of.of.decay: missing, expected a number in [0, 10] (a momentum decay)`, `${OFFSET}.of.of.mu: unknown field`],
  },
  {
    title: 'momentum decay as a string',
    spec: editExtended((s) => (s.body[0].update.offset.of.of.decay = '0.9')),
    expected: [`${OFFSET}.of.of.decay: expected a number in [0, 10] (a momentum decay), got "0.9"`],
  },
  // schedules
  {
    title: 'exponential rate 0',
    spec: editExtended((s) => (s.body[0].update.offset.schedule.rate = 0)),
    expected: [`${OFFSET}.schedule.rate: expected a number in (0, 1] (a decay rate), got 0`],
  },
  {
    title: 'exponential rate > 1',
    spec: editExtended((s) => (s.body[0].update.offset.schedule.rate = 1.5)),
    expected: [`${OFFSET}.schedule.rate: expected a number in (0, 1] (a decay rate), got 1.5`],
  },
  {
    title: 'step decay every 0 and factor 0',
    spec: editExtended((s) => (s.body[0].update.offset.schedule = { _tag: 'StepDecay', every: 0, factor: 0 })),
    expected: [
      `${OFFSET}.schedule.every: expected an integer ≥ 1 (iterations between decays), got 0`,
      `${OFFSET}.schedule.factor: expected a number in (0, 1] (a decay factor), got 0`,
    ],
  },
  {
    title: 'step decay every 2.5, factor missing',
    spec: editExtended((s) => (s.body[0].update.offset.schedule = { _tag: 'StepDecay', every: 2.5 })),
    expected: [
      `${OFFSET}.schedule.every: expected an integer ≥ 1 (iterations between decays), got 2.5`,
      `${OFFSET}.schedule.factor: missing, expected a number in (0, 1] (a decay factor)`,
    ],
  },
  {
    title: 'step decay every absurd',
    spec: editExtended((s) => (s.body[0].update.offset.schedule = { _tag: 'StepDecay', every: 1e6, factor: 0.5 })),
    expected: [`${OFFSET}.schedule.every: expected at most 100000 iterations, got 1000000`],
  },
  {
    title: 'unknown schedule',
    spec: editExtended((s) => (s.body[0].update.offset.schedule = { _tag: 'Linear' })),
    expected: [`${OFFSET}.schedule: unknown schedule "Linear", expected one of Constant, Exponential, StepDecay`],
  },
  {
    title: 'a null schedule',
    spec: edit((s) => (s.body[0].update.factor.schedule = null)),
    expected: ['attack.body[0].update.factor.schedule: expected a Schedule, got null'],
  },
  {
    title: 'a constant schedule with a rate',
    spec: edit((s) => (s.body[0].update.factor.schedule = { _tag: 'Constant', rate: 0.5 })),
    expected: ['attack.body[0].update.factor.schedule.rate: unknown field'],
  },
  // the margin loss
  {
    title: 'margin confidence < 0',
    spec: editExtended((s) => (s.loss.confidence = -1)),
    expected: ['attack.loss.confidence: expected a number ≥ 0 (a confidence) or null, got -1'],
  },
  {
    title: 'margin confidence as a string',
    spec: editExtended((s) => (s.loss.confidence = '5')),
    expected: ['attack.loss.confidence: expected a number ≥ 0 (a confidence) or null, got "5"'],
  },
  {
    title: 'margin without a target',
    spec: editExtended((s) => delete s.loss.target),
    expected: ['attack.loss.target: missing, expected a Target'],
  },
  {
    title: 'a confidence on cross-entropy',
    spec: edit((s) => (s.loss.confidence = 5)),
    expected: ['attack.loss.confidence: unknown field'],
  },
  // per-sample targets
  {
    title: 'no per-sample labels',
    spec: editExtended((s) => (s.loss.target.labels = [])),
    expected: ['attack.loss.target.labels: expected a non-empty array of class labels, got []'],
  },
  {
    title: 'a negative and a fractional per-sample label',
    spec: editExtended((s) => (s.loss.target.labels = [1, -2, 0.5])),
    expected: [
      'attack.loss.target.labels[1]: expected an integer ≥ 0 (a class label), got -2',
      'attack.loss.target.labels[2]: expected an integer ≥ 0 (a class label), got 0.5',
    ],
  },
  {
    title: 'per-sample labels not an array',
    spec: editExtended((s) => (s.loss.target.labels = 3)),
    expected: ['attack.loss.target.labels: expected a non-empty array of class labels, got 3'],
  },
  {
    title: 'too many per-sample labels',
    spec: editExtended((s) => (s.loss.target.labels = Array.from({ length: 70_000 }, () => 1))),
    expected: ['attack.loss.target.labels: expected at most 65536 labels (one per sample), got 70000'],
  },
  {
    title: 'a single label on a per-sample target',
    spec: editExtended((s) => (s.loss.target = { _tag: 'TargetedEach', label: 3 })),
    expected: ['attack.loss.target.labels: missing, expected a non-empty array of class labels', 'attack.loss.target.label: unknown field'],
  },
  {
    title: 'unknown target',
    spec: editExtended((s) => (s.loss.target._tag = 'Each')),
    expected: ['attack.loss.target: unknown target "Each", expected one of Untargeted, Targeted, TargetedEach'],
  },
  // restarts
  {
    title: 'restarts 0',
    spec: editExtended((s) => (s.restarts = 0)),
    expected: ['attack.restarts: expected an integer ≥ 1 (a restart count), got 0'],
  },
  {
    title: 'restarts 1.5',
    spec: editExtended((s) => (s.restarts = 1.5)),
    expected: ['attack.restarts: expected an integer ≥ 1 (a restart count), got 1.5'],
  },
  {
    title: 'absurd restarts',
    spec: editExtended((s) => (s.restarts = 1001)),
    expected: ['attack.restarts: expected at most 1000 restarts, got 1001'],
  },
  {
    title: 'restarts as a string',
    spec: edit((s) => (s.restarts = '3')),
    expected: ['attack.restarts: expected an integer ≥ 1 (a restart count), got "3"'],
  },
]

for (const { title, spec, context, expected } of malformed) {
  test(`malformed: ${title}`, (t) => {
    t.deepEqual(decodeAttack(spec, context), E.left(expected))
    // the lines are the structured issues, rendered
    t.deepEqual(pipe(decodeAttackIssues(spec, context), E.mapLeft((issues) => formatIssues(issues))), E.left(expected))
  })
}

test('invalid JSON text is reported, not thrown', (t) => {
  const text = '{"_tag": "Attack",'
  const parseError = t.throws(() => JSON.parse(text))
  t.deepEqual(parseAttackJson(text), E.left([`spec: not valid JSON: ${parseError.message}`]))
  t.deepEqual(parseAttackJson('42'), E.left(['attack: expected an Attack, got 42']))
})

test('NaN and Infinity in values built in code are rejected', (t) => {
  const a = attacks.addLinf({ alpha: Number.NaN, eps: Number.POSITIVE_INFINITY })
  t.deepEqual(validateAttack(a), [
    'attack.init.eps: expected a finite number, got Infinity',
    'attack.body[0].update.offset.alpha: expected a finite number, got NaN',
    'attack.body[0].constraints[0].eps: expected a finite number, got Infinity',
  ])
})

test('a cyclic value is reported, not thrown', (t) => {
  const cyclic: { _tag: 'Sign'; of: Direction } = { _tag: 'Sign', of: gradient() }
  cyclic.of = cyclic
  const a = { ...attacks.addLinf(), body: [add(scale(1)(cyclic))] }
  const problems = validateAttack(a)
  t.deepEqual(problems, ['attack.body[0].update.offset.of.of: the value contains itself (a cycle); expected plain JSON data'])
})

test('decodeAttack never throws on arbitrary JSON and reports every problem under `attack`', (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), (json) => {
      const decoded = decodeAttack(json)
      t.true(E.isLeft(decoded))
      if (E.isLeft(decoded)) {
        t.true(decoded.left.length > 0)
        for (const message of decoded.left) t.regex(message, /^attack[.[:]/)
      }
    }),
  )
})

test('frame indices are checked in linear time: 90,000 distinct indices decode in well under a second', (t) => {
  const indices = Array.from({ length: 90_000 }, (_, i) => i)
  const spec = edit((s) => (s.body[0].update.factor.of = maskRegion(frames(indices))(gradient())))
  const started = performance.now()
  const decoded = parseAttackJson(JSON.stringify(spec))
  const ms = performance.now() - started
  t.true(E.isRight(decoded))
  t.true(ms < 2000, `took ${ms.toFixed(0)} ms`)
})

// -------------------------------------------------------------------------------------------------
// the new nodes: round trips and defaults
// -------------------------------------------------------------------------------------------------

test('momentum, schedules, the margin loss, per-sample targets and restarts round-trip', (t) => {
  t.deepEqual(decodeAttack(throughJson(extended)), E.right(extended))
  const spec: Json = throughJson(extended)
  t.deepEqual(spec.body[0].update.offset.of, { _tag: 'Sign', of: { _tag: 'Momentum', decay: 1, of: { _tag: 'Gradient' } } })
  t.deepEqual(spec.body[0].update.offset.schedule, { _tag: 'Exponential', rate: 0.9 })
  t.deepEqual(spec.loss, { _tag: 'Margin', target: { _tag: 'TargetedEach', labels: [3, 1, 4] }, confidence: 5 })
  t.is(spec.restarts, 3)
  const decay = pipe(attacks.multLinf(), (a) => ({ ...a, body: [multiply(exponent(1.01, { schedule: stepDecay({ every: 3, factor: 0.5 }) })(gradient()))] }))
  t.deepEqual(decodeAttack(throughJson(decay)), E.right(decay))
  t.deepEqual((throughJson(decay) as Json).body[0].update.factor.schedule, { _tag: 'StepDecay', every: 3, factor: 0.5 })
})

test('the defaults may be left out or written out, and encodeAttack leaves them out', (t) => {
  const plain = withTarget({ _tag: 'Untargeted' })(margin())
  const a = pipe(attacks.addLinf(), (x) => ({ ...x, loss: plain }))
  const written: Json = structuredClone(encodeAttack(a))
  t.false('restarts' in written)
  t.false('schedule' in written.body[0].update.offset)
  t.deepEqual(written.loss, { _tag: 'Margin', target: { _tag: 'Untargeted' } })
  written.restarts = 1
  written.body[0].update.offset.schedule = { _tag: 'Constant' }
  written.loss.confidence = null
  t.deepEqual(decodeAttack(written), E.right(a))
  t.deepEqual(encodeAttack(a), encodeAttack(E.getOrElseW(() => a)(decodeAttack(written))))
  t.is(a.restarts, 1)
  t.is(withRestarts(2)(a).restarts, 2)
  t.is((encodeAttack(withRestarts(2)(a)) as Json).restarts, 2)
})

test('non-finite values of the new nodes built in code are rejected', (t) => {
  const a: Attack = { ...extended, loss: margin({ confidence: Number.POSITIVE_INFINITY }) }
  t.deepEqual(validateAttack(a), ['attack.loss.confidence: expected a finite number, got Infinity'])
  const b = pipe(attacks.addLinf(), (x) => ({ ...x, body: [add(scale(0.01, { schedule: exponentialDecay(Number.NaN) })(momentum(Number.NaN)(gradient())))] }))
  t.deepEqual(validateAttack(b), [
    'attack.body[0].update.offset.schedule.rate: expected a finite number, got NaN',
    'attack.body[0].update.offset.of.decay: expected a finite number, got NaN',
  ])
})

// -------------------------------------------------------------------------------------------------
// issues as data
// -------------------------------------------------------------------------------------------------

test('decodeAttackIssues: path, expected, got and kind of each problem', (t) => {
  const spec = edit((s) => {
    s.body[0].constraints[0].eps = 0.9
    delete s.seed
    s.body[0].update.factor.of = { _tag: 'Sgn' }
    s.body[0].foo = 1
  })
  const issues: ReadonlyArray<SpecIssue> = [
    { path: 'attack.body[0].update.factor.of', expected: 'one of Gradient, Sign, Normalize, MaskRegion, Momentum', got: 'unknown primitive "Sgn"', kind: 'unknown' },
    { path: 'attack.body[0].constraints[0].eps', expected: 'a number > 1 (a ratio bound)', got: '0.9', kind: 'mismatch' },
    { path: 'attack.body[0].foo', expected: 'one of the fields _tag, update, constraints', got: 'unknown field', kind: 'invalid' },
    { path: 'attack.seed', expected: 'a safe integer (a seed)', got: 'missing', kind: 'missing' },
  ]
  t.deepEqual(decodeAttackIssues(spec), E.left(issues))
  t.deepEqual(issues.map(renderIssue), [
    'attack.body[0].update.factor.of: unknown primitive "Sgn", expected one of Gradient, Sign, Normalize, MaskRegion, Momentum',
    'attack.body[0].constraints[0].eps: expected a number > 1 (a ratio bound), got 0.9',
    'attack.body[0].foo: unknown field',
    'attack.seed: missing, expected a safe integer (a seed)',
  ])
  t.deepEqual(decodeAttackIssues(edit((s) => (s.init = {}))), E.left([
    { path: 'attack.init', expected: 'one of Clean, Uniform, UniformRatio, Fill', got: 'missing _tag', kind: 'missing' },
  ]))
  const cyclic: Json = structuredClone(encodeAttack(attacks.addLinf()))
  cyclic.body[0].update.offset.of = cyclic.body[0].update.offset
  t.deepEqual(decodeAttackIssues(cyclic), E.left([
    { path: 'attack.body[0].update.offset.of', expected: 'plain JSON data', got: 'the value contains itself (a cycle)', kind: 'limit' },
  ]))
  t.deepEqual(decodeAttackIssues(encodeAttack(extended)), E.right(extended))
})

test('parseAttackJsonIssues: bad text is an issue at `spec`; formatIssues caps the lines at 100 and counts the rest', (t) => {
  const parsed = parseAttackJsonIssues('{')
  t.true(E.isLeft(parsed) && parsed.left.length === 1 && parsed.left[0]!.path === 'spec' && parsed.left[0]!.kind === 'invalid')
  t.true(E.isLeft(parsed) && parsed.left[0]!.got.startsWith('not valid JSON: '))
  const many: ReadonlyArray<SpecIssue> = Array.from({ length: 150 }, (_, i) => ({ path: `attack.x[${i}]`, expected: 'y', got: String(i), kind: 'mismatch' }))
  const lines = formatIssues(many)
  t.is(lines.length, 101)
  t.is(lines[0], 'attack.x[0]: expected y, got 0')
  t.is(lines[100], 'attack: 50 more problems not shown')
  // decodeAttackIssues gives every issue; decodeAttack the first 100 lines and a count
  const dup = edit((s) => (s.body[0].update.factor.of = maskRegion(frames(Array.from({ length: 300 }, () => 3)))(gradient())))
  const all = decodeAttackIssues(dup)
  t.true(E.isLeft(all) && all.left.length === 299)
  t.deepEqual(decodeAttack(dup), E.left(formatIssues(E.isLeft(all) ? all.left : [])))
  t.true(E.isLeft(all) && formatIssues(all.left)[100] === 'attack: 199 more problems not shown')
})
