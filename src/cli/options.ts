/**
 * Command-line options from one declaration: each option is declared once (type, default, environment
 * fallback, description), and the parser's configuration (node's `util.parseArgs`), the decoding to
 * typed values, the synopsis and the options table of `--help` are all derived from it, so they cannot
 * drift apart.
 *
 * A value comes from the flag, else from its environment variable, else from its default; it is
 * decoded once, by one validator per type, and a bad one is named by where it came from:
 * `--runs must be an integer ≥ 1, got "abc"`, `MULTAV_THREADS must be a whole number from 1 to 8, got "lots"`.
 *
 * @example
 * const options = { runs: integer({ min: 1, default: 50, metavar: 'N', description: 'cases per property' }) }
 * decodeOptions(options, { runs: '3' }) // right({ runs: 3 })
 *
 * @since 0.2.0
 */
import type { ParseArgsConfig } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'

export type OptionType = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'list'

/** A default that depends on the machine or on other options: `text` says what it is in the usage. */
export interface ComputedDefault<A> {
  readonly text: string
  readonly value: (others: Readonly<Record<string, unknown>>) => A
}

/**
 * One declared option, decoding to A. `Always` is true when it always has a value (a default, a
 * computed default, a required option, a boolean), so its decoded type excludes undefined.
 */
export interface Option<A, Always extends boolean = boolean> {
  readonly type: OptionType
  readonly description: string
  /** The value's placeholder in the usage (`N`, `DIR`; an enum's choices). */
  readonly metavar: string
  /** The environment variable read when the flag is not given. */
  readonly env?: string
  readonly default?: A
  readonly computedDefault?: ComputedDefault<A>
  /** When given, the option must be set; this is the message otherwise. */
  readonly required?: string
  readonly short?: string
  /** The value of a flag's (or environment variable's) text; `source` names it in the message. */
  decode(text: string, source: string): E.Either<string, A>
  /** A value as it would be written on the command line. */
  show(value: A): string
  readonly always: Always
}

/** A declaration: options by name (show and decode are methods, so any Option<A> is an Option<unknown>). */
export type Options = Readonly<Record<string, Option<unknown>>>

/** The decoded values of a declaration. */
export type Values<D extends Options> = {
  readonly [K in keyof D]: D[K] extends Option<infer A, infer W> ? (W extends true ? A : A | undefined) : never
}

interface Common<A> {
  readonly description: string
  readonly metavar?: string
  readonly env?: string
  readonly default?: A
  readonly computedDefault?: ComputedDefault<A>
  readonly required?: string
}

/** Whether a declaration's config guarantees a value. */
type AlwaysOf<C> = C extends { readonly default: unknown } | { readonly computedDefault: unknown } | { readonly required: string } ? true : false

const option = <A, C extends Common<A>>(
  type: OptionType,
  c: C,
  metavar: string,
  decode: (text: string, source: string) => E.Either<string, A>,
  show: (value: A) => string = String,
): Option<A, AlwaysOf<C>> =>
  ({ ...c, type, metavar: c.metavar ?? metavar, decode, show, always: (c.default !== undefined || c.computedDefault !== undefined || c.required !== undefined) as AlwaysOf<C> }) as Option<
    A,
    AlwaysOf<C>
  >

/** `a or b`, `one of a, b, c`. */
export const oneOf = (choices: ReadonlyArray<string>): string => (choices.length === 2 ? `${choices[0]} or ${choices[1]}` : `one of ${choices.join(', ')}`)

const bad = (source: string, expected: string, text: string) => E.left(`${source} must be ${expected}, got "${text}"`)

// -------------------------------------------------------------------------------------------------
// the option types
// -------------------------------------------------------------------------------------------------

/** Text as given. */
export const string = <const C extends Common<string>>(c: C) => option<string, C>('string', c, 'TEXT', (text) => E.right(text))

