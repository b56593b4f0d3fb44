/**
 * The spec part of the hostile-input suite: malformed specs generated from the built-in attacks'
 * valid encodings (wrong types, NaN/Infinity-like values, wrong tags, deep nesting, huge arrays,
 * `__proto__`/`constructor` keys, unicode) go through `parseAttackJson` and `decodeAttack`. Each must
 * come back as Left with a message naming the path that was broken, or as Right only when the spec is
 * exactly what the decoder accepts (it encodes back to the same JSON, less any field written out with
 * its default value, and round-trips), quickly; and decoding never throws, whatever it is given.
 */
import test from 'ava'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import * as attacks from '../src/dsl/attacks.js'
import { decodeAttack, encodeAttack, parseAttackJson, SPEC_LIMITS, type CodecContext } from '../src/dsl/codec.js'
import {
  add,
  box,
  complement,
  exponent,
  exponentialDecay,
  fill,
  frames,
  gradient,
  intersection,
  margin,
  momentum,
  multiply,
  ring,
  scale,
  sign,
  stepDecay,
  targeted,
  targetedEach,
  union,
  withInit,
  withLoss,
  withRestarts,
  withTarget,
} from '../src/dsl/constructors.js'
import type { Attack } from '../src/dsl/types.js'
import { pipe } from 'fp-ts/lib/function.js'

/** Any JSON value being edited. */
type Json = any
type Path = ReadonlyArray<string | number>

/** Replaces the attack's body by one step. */
const withBody = (step: Attack['body'][number]) => (attack: Attack): Attack => ({ ...attack, body: [step] })

/** The built-in attacks, and a few more that between them use every tag of every sort. */
const bases: ReadonlyArray<Attack> = [
  ...Object.values(attacks.BUILT_IN).map((make) => make()),
  pipe(attacks.addLinf(), withInit(fill(0.5, union(box({ top: 1, left: 2, height: 3, width: 4 }), frames([0, 2]))))),
  pipe(attacks.multLinf(), withLoss(targeted(3)), withInit(fill(0, complement(intersection(ring(2), frames([1])))))),
  attacks.roa({ search: { method: 'gradient', stride: 2, topK: 4 } }),
  pipe(
    attacks.addLinf(),
    withBody(add(scale(2 / 255, { schedule: exponentialDecay(0.9) })(sign(momentum(1)(gradient()))))),
    withLoss(margin({ confidence: 5 })),
    withRestarts(3),
  ),
  pipe(
    attacks.multLinf(),
    withBody(multiply(exponent(1.01, { schedule: stepDecay({ every: 2, factor: 0.5 }) })(momentum(0.5)(gradient())))),
    withLoss(withTarget({ _tag: 'TargetedEach', labels: [2, 0, 1] })(margin())),
  ),
  pipe(attacks.addL2(), withLoss(targetedEach([1, 4]))),
]
const specs = bases.map((a) => JSON.parse(JSON.stringify(encodeAttack(a))) as Json)

/** Every path to a value inside `u` (the root excluded). */
const pathsIn = (u: Json, at: Path = []): ReadonlyArray<Path> =>
  typeof u !== 'object' || u === null
    ? []
    : Object.keys(u).flatMap((k) => {
        const key = Array.isArray(u) ? Number(k) : k
        return [[...at, key], ...pathsIn(u[k], [...at, key])]
      })

const get = (u: Json, path: Path): Json => path.reduce((v, k) => v[k], u)
const rendered = (path: Path): string => path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : `${s}.${k}`), 'attack')

/** Numbers JSON text can hold but JSON.stringify cannot write: placeholders, replaced in the text. */
const LITERALS: Readonly<Record<string, string>> = { '"<inf>"': '1e309', '"<-inf>"': '-1e309', '"<-0>"': '-0' }
const textOf = (spec: Json): string =>
  Object.entries(LITERALS).reduce((text, [from, to]) => text.split(from).join(to), JSON.stringify(spec))

