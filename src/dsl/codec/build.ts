/**
 * io-ts codec builders for the spec format: closed records (unknown fields are problems), tagged
 * unions dispatched on `_tag` through a table with one codec per tag, and problems that carry their
 * `SpecIssue` (kind, expected, got).
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import type { Tagged, Variant } from '../match.js'
import { show, type SpecIssue } from './issues.js'

export type Codec<A> = t.Type<A, unknown, unknown>

/** A custom codec whose guard is its own validation. */
export const codec = <A>(name: string, validate: t.Validate<unknown, A>, encode: t.Encode<A, unknown>): Codec<A> =>
  new t.Type(name, (u): u is A => E.isRight(validate(u, [])), validate, encode)

/** An io-ts error that carries its own issue (all but the path, which comes from the context). */
interface Problem extends t.ValidationError {
  readonly issue: Omit<SpecIssue, 'path'>
}

/** A problem at `context`: `kind`, what was `expected` and what was `got`. */
export const problem = (
  value: unknown,
  context: t.Context,
  kind: SpecIssue['kind'],
  expected: string,
  got: string,
): t.ValidationError => {
  const p: Problem = { value, context, issue: { expected, got, kind } }
  return p
}

/** `base`, then a check of the decoded value whose problems are reported as well. */
export const checked = <A>(base: Codec<A>, problems: (a: A, c: t.Context) => ReadonlyArray<t.ValidationError>): Codec<A> =>
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
export const num = (name: string, ok: (n: number) => boolean = () => true): Codec<number> =>
  codec(
    name,
    (u, c) =>
      typeof u !== 'number'
        ? t.failure(u, c)
        : !Number.isFinite(u)
          ? t.failures([problem(u, c, 'mismatch', 'a finite number', show(u))])
          : ok(u)
            ? t.success(u)
            : t.failure(u, c),
    t.identity,
  )

/** A safe integer ≥ `min`. */
export const int = (name: string, min: number): Codec<number> => num(name, (n) => Number.isSafeInteger(n) && n >= min)

/** At most `max` (a check after `base`): `expected at most <max> <noun>, got <n>`. */
export const atMost = (base: Codec<number>, max: number, noun: string): Codec<number> =>
  checked(base, (n, c) => (n <= max ? [] : [problem(n, c, 'mismatch', `at most ${max} ${noun}`, show(n))]))

/** `item` or null. */
export const nullable = <A>(name: string, item: Codec<A>): Codec<A | null> =>
  codec<A | null>(name, (u, c) => (u === null ? t.success(null) : item.validate(u, c)), (a) => (a === null ? null : item.encode(a)))

/** One of the given strings. */
export const oneOf = <K extends string>(...keys: ReadonlyArray<K>): Codec<K> =>
  t.keyof(Object.fromEntries(keys.map((k) => [k, null])) as Record<K, null>, keys.map((k) => `"${k}"`).join(' | '))