/** Text read by `parse` into A (e.g. `--shard i/n`); its Left is the whole message. */
export const parsed = <A, const C extends Common<A>>(parse: (text: string) => E.Either<string, A>, c: C, show?: (value: A) => string) =>
  option<A, C>('string', c, 'TEXT', (text) => parse(text), show)

/** A decimal integer, at least `min` (and at most `max` when given). */
export const integer = <const C extends Common<number> & { readonly min: number; readonly max?: number }>(c: C) => {
  const expected = c.max === undefined ? `an integer ≥ ${c.min}` : `a whole number from ${c.min} to ${c.max}`
  return option<number, C>('integer', c, 'N', (text, source) => {
    const v = Number(text)
    return /^[+-]?\d+$/.test(text) && Number.isSafeInteger(v) && v >= c.min && (c.max === undefined || v <= c.max) ? E.right(v) : bad(source, expected, text)
  })
}

/** A finite number; `positive` asks for one > 0. */
export const number = <const C extends Common<number> & { readonly positive?: boolean }>(c: C) =>
  option<number, C>('number', c, 'X', (text, source) => {
    const v = Number(text)
    return text.trim() !== '' && Number.isFinite(v) && (!c.positive || v > 0) ? E.right(v) : bad(source, c.positive ? 'a positive number' : 'a number', text)
  })

/** One of `choices`. */
export const enumeration = <const T extends string, const C extends Common<T>>(choices: ReadonlyArray<T>, c: C) =>
  option<T, C>('enum', c, choices.join('|'), (text, source) => ((choices as ReadonlyArray<string>).includes(text) ? E.right(text as T) : bad(source, oneOf(choices), text)))

/** Environment text that means false; any other non-empty text means true (MULTAV_DEBUG=1). */
const FALSE = ['', '0', 'false', 'no', 'off']

/** Whether an environment variable's text turns a switch on. */
export const envFlag = (text: string | undefined): boolean => text !== undefined && !FALSE.includes(text.trim().toLowerCase())

/** A switch: false unless given (or its environment variable is set to something other than 0, false, no, off). */
export const boolean = <const C extends Omit<Common<boolean>, 'default' | 'computedDefault' | 'required' | 'metavar'> & { readonly short?: string }>(c: C) =>
  option<boolean, C & { readonly default: false }>('boolean', { ...c, default: false as const }, '', (text) => E.right(envFlag(text)))

const NUMBERS: Readonly<Record<number, string>> = { 2: 'two', 3: 'three', 4: 'four', 5: 'five' }

/** How a list reads its items: `read` gives undefined for a bad one; `text` names them in messages. */
export interface ListItems<A> {
  readonly read: (text: string) => A | undefined
  readonly text: string
  /** How many there must be (any number ≥ 1 when not given). */
  readonly length?: number
  readonly example: string
}

/** Comma-separated values, each read by `items.read`. */
export const list = <A, const C extends Common<ReadonlyArray<A>>>(items: ListItems<A>, c: C) =>
  option<ReadonlyArray<A>, C>(
    'list',
    c,
    items.example,
    (text, source) => {
      const values = text.split(',').map((part) => items.read(part.trim()))
      const ok = values.every((v) => v !== undefined) && (items.length === undefined || values.length === items.length)
      const count = items.length === undefined ? 'a comma-separated list of' : (NUMBERS[items.length] ?? String(items.length))
      return ok ? E.right(values as A[]) : bad(source, `${count} ${items.text} like ${items.example}`, text)
    },
    (v) => v.join(','),
  )

// -------------------------------------------------------------------------------------------------
// from the declaration: the parser's configuration, the decoded values, the usage
// -------------------------------------------------------------------------------------------------

/** `util.parseArgs`'s options for a declaration: booleans as booleans, everything else as text. */
export const parserOptions = (declared: Options): NonNullable<ParseArgsConfig['options']> =>
  Object.fromEntries(
    Object.entries(declared).map(([name, o]) => [name, { type: o.type === 'boolean' ? ('boolean' as const) : ('string' as const), ...(o.short ? { short: o.short } : {}) }]),
  )

