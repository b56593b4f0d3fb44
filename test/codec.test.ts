import test from 'ava'
import fc from 'fast-check'
import * as E from 'fp-ts/Either'
import { readFileSync } from 'node:fs'
import * as attacks from '../src/dsl/attacks.js'
import { decodeAttack, encodeAttack, parseAttackJson, validateAttack } from '../src/dsl/codec.js'
import type { CodecContext } from '../src/dsl/codec.js'
import {
  add,
  box,
  clean,
  constrain,
  crossEntropy,
  exponent,
  frames,
  gradient,
  maskRegion,
  multiply,
  normalize,
  restrictTo,
  scale,
  sign,
  targeted,
  uniform,
  uniformRatio,
} from '../src/dsl/constructors.js'
import type { Attack, Constraint, Direction, Init, Loss, Region, Step } from '../src/dsl/types.js'

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
      fc.tuple(double(), units, direction(3)).map(([alpha, u, of]) => add(scale(alpha, { units: u })(of))),
      fc.tuple(positive, units, direction(3)).map(([alpha, u, of]) => multiply(exponent(alpha, { units: u })(of))),
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

const loss: fc.Arbitrary<Loss> = fc.oneof(fc.constant(crossEntropy()), fc.nat().map(targeted))

const attack: fc.Arbitrary<Attack> = fc
  .record({
    name: fc.string({ minLength: 1, unit: 'binary' }),
    init,
    body: fc.array(step, { minLength: 1, maxLength: 3 }),
    steps: fc.integer({ min: 1, max: 100_000 }),
    loss,
    seed: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }).map((n) => n + 0),
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
      'attack.body[0].update.factor.of: unknown primitive "Sgn", expected one of Gradient, Sign, Normalize, MaskRegion',
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
    spec: edit((s) => (s.loss._tag = 'CE')),
    expected: ['attack.loss._tag: expected "CrossEntropy", got "CE"'],
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
]

for (const { title, spec, context, expected } of malformed) {
  test(`malformed: ${title}`, (t) => {
    t.deepEqual(decodeAttack(spec, context), E.left(expected))
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
