/**
 * io-ts codecs for attack values: JSON specs in, typed `Attack` values out, with one readable message
 * per problem, e.g. `attack.body[0].constraints[0].eps: expected a number > 1 (a ratio bound), got 0.9`.
 *
 * The JSON format is the value format itself (plain objects with `_tag` discriminants and the field
 * names of `types.ts`). Every problem is reported, not just the first; unknown fields are problems, so
 * a typo in a spec never passes silently. Errors are data: nothing here throws on bad input.
 *
 * @example
 * import { parseAttackJson } from 'multav'
 * parseAttackJson('{"_tag": "Attack", "steps": 0}')
 * // left(['attack.name: missing, expected a non-empty string (a name)', …,
 * //       'attack.steps: expected an integer ≥ 1 (a step count), got 0', …])
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import type { Attack, Constraint, Direction, Init, Region, Step, Target, Update } from './types.js'

/** What is known about the clip the attack will run on; regions are then checked against it. */
export interface CodecContext {
  readonly clip?: { readonly T: number; readonly H: number; readonly W: number }
}

/** Iteration counts above this are taken as mistakes. */
const MAX_STEPS = 100_000

/**
 * Size limits of a spec, so that a hostile or mistaken one is refused quickly (decoding is linear in
 * the spec's size, and a real spec is a few kB): characters of JSON text, values (numbers, strings,
 * arrays, objects, counted in one pass before decoding) and levels of nesting.
 */
export const SPEC_LIMITS = { chars: 1_048_576, values: 100_000, depth: 64 } as const

/** Problems reported at most; the rest are counted in one last line. */
const MAX_REPORTED = 100

// -------------------------------------------------------------------------------------------------
// codec builders
// -------------------------------------------------------------------------------------------------

type Codec<A> = t.Type<A, unknown, unknown>

/** A custom codec whose guard is its own validation. */
const codec = <A>(name: string, validate: t.Validate<unknown, A>, encode: t.Encode<A, unknown>): Codec<A> =>
  new t.Type(name, (u): u is A => E.isRight(validate(u, [])), validate, encode)

/** A problem with its own message, at `context`. */
const problem = (value: unknown, context: t.Context, message: string): t.ValidationError => ({
  value,
  context,
  message,
})

/** `base`, then a check of the decoded value whose problems are reported as well. */
const checked = <A>(base: Codec<A>, problems: (a: A, c: t.Context) => ReadonlyArray<t.ValidationError>): Codec<A> =>
  codec(
    base.name,
    (u, c) =>
      pipe(
        base.validate(u, c),
        E.chain((a) => {
          const found = problems(a, c)
          return found.length === 0 ? t.success(a) : t.failures([...found])
        }),
      ),
    base.encode,
  )

/** A finite number satisfying `ok`; `name` says what is expected and what the number is for. */
const num = (name: string, ok: (n: number) => boolean = () => true): Codec<number> =>
  codec(
    name,
    (u, c) =>
      typeof u !== 'number'
        ? t.failure(u, c)
        : !Number.isFinite(u)
          ? t.failure(u, c, `expected a finite number, got ${show(u)}`)
          : ok(u)
            ? t.success(u)
            : t.failure(u, c),
    t.identity,
  )

/** A safe integer ≥ `min`. */
const int = (name: string, min: number): Codec<number> => num(name, (n) => Number.isSafeInteger(n) && n >= min)

/** One of the given strings. */
const oneOf = <K extends string>(...keys: ReadonlyArray<K>): Codec<K> =>
  t.keyof(Object.fromEntries(keys.map((k) => [k, null])) as Record<K, null>, keys.map((k) => `"${k}"`).join(' | '))

/** An array of `item`s, at least `minLength` of them. */
const list = <A>(name: string, item: Codec<A>, minLength = 0): Codec<ReadonlyArray<A>> => {
  const array = t.array(item, name)
  return codec(
    name,
    (u, c) =>
      pipe(
        array.validate(u, c),
        E.chain((as) => (as.length >= minLength ? t.success([...as]) : t.failure(u, c))),
      ),
    (as) => as.map(item.encode),
  )
}