/** A deep or a huge value, built once (decoding never changes its input). */
const nested = (depth: number, make: (inner: Json) => Json): Json => {
  let v: Json = 0
  for (let i = 0; i < depth; i++) v = make(v)
  return v
}
const DEEP_ARRAY = nested(1000, (v) => [v])
const DEEP_SIGN = nested(SPEC_LIMITS.depth + 10, (v) => ({ _tag: 'Sign', of: v === 0 ? { _tag: 'Gradient' } : v }))
const HUGE_ARRAY = Array.from({ length: SPEC_LIMITS.values + 10 }, (_, i) => i)
const MANY_DUPLICATES = Array.from({ length: 20_000 }, () => 3)
const ALL_TAGS = ['Attack', 'Gradient', 'Sign', 'Normalize', 'MaskRegion', 'Add', 'Multiply', 'Scale', 'Exponent', 'Step',
  'ProjectBall', 'ProjectRatio', 'Clip', 'Clean', 'Uniform', 'UniformRatio', 'Fill', 'CrossEntropy', 'Untargeted', 'Targeted',
  'Frames', 'Box', 'Rect', 'SearchedRect', 'Ring', 'Pixels', 'Union', 'Intersection', 'Complement', 'Momentum', 'Constant',
  'Exponential', 'StepDecay', 'Margin', 'TargetedEach']
const HOSTILE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '_tag ', 'Name', '', '𝔫𝔞𝔪𝔢', 'e\u0301']

/** A mutation of one spec at one path; `apply` says whether no valid spec can come out of it. */
interface Mutation {
  readonly kind: string
  readonly apply: (parent: Json, key: string | number, old: Json) => boolean
}

/** Replaces the value with `make(old)` where `applies(old)`; surely invalid then when `invalid` (at that key). */
const replace = (
  kind: string,
  make: (old: Json) => Json,
  o: { applies?: (old: Json) => boolean; invalid: boolean | ((key: string | number) => boolean) },
): Mutation => ({
  kind,
  apply: (parent, key, old) => {
    if (!(o.applies ?? (() => true))(old)) return false
    parent[key] = make(old)
    return typeof o.invalid === 'boolean' ? o.invalid : o.invalid(key)
  },
})

const isNumber = (u: Json) => typeof u === 'number'
const isArray = (u: Json) => Array.isArray(u)
const isRecord = (u: Json) => typeof u === 'object' && u !== null && !Array.isArray(u)

/** An own enumerable property, as JSON.parse makes it (assignment to `__proto__` would set the prototype). */
const define = (o: object, key: string, value: unknown) =>
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true })

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // deleting an optional field (a random start's region) or an array element can leave a valid spec
  fc.constant<Mutation>({ kind: 'delete it', apply: (p, k) => (Array.isArray(p) ? p.splice(Number(k), 1) : delete p[k], false) }),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1', '', ' 2', '0x10', '1e309').map((s) =>
    replace(`a number as the string ${JSON.stringify(s)}`, () => s, { applies: isNumber, invalid: true })),
  fc.constantFrom('<inf>', '<-inf>').map((s) => replace(`${s} (1e309 in the text)`, () => s, { invalid: true })),
  // no field takes null (but a margin's confidence), a boolean or {}, nor a number where a string was, nor a string where a number or an object was
  fc.constantFrom(null, true, false, {}, 'x').map((v) =>
    replace(`${JSON.stringify(v)} for the value`, (old) => (typeof old === 'string' && v === 'x' ? 7 : v), {
      invalid: (key) => v !== null || key !== 'confidence',
    })),
  fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -1, 1e300, -1e300, 2 ** 53, 5e-324, '<-0>'))
    .map((n) => replace(`the number ${n}`, () => n, { applies: isNumber, invalid: false })),
  // Union and Intersection have the same fields: another tag can be valid
  fc.constantFrom(...ALL_TAGS, 'Sgn', 'attack', 'Аttack', 'Gradient\u0000', '🙂', '\uD800').map((tag) =>
    replace(`the tag ${JSON.stringify(tag)}`, (old) => ({ ...old, _tag: tag }), { applies: (old) => isRecord(old) && '_tag' in old, invalid: false })),
  fc.tuple(fc.constantFrom(...HOSTILE_KEYS), fc.jsonValue({ maxDepth: 2 })).map(([key, v]): Mutation => ({
    kind: `an extra field ${JSON.stringify(key)}`,
    apply: (p, k, old) => {
      if (isRecord(old)) define(old, key, v)
      else p[k] = define({}, key, v)
      return true
    },
  })),
  fc.constantFrom(
    ['a 1000-deep array', DEEP_ARRAY],
    [`${SPEC_LIMITS.depth + 10} nested Signs`, DEEP_SIGN],
    [`an array of ${HUGE_ARRAY.length} numbers`, HUGE_ARRAY],
  ).map(([kind, v]) => replace(kind, () => v, { invalid: true })),
  // 20000 equal per-sample labels are valid (within MAX_LABELS)
  fc.constant(replace('20000 duplicate frame indices', () => MANY_DUPLICATES, { applies: isArray, invalid: (key) => key !== 'labels' })),
  fc.string({ unit: 'binary', maxLength: 8 }).map((s) =>
    replace(`the string ${JSON.stringify(s)}`, () => s, { applies: (old) => typeof old === 'string', invalid: false })),
  fc.constant(replace('an object for an array', (old) => Object.fromEntries(old.map((v: Json, i: number) => [i, v])), { applies: isArray, invalid: true })),
  fc.constant(replace('an array for an object', (old) => [old], { applies: isRecord, invalid: true })),
)