/** An array of `item`s, at least `minLength` of them. */
export const list = <A>(name: string, item: Codec<A>, minLength = 0): Codec<ReadonlyArray<A>> => {
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

// -------------------------------------------------------------------------------------------------
// closed records
// -------------------------------------------------------------------------------------------------

/**
 * A record field that may be absent: left out of the value (`optional`), or read as `fallback` and
 * left out of the encoding when it equals it (`defaulted`).
 */
export interface Field<A, Absent extends 'optional' | 'defaulted'> {
  readonly codec: Codec<A>
  readonly absent: Absent
  /** The value of an absent field (undefined: left out). */
  readonly fallback: A | undefined
  /** True for a value the encoding leaves out. */
  readonly omit: (a: A) => boolean
}

/** A field that may be absent (then absent from the value too). */
export const optional = <A>(c: Codec<A>): Field<A, 'optional'> => ({ codec: c, absent: 'optional', fallback: undefined, omit: () => false })

/** A field read as `fallback` when absent, and left out of the encoding when it encodes as `fallback` does. */
export const defaulted = <A>(c: Codec<A>, fallback: A): Field<A, 'defaulted'> => {
  const encoded = JSON.stringify(c.encode(fallback))
  return { codec: c, absent: 'defaulted', fallback, omit: (a) => JSON.stringify(c.encode(a)) === encoded }
}

type AnyField = Codec<any> | Field<any, 'optional' | 'defaulted'>
type FieldValue<F> = F extends Field<infer A, 'optional' | 'defaulted'> ? A : F extends t.Type<infer A, any, any> ? A : never
type Optionals<F> = { readonly [K in keyof F]: F[K] extends Field<any, 'optional'> ? K : never }[keyof F]

/** The value of a record with fields `F`: optional fields are optional properties. */
export type RecordOf<F> = { readonly [K in Exclude<keyof F, Optionals<F>>]: FieldValue<F[K]> } & {
  readonly [K in Optionals<F>]?: FieldValue<F[K]>
}

/** How a record reads and writes one field. */
interface FieldSpec {
  readonly codec: Codec<unknown>
  /** Absent is a problem. */
  readonly required: boolean
  readonly fallback: unknown
  readonly omit: (a: unknown) => boolean
}

/** A bare codec is a required field. */
const specOf = (f: AnyField): FieldSpec =>
  f instanceof t.Type
    ? { codec: f, required: true, fallback: undefined, omit: () => false }
    : { codec: f.codec, required: false, fallback: f.fallback, omit: f.omit }

/**
 * A closed record: its fields decoded and encoded in the order given (absent optional fields left
 * out, absent defaulted ones filled in and left out of the encoding when they equal the default), and
 * an "unknown field" problem for every other key.
 */
export const record = <F extends Readonly<Record<string, AnyField>>>(name: string, fields: F): Codec<RecordOf<F>> => {
  type A = RecordOf<F>
  const specs = Object.entries(fields).map(([k, f]) => [k, specOf(f)] as const)
  const known = `one of the fields ${Object.keys(fields).join(', ')}`
  return codec<A>(
    name,
    (u, c) => {
      if (!t.UnknownRecord.is(u)) return t.failure(u, c)
      const errors: Array<t.ValidationError> = []
      const out: Record<string, unknown> = {}
      for (const [k, f] of specs) {
        const v = u[k]
        if (v === undefined && !f.required) {
          if (f.fallback !== undefined) out[k] = structuredClone(f.fallback) // a fresh copy: decoded values share nothing
          continue
        }
        const r = f.codec.validate(v, t.appendContext(c, k, f.codec, v))
        if (E.isLeft(r)) errors.push(...r.left)
        else out[k] = r.right
      }
      for (const k of Object.keys(u))
        if (!Object.hasOwn(fields, k)) errors.push(problem(u[k], t.appendContext(c, k, t.unknown, u[k]), 'invalid', known, 'unknown field'))
      return errors.length > 0 ? t.failures(errors) : t.success(out as A)
    },
    (a) => {
      const out: Record<string, unknown> = {}
      for (const [k, f] of specs) {
        const v = (a as Record<string, unknown>)[k]
        const encoded = v === undefined || f.omit(v) ? undefined : f.codec.encode(v)
        if (encoded !== undefined) out[k] = encoded
      }
      return out
    },
  )
}

// -------------------------------------------------------------------------------------------------
// tagged unions
// -------------------------------------------------------------------------------------------------

/** One codec per tag of `A`: a new tag is a compile error in every table that lacks it. */
export type Members<A extends Tagged> = { readonly [K in A['_tag']]: Codec<Variant<A, K>> }

/**
 * A tagged union, dispatched on `_tag` (one precise message for a missing or unknown tag, where
 * `t.union` would report every member's mismatch). `noun` names a member: "unknown primitive "Sgn"".
 */
export const tagged = <A extends Tagged>(name: string, noun: string, members: Members<A>): Codec<A> => {
  const expected = `one of ${Object.keys(members).join(', ')}`
  // Dispatch guarantees that the member decodes (and is given) values with its own tag.
  const member = (tag: unknown): Codec<A> | undefined =>
    typeof tag === 'string' && Object.hasOwn(members, tag) ? (members[tag as A['_tag']] as unknown as Codec<A>) : undefined
  return codec(
    name,
    (u, c) => {
      if (!t.UnknownRecord.is(u)) return t.failure(u, c)
      if (u['_tag'] === undefined) return t.failures([problem(u, c, 'missing', expected, 'missing _tag')])
      const m = member(u['_tag'])
      return m === undefined ? t.failures([problem(u, c, 'unknown', expected, `unknown ${noun} ${show(u['_tag'])}`)]) : m.validate(u, c)
    },
    (a) => member(a._tag)?.encode(a),
  )
}

// -------------------------------------------------------------------------------------------------
// io-ts errors as issues
// -------------------------------------------------------------------------------------------------

/** `root.a.b[0].c`: array elements as `[i]`, fields as `.key`. */
const pathOf = (root: string, context: t.Context): string =>
  context
    .slice(1)
    .reduce((path, entry, i) => (Array.isArray(context[i]?.actual) ? `${path}[${entry.key}]` : `${path}.${entry.key}`), root)

/**
 * io-ts errors as issues rooted at `root` (the first `limit` of them): a problem's own issue, else
 * "missing" (an absent field) or a mismatch with the codec's name as what was expected.
 */
export const issuesOf = (root: string, errors: t.Errors, limit = errors.length): ReadonlyArray<SpecIssue> =>
  errors.slice(0, limit).map((e): SpecIssue => {
    const path = pathOf(root, e.context)
    const own = (e as Partial<Problem>).issue
    if (own !== undefined) return { path, ...own }
    const expected = e.context[e.context.length - 1]?.type.name ?? 'a value'
    return e.value === undefined && e.context.length > 1
      ? { path, expected, got: 'missing', kind: 'missing' }
      : { path, expected, got: show(e.value), kind: 'mismatch' }
  })