/**
 * A closed record: the `required` and `optional` fields (decoded and encoded in that order, absent
 * optional fields left out), and an "unknown field" problem for every other key.
 */
const record = <R extends t.Props, O extends t.Props = {}>(
  name: string,
  required: R,
  optional: O = {} as O,
): Codec<t.TypeOf<t.TypeC<R>> & t.TypeOf<t.PartialC<O>>> => {
  type A = t.TypeOf<t.TypeC<R>> & t.TypeOf<t.PartialC<O>>
  const fields: t.Props = { ...required, ...optional }
  const keys = Object.keys(fields)
  const req = t.type(required, name)
  const opt = t.partial(optional, name)
  /** A fresh record of the known fields, their values from `get`, absent ones left out. */
  const build = (get: (key: string) => unknown): A =>
    Object.fromEntries(keys.map((k) => [k, get(k)]).filter(([, v]) => v !== undefined)) as A
  return codec<A>(
    name,
    (u, c) => {
      if (!t.UnknownRecord.is(u)) return t.failure(u, c)
      const r = req.validate(u, c)
      const o = opt.validate(u, c)
      const unknown = Object.keys(u)
        .filter((k) => !Object.hasOwn(fields, k))
        .map((k) => problem(u[k], t.appendContext(c, k, t.unknown, u[k]), 'unknown field'))
      return E.isLeft(r) || E.isLeft(o) || unknown.length > 0
        ? t.failures([...(E.isLeft(r) ? r.left : []), ...(E.isLeft(o) ? o.left : []), ...unknown])
        : t.success(build((k) => (Object.hasOwn(required, k) ? r.right : o.right)[k]))
    },
    (a) => build((k) => (a[k] === undefined ? undefined : fields[k]?.encode(a[k]))),
  )
}

type Members<A extends { readonly _tag: string }> = {
  readonly [K in A['_tag']]: Codec<Extract<A, { readonly _tag: K }>>
}

/**
 * A tagged union, dispatched on `_tag` (one precise message for a missing or unknown tag, where
 * `t.union` would report every member's mismatch). `noun` names a member: "unknown primitive "Sgn"".
 */
const tagged = <A extends { readonly _tag: string }>(name: string, noun: string, members: Members<A>): Codec<A> => {
  const expected = `expected one of ${Object.keys(members).join(', ')}`
  // Dispatch guarantees that the member decodes (and is given) values with its own tag.
  const member = (tag: unknown): Codec<A> | undefined =>
    typeof tag === 'string' && Object.hasOwn(members, tag)
      ? (members[tag as A['_tag']] as unknown as Codec<A>)
      : undefined
  return codec(
    name,
    (u, c) => {
      if (!t.UnknownRecord.is(u)) return t.failure(u, c)
      if (u['_tag'] === undefined) return t.failure(u, c, `missing _tag, ${expected}`)
      const m = member(u['_tag'])
      return m === undefined ? t.failure(u, c, `unknown ${noun} ${show(u['_tag'])}, ${expected}`) : m.validate(u, c)
    },
    (a) => member(a._tag)?.encode(a),
  )
}

// -------------------------------------------------------------------------------------------------
// leaves
// -------------------------------------------------------------------------------------------------