/** A mutated spec: which base, where, what. */
const hostile = fc
  .nat({ max: specs.length - 1 })
  .chain((b) => fc.record({ base: fc.constant(b), path: fc.constantFrom(...pathsIn(specs[b])), mutation }))

const clipContext = fc.option(
  fc.record({ T: fc.integer({ min: 1, max: 8 }), H: fc.integer({ min: 1, max: 40 }), W: fc.integer({ min: 1, max: 40 }) }).map((clip): CodecContext => ({ clip })),
  { nil: undefined },
)

/**
 * The spec with its default-valued fields left out, as `encodeAttack` writes it: a Constant
 * schedule, restarts 1, a null confidence (a spec may write them out; they decode to the same value).
 */
const withoutDefaults = (u: Json): Json => {
  if (Array.isArray(u)) return u.map(withoutDefaults)
  if (typeof u !== 'object' || u === null) return u
  const isDefault = (k: string, v: Json) =>
    (k === 'schedule' && JSON.stringify(v) === '{"_tag":"Constant"}' && (u._tag === 'Scale' || u._tag === 'Exponent')) ||
    (k === 'restarts' && v === 1 && u._tag === 'Attack') ||
    (k === 'confidence' && v === null && u._tag === 'Margin')
  return Object.fromEntries(Object.entries(u).filter(([k, v]) => !isDefault(k, v)).map(([k, v]) => [k, withoutDefaults(v)]))
}

/** The message's path: the text before the first ": ". */
const pathOfMessage = (m: string): string => m.slice(0, m.indexOf(': '))
/** True when one of the two paths is a prefix of the other (at a `.` or `[` boundary). */
const related = (a: string, b: string): boolean => {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a]
  return long === short || (long.startsWith(short) && /^[.[]/.test(long.slice(short.length)))
}

// generous for a loaded 2-core machine (JIT warm-up and GC included); a quadratic check takes seconds on the caps
const TIME_LIMIT_MS = 3000