/**
 * The typed values of `declared` from what the parser found: the flag, else the environment variable,
 * else the default (computed defaults last, as they may read the others). Left lists every problem.
 */
export const decodeOptions = <D extends Options>(
  declared: D,
  given: Readonly<Record<string, string | boolean | undefined>>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): E.Either<ReadonlyArray<string>, Values<D>> => {
  const values: Record<string, unknown> = {}
  const problems: string[] = []
  const take = (name: string, r: E.Either<string, unknown>) => (E.isLeft(r) ? problems.push(r.left) : (values[name] = r.right))
  for (const [name, o] of Object.entries(declared)) {
    const flag = given[name]
    const fromEnv = o.env === undefined ? undefined : env[o.env]
    if (typeof flag === 'boolean') values[name] = flag
    else if (flag !== undefined) take(name, o.decode(flag, `--${name}`))
    else if (fromEnv !== undefined && fromEnv !== '') take(name, o.decode(fromEnv, o.env!))
    else if (o.default !== undefined) values[name] = o.default
    else if (o.required !== undefined && o.computedDefault === undefined) problems.push(o.required)
  }
  for (const [name, o] of Object.entries(declared)) if (!(name in values) && o.computedDefault !== undefined) values[name] = o.computedDefault.value(values)
  return problems.length > 0 ? E.left(problems) : E.right(values as Values<D>)
}

/** How an option appears in a synopsis: `[--resume]`, `[--runs 50]`, `[--split train|test]`, `--out DIR` when required. */
export const synopsisOf = (name: string, o: Option<unknown>): string => {
  if (o.type === 'boolean') return `[--${name}]`
  const value = o.type !== 'enum' && o.default !== undefined ? o.show(o.default) : o.metavar
  return o.required !== undefined ? `--${name} ${value}` : `[--${name} ${value}]`
}

/** What the options table says of an option's default and environment variable: `(default 50; env MULTAV_RUNS)`. */
export const defaultNote = (o: Option<unknown>): string => {
  const parts = [
    o.type === 'boolean' ? undefined : o.default !== undefined ? `default: ${o.show(o.default) || '""'}` : o.computedDefault ? `default: ${o.computedDefault.text}` : o.required !== undefined ? 'required' : undefined,
    o.env === undefined ? undefined : `env: ${o.env}`,
  ].filter((p) => p !== undefined)
  return parts.length === 0 ? '' : ` (${parts.join('; ')})`
}

/** `text` in lines of at most `width` characters (words are never split): the first after `first`, the others after `indent`. */
export const wrap = (text: string, width: number, indent: string, first = indent): string[] => {
  const lines: string[] = []
  let [line, fresh] = [first, true]
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (!fresh && line.length + 1 + word.length > width) {
      lines.push(line)
      ;[line, fresh] = [indent, true]
    }
    line += fresh ? word : ` ${word}`
    fresh = false
  }
  if (!fresh) lines.push(line)
  return lines
}

const COLUMN = 30
const WIDTH = 100

/** The options table: one entry per option, its description and `(default …; env …)`, wrapped at 100 columns. */
export const optionsTable = (declared: Options, indent: string): string[] =>
  Object.entries(declared).flatMap(([name, o]) => {
    const head = `${indent}--${name}${o.short ? `, -${o.short}` : ''}${o.type === 'boolean' ? '' : ` ${o.metavar}`}`
    const text = `${o.description}${defaultNote(o)}`
    const pad = indent + ' '.repeat(COLUMN)
    if (head.length >= pad.length - 1) return [head, ...wrap(text, WIDTH, pad)]
    const lines = wrap(text, WIDTH, pad, head.padEnd(pad.length))
    return lines.length > 0 ? lines : [head]
  })