const finite = num('a finite number')
const stepSize = num('a finite number (a step size)')
const stepFactor = num('a number > 0 (a step factor)', (n) => n > 0)
const radius = num('a number > 0 (a radius)', (n) => n > 0)
const ratioBound = num('a number > 1 (a ratio bound)', (n) => n > 1)
const pixelValue = num('a number in [0, 1] (a pixel value)', (n) => n >= 0 && n <= 1)
const units = oneOf('absolute', 'rms')
const ballNorm = oneOf('linf', 'l2')
const stepCount = checked(int('an integer ≥ 1 (a step count)', 1), (n, c) =>
  n <= MAX_STEPS ? [] : [problem(n, c, `expected at most ${MAX_STEPS} steps, got ${n}`)],
)
const label = int('an integer ≥ 0 (a class label)', 0)
const seed = int('a safe integer (a seed)', Number.MIN_SAFE_INTEGER)
const name = codec<string>(
  'a non-empty string (a name)',
  (u, c) => (typeof u === 'string' && u.length > 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
)
const frameIndex = int('an integer ≥ 0 (a frame index)', 0)
const pixelOffset = int('an integer ≥ 0 (a pixel offset)', 0)
const pixelSize = int('an integer ≥ 1 (a size in pixels)', 1)
const clipSize = int('an integer ≥ 1 (a clip size)', 1)

// -------------------------------------------------------------------------------------------------
// the algebra
// -------------------------------------------------------------------------------------------------

type Clip = NonNullable<CodecContext['clip']>

/** Distinct frame indices, each < T when T is known (one pass: a Set of those seen). */
const frameIndices = (T: number | undefined): Codec<ReadonlyArray<number>> =>
  checked(list('an array of frame indices', frameIndex), (indices, c) => {
    const seen = new Set<number>()
    return indices.flatMap((i, k) => {
      const at = () => t.appendContext(c, String(k), frameIndex, i)
      const duplicate = seen.has(i)
      seen.add(i)
      return duplicate
        ? [problem(i, at(), `duplicate frame index ${i}`)]
        : T !== undefined && i >= T
          ? [problem(i, at(), `frame ${i} lies outside the clip's ${T} frames`)]
          : []
    })
  })

const regionCodec = (clip: Clip | undefined): Codec<Region> =>
  t.recursion<Region, unknown, unknown>('a Region', (self) =>
    tagged<Region>('a Region', 'region', {
      Frames: record('a Frames region', { _tag: t.literal('Frames'), indices: frameIndices(clip?.T) }),
      Box: checked(
        record('a Box region', {
          _tag: t.literal('Box'),
          top: pixelOffset,
          left: pixelOffset,
          height: pixelSize,
          width: pixelSize,
        }),
        (b, c) => {
          if (clip === undefined) return []
          const outside = (what: string, from: number, size: number, limit: number) =>
            from + size <= limit
              ? []
              : [problem(b, c, `Box ${what} ${from}..${from + size} lie outside the clip's ${limit} ${what}`)]
          return [...outside('rows', b.top, b.height, clip.H), ...outside('columns', b.left, b.width, clip.W)]
        },
      ),
      Rect: checked(
        record('a Rect region', { _tag: t.literal('Rect'), height: pixelSize, width: pixelSize, placement: oneOf('perFrame', 'shared') }),
        (r, c) =>
          clip === undefined || (r.height <= clip.H && r.width <= clip.W)
            ? []
            : [problem(r, c, `Rect ${r.height}x${r.width} does not fit the clip's ${clip.H}x${clip.W} frames`)],
      ),
      SearchedRect: checked(
        record('a SearchedRect region', {
          _tag: t.literal('SearchedRect'),
          height: pixelSize,
          width: pixelSize,
          search: oneOf('exhaustive', 'gradient'),
          scope: oneOf('perFrame', 'shared'),
          stride: pixelSize,
          topK: int('an integer ≥ 1 (windows to try)', 1),
          fill: pixelValue,
        }),
        (r, c) =>
          clip === undefined || (r.height <= clip.H && r.width <= clip.W)
            ? []
            : [problem(r, c, `SearchedRect ${r.height}x${r.width} does not fit the clip's ${clip.H}x${clip.W} frames`)],
      ),
      Ring: checked(record('a Ring region', { _tag: t.literal('Ring'), width: pixelSize }), (r, c) =>
        clip === undefined || 2 * r.width <= Math.min(clip.H, clip.W)
          ? []
          : [problem(r, c, `Ring width ${r.width} is more than half of the clip's ${clip.H}x${clip.W} frames`)],
      ),
      Pixels: checked(record('a Pixels region', { _tag: t.literal('Pixels'), perFrame: pixelSize }), (r, c) =>
        clip === undefined || r.perFrame <= clip.H * clip.W
          ? []
          : [problem(r, c, `Pixels ${r.perFrame} per frame is more than the clip's ${clip.H}x${clip.W} = ${clip.H * clip.W} pixels`)],
      ),
      Union: record('a Union region', { _tag: t.literal('Union'), regions: list('a non-empty array of Regions', self, 1) }),
      Intersection: record('an Intersection region', {
        _tag: t.literal('Intersection'),
        regions: list('a non-empty array of Regions', self, 1),
      }),
      Complement: record('a Complement region', { _tag: t.literal('Complement'), of: self }),
    }),
  )

/** The codec of attacks on `clip` (any clip when undefined). */
const attackCodec = (clip: Clip | undefined): Codec<Attack> => {
  const region = regionCodec(clip)
  const direction: Codec<Direction> = t.recursion<Direction, unknown, unknown>('a Direction', (self) =>
    tagged<Direction>('a Direction', 'primitive', {
      Gradient: record('a Gradient', { _tag: t.literal('Gradient') }),
      Sign: record('a Sign', { _tag: t.literal('Sign'), of: self }),
      Normalize: record('a Normalize', {
        _tag: t.literal('Normalize'),
        norm: oneOf('l2'),
        scope: oneOf('sample', 'frame'),
        of: self,
      }),
      MaskRegion: record('a MaskRegion', { _tag: t.literal('MaskRegion'), region, of: self }),
    }),
  )
  const update = tagged<Update>('an Update', 'update', {
    Add: record('an Add', {
      _tag: t.literal('Add'),
      offset: record('an Offset', { _tag: t.literal('Scale'), alpha: stepSize, units, of: direction }),
    }),
    Multiply: record('a Multiply', {
      _tag: t.literal('Multiply'),
      factor: record('a Factor', { _tag: t.literal('Exponent'), alpha: stepFactor, units, of: direction }),
    }),
  })
  const constraint = tagged<Constraint>('a Constraint', 'constraint', {
    ProjectBall: record('a ProjectBall', { _tag: t.literal('ProjectBall'), norm: ballNorm, eps: radius, units }),
    ProjectRatio: record('a ProjectRatio', {
      _tag: t.literal('ProjectRatio'),
      norm: ballNorm,
      eps: ratioBound,
      reading: oneOf('log', 'literal', 'deviation'),
      units,
    }),
    Clip: checked(record('a Clip', { _tag: t.literal('Clip'), lo: finite, hi: finite }), (k, c) =>
      k.lo < k.hi ? [] : [problem(k, c, `expected lo < hi, got lo=${show(k.lo)}, hi=${show(k.hi)}`)],
    ),
  })
  const step: Codec<Step> = record('a Step', {
    _tag: t.literal('Step'),
    update,
    constraints: list('an array of Constraints', constraint),
  })
  const init = tagged<Init>('an Init', 'init', {
    Clean: record('a Clean init', { _tag: t.literal('Clean') }),
    Uniform: record(
      'a Uniform init',
      { _tag: t.literal('Uniform'), norm: ballNorm, eps: radius, units },
      { region },
    ),
    UniformRatio: record('a UniformRatio init', { _tag: t.literal('UniformRatio'), eps: ratioBound }, { region }),
    Fill: record('a Fill init', { _tag: t.literal('Fill'), value: pixelValue, region }),
  })
  const target = tagged<Target>('a Target', 'target', {
    Untargeted: record('an Untargeted target', { _tag: t.literal('Untargeted') }),
    Targeted: record('a Targeted target', { _tag: t.literal('Targeted'), label }),
  })
  return record('an Attack', {
    _tag: t.literal('Attack'),
    name,
    init,
    body: list('a non-empty array of Steps', step, 1),
    steps: stepCount,
    loss: record('a Loss', { _tag: t.literal('CrossEntropy'), target }),
    seed,
  })
}

const anyClip = attackCodec(undefined)
const clipCodec = t.type({ T: clipSize, H: clipSize, W: clipSize }, 'a clip size')

// -------------------------------------------------------------------------------------------------
// reporter
// -------------------------------------------------------------------------------------------------

/** A short rendering of a value for messages. */
const show = (u: unknown): string => {
  if (typeof u === 'number') return Object.is(u, -0) ? '-0' : String(u)
  if (typeof u === 'bigint') return `${u}n`
  if (typeof u === 'function') return 'a function'
  if (typeof u === 'symbol' || u === undefined) return String(u)
  const s = jsonPrefix(u, 61)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

/**
 * The start of `u`'s JSON text, at least `budget` characters of it when it is that long: it stops
 * writing there, so that a message about a huge (or cyclic) value costs no more than a short one.
 */
const jsonPrefix = (u: unknown, budget: number): string => {
  let out = ''
  const write = (v: unknown, inArray: boolean): void => {
    if (out.length >= budget) return
    if (typeof v === 'string') out += JSON.stringify(v.length > budget ? v.slice(0, budget) : v)
    else if (typeof v === 'number') out += Number.isFinite(v) ? String(v) : 'null'
    else if (typeof v === 'boolean' || v === null) out += String(v)
    else if (typeof v === 'bigint') out += `${v}n`
    else if (typeof v !== 'object') out += inArray ? 'null' : '' // undefined, a function, a symbol
    else if (Array.isArray(v)) {
      out += '['
      for (let i = 0; i < v.length && out.length < budget; i++) {
        if (i > 0) out += ','
        write(v[i], true)
      }
      out += ']'
    } else {
      out += '{'
      let first = true
      for (const k of Object.keys(v)) {
        if (out.length >= budget) break
        const x = (v as Record<string, unknown>)[k]
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue
        out += `${first ? '' : ','}${JSON.stringify(k)}:`
        first = false
        write(x, false)
      }
      out += '}'
    }
  }
  write(u, false)
  return out
}

/** `root.a.b[0].c`: array elements as `[i]`, fields as `.key`. */
const pathOf = (root: string, context: t.Context): string =>
  context
    .slice(1)
    .reduce(
      (path, entry, i) => (Array.isArray(context[i]?.actual) ? `${path}[${entry.key}]` : `${path}.${entry.key}`),
      root,
    )

/**
 * io-ts errors as `path: message` lines; a message is "expected <codec name>, got <value>" unless
 * given. At most {@link MAX_REPORTED} lines, then one saying how many more there are.
 */
const report =
  (root: string) =>
  (errors: t.Errors): ReadonlyArray<string> => {
    const lines = errors.slice(0, MAX_REPORTED).map((e) => {
      const path = pathOf(root, e.context)
      if (e.message !== undefined) return `${path}: ${e.message}`
      const expected = e.context[e.context.length - 1]?.type.name ?? 'a value'
      return e.value === undefined && e.context.length > 1
        ? `${path}: missing, expected ${expected}`
        : `${path}: expected ${expected}, got ${show(e.value)}`
    })
    const more = errors.length - lines.length
    return more > 0 ? [...lines, `${root}: ${more} more problems not shown`] : lines
  }

/**
 * The spec's first size problem, or undefined: more than `SPEC_LIMITS.values` values, nesting deeper
 * than `SPEC_LIMITS.depth`, or a value that contains itself. One walk that stops at the limit, so that
 * decoding (whose cost grows with size and depth) never starts on an absurd spec.
 */
const sizeProblem = (json: unknown, root: string): string | undefined => {
  let values = 0
  const path: string[] = [root]
  const onPath = new Set<object>()
  const at = () => path.join('')
  const walk = (u: unknown): string | undefined => {
    if (++values > SPEC_LIMITS.values) return `${at()}: the spec holds more than ${SPEC_LIMITS.values} values (numbers, strings, arrays and objects); a real spec holds a few hundred`
    if (typeof u !== 'object' || u === null) return undefined
    if (onPath.has(u)) return `${at()}: the value contains itself (a cycle); expected plain JSON data`
    if (path.length > SPEC_LIMITS.depth) return `${at()}: nested more than ${SPEC_LIMITS.depth} levels deep; expected at most ${SPEC_LIMITS.depth}`
    onPath.add(u)
    const keys = Array.isArray(u) ? undefined : Object.keys(u)
    const n = keys === undefined ? (u as ReadonlyArray<unknown>).length : keys.length
    for (let i = 0; i < n; i++) {
      const key = keys === undefined ? i : keys[i]!
      path.push(keys === undefined ? `[${i}]` : `.${key}`)
      const found = walk((u as Record<string | number, unknown>)[key])
      path.pop()
      if (found !== undefined) return found
    }
    onPath.delete(u)
    return undefined
  }
  return walk(json)
}

// -------------------------------------------------------------------------------------------------
// API
// -------------------------------------------------------------------------------------------------

/**
 * Decodes an attack spec (already parsed JSON, or a value built in code) into an `Attack`, or every
 * problem with it as `path: message` lines rooted at `attack`. With `context.clip`, regions are also
 * checked against the clip's frames, rows and columns. Never throws.
 *
 * @example
 * decodeAttack(encodeAttack(attacks.multLinf())) // right(attacks.multLinf())
 */
export const decodeAttack = (
  json: unknown,
  context: CodecContext = {},
): E.Either<ReadonlyArray<string>, Attack> => {
  try {
    const clip = context.clip
    if (clip !== undefined) {
      const bad = clipCodec.decode(clip)
      if (E.isLeft(bad)) return E.left(report('context.clip')(bad.left))
    }
    const tooBig = sizeProblem(json, 'attack')
    if (tooBig !== undefined) return E.left([tooBig])
    return pipe((clip === undefined ? anyClip : attackCodec(clip)).decode(json), E.mapLeft(report('attack')))
  } catch (e) {
    // Only a throwing getter or proxy gets here (size, depth and cycles are checked first).
    return E.left([`attack: could not be checked: ${e instanceof Error ? e.message : String(e)}`])
  }
}

/** A plain JSON-compatible deep copy of `attack` (no `undefined` fields): `decodeAttack` inverts it. */
export const encodeAttack = (attack: Attack): unknown => anyClip.encode(attack)

/**
 * Parses a JSON spec and decodes it; a parse error is reported as `spec: not valid JSON: …`, a text
 * longer than `SPEC_LIMITS.chars` is refused unread. A leading byte-order mark (U+FEFF, which some
 * editors write) is skipped. Never throws.
 */
export const parseAttackJson = (
  text: string,
  context: CodecContext = {},
): E.Either<ReadonlyArray<string>, Attack> => {
  if (text.length > SPEC_LIMITS.chars)
    return E.left([`spec: ${text.length} characters is more than the ${SPEC_LIMITS.chars} a spec may have (a real spec is a few kB)`])
  let json: unknown
  try {
    json = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text)
  } catch (e) {
    return E.left([`spec: not valid JSON: ${e instanceof Error ? e.message : String(e)}`])
  }
  return decodeAttack(json, context)
}

/** The problems of an attack built in code, as `decodeAttack` reports them; empty when it is valid. */
export const validateAttack = (attack: Attack, context: CodecContext = {}): ReadonlyArray<string> =>
  pipe(
    decodeAttack(attack, context),
    E.match(
      (problems) => problems,
      () => [],
    ),
  )