test('at least 300 generated malformed specs: Left naming the broken path, or Right only for an exactly valid spec, quickly', (t) => {
  let lefts = 0
  let rights = 0
  let slowest = 0
  fc.assert(
    fc.property(hostile, clipContext, ({ base, path, mutation }, context) => {
      const spec = structuredClone(specs[base])
      const parent = get(spec, path.slice(0, -1))
      const invalid = mutation.apply(parent, path[path.length - 1]!, parent[path[path.length - 1]!])
      const baseValid = E.isRight(decodeAttack(specs[base], context))
      const text = textOf(spec)
      const started = performance.now()
      const fromText = parseAttackJson(text, context)
      const fromValue = decodeAttack(JSON.parse(text), context)
      slowest = Math.max(slowest, performance.now() - started)
      const what = `${mutation.kind} at ${rendered(path)}`
      t.deepEqual(fromText, fromValue, `${what}: the text and the parsed value decode alike`)
      if (E.isLeft(fromValue)) {
        lefts++
        const problems = fromValue.left
        t.true(problems.length >= 1 && problems.length <= 101, `${what}: ${problems.length} problems`)
        for (const p of problems) t.regex(p, /^attack([.[][^:]*)?: \S/, `${what}: "${p}" names a path under attack`)
        if (baseValid) t.true(problems.some((p) => related(pathOfMessage(p), rendered(path))), `${what}: some message names the path: ${problems.join(' | ')}`)
        t.false(problems.some((p) => p.includes('could not be checked')), `${what}: ${problems.join(' | ')}`)
      } else {
        rights++
        t.false(invalid, `${what} cannot give a valid spec, got Right`)
        // accepted means exactly this spec: nothing dropped or coerced, and only default values left out …
        t.is(JSON.stringify(encodeAttack(fromValue.right)), JSON.stringify(withoutDefaults(JSON.parse(text))), what)
        // … and it round-trips
        t.deepEqual(decodeAttack(JSON.parse(JSON.stringify(encodeAttack(fromValue.right))), context), E.right(JSON.parse(JSON.stringify(fromValue.right))), what)
      }
    }),
    { numRuns: 500, seed: 16 },
  )
  t.log(`${lefts} refused, ${rights} accepted`)
  t.true(lefts >= 300, `${lefts} malformed specs refused (and ${rights} valid ones accepted)`)
  t.true(slowest < TIME_LIMIT_MS, `the slowest took ${slowest.toFixed(0)} ms`)
})

test('the caps: text length, values, nesting depth and the number of problems reported, each with a path', (t) => {
  const spec: Json = encodeAttack(attacks.multLinf())
  const long = JSON.stringify({ ...spec, name: 'x'.repeat(SPEC_LIMITS.chars) })
  t.deepEqual(parseAttackJson(long), E.left([`spec: ${long.length} characters is more than the ${SPEC_LIMITS.chars} a spec may have (a real spec is a few kB)`]))
  t.deepEqual(decodeAttack({ ...spec, body: HUGE_ARRAY }), E.left([
    `attack.body[${SPEC_LIMITS.values - 6}]: the spec holds more than ${SPEC_LIMITS.values} values (numbers, strings, arrays and objects); a real spec holds a few hundred`,
  ]))
  const deep = decodeAttack({ ...spec, body: [{ ...spec.body[0], update: { ...spec.body[0].update, factor: { ...spec.body[0].update.factor, of: DEEP_SIGN } } }] })
  t.deepEqual(deep, E.left([`attack.body[0].update.factor${'.of'.repeat(SPEC_LIMITS.depth - 4)}: nested more than ${SPEC_LIMITS.depth} levels deep; expected at most ${SPEC_LIMITS.depth}`]))
  const duplicates = decodeAttack({ ...spec, body: [{ ...spec.body[0], update: { ...spec.body[0].update, factor: { ...spec.body[0].update.factor,
    of: { _tag: 'MaskRegion', region: { _tag: 'Frames', indices: MANY_DUPLICATES }, of: { _tag: 'Gradient' } } } } }] })
  t.true(E.isLeft(duplicates))
  const lines = E.isLeft(duplicates) ? duplicates.left : []
  t.is(lines.length, 101)
  t.is(lines[0], 'attack.body[0].update.factor.of.region.indices[1]: duplicate frame index 3')
  t.is(lines[100], `attack: ${MANY_DUPLICATES.length - 1 - 100} more problems not shown`)
})

test('a wrong-type value is shown in a message by its first characters only, however large', (t) => {
  const spec: Json = encodeAttack(attacks.multLinf())
  const started = performance.now()
  const decoded = decodeAttack({ ...spec, name: Array.from({ length: 90_000 }, () => 'abc') })
  t.true(performance.now() - started < TIME_LIMIT_MS)
  t.deepEqual(decoded, E.left(['attack.name: expected a non-empty string (a name), got ["abc","abc","abc","abc","abc","abc","abc","abc","abc","a...']))
})

test('decoding never throws: arbitrary values, cycles, throwing getters and proxies are reported under `attack`', (t) => {
  fc.assert(
    fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true, withObjectString: true, withBoxedValues: true }), (u) => {
      const decoded = decodeAttack(u)
      t.true(E.isLeft(decoded))
      if (E.isLeft(decoded)) for (const m of decoded.left) t.regex(m, /^attack[.[:]/)
    }),
    { numRuns: 300 },
  )
  const getter = { ...(encodeAttack(attacks.addLinf()) as object) }
  Object.defineProperty(getter, 'name', { enumerable: true, get: () => { throw new Error('boom') } })
  t.deepEqual(decodeAttack(getter), E.left(['attack: could not be checked: boom']))
  const proxy = new Proxy({}, { ownKeys: () => { throw new Error('no keys') } })
  t.deepEqual(decodeAttack(proxy), E.left(['attack: could not be checked: no keys']))
  const cyclic: Json = structuredClone(encodeAttack(attacks.addLinf()))
  cyclic.body[0].update.offset.of = cyclic.body[0].update.offset
  t.deepEqual(decodeAttack(cyclic), E.left(['attack.body[0].update.offset.of: the value contains itself (a cycle); expected plain JSON data']))
})

test('a spec that starts with a byte-order mark decodes as without it', (t) => {
  const a = attacks.multRoa()
  t.deepEqual(parseAttackJson(`\uFEFF${JSON.stringify(encodeAttack(a), null, 2)}`), E.right(a))
  t.deepEqual(parseAttackJson('\uFEFF'), E.left(['spec: not valid JSON: Unexpected end of JSON input']))
})
