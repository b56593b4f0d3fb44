/**
 * Decoding problems as data (`SpecIssue`), and the reporter that renders them as `path: message`
 * lines, e.g. `attack.body[0].constraints[0].eps: expected a number > 1 (a ratio bound), got 0.9`.
 *
 * @since 0.2.0
 */

/**
 * How an issue reads, by what went wrong:
 * - 'mismatch': a value of the wrong type or out of range — `expected E, got G`;
 * - 'missing': a required field or `_tag` is absent — `G, expected E` (G: `missing`, `missing _tag`);
 * - 'unknown': a tag names no member of its sort — `G, expected E` (G: `unknown primitive "Sgn"`);
 * - 'invalid': a value that is well-formed but does not fit (a duplicate frame, a region outside the
 *   clip, an unknown field, a size limit) — `G`, with E saying what would;
 * - 'limit': the input is not a plain, shallow JSON tree (a cycle, too deep) — `G; expected E`.
 */
export type IssueKind = 'mismatch' | 'missing' | 'unknown' | 'invalid' | 'limit'

/** One problem of a spec: where it is, what was expected there, and what was found. */
export interface SpecIssue {
  /** `attack.body[0].constraints[0].eps`: fields as `.key`, array elements as `[i]`. */
  readonly path: string
  /** What the spec should have there: `a number > 1 (a ratio bound)`, `one of Clean, Uniform, …`. */
  readonly expected: string
  /** What it has: a short rendering of the value (`0.9`, `"abs"`), or what is wrong (`missing`, `unknown field`). */
  readonly got: string
  readonly kind: IssueKind
}

const PHRASE: { readonly [K in IssueKind]: (expected: string, got: string) => string } = {
  mismatch: (expected, got) => `expected ${expected}, got ${got}`,
  missing: (expected, got) => `${got}, expected ${expected}`,
  unknown: (expected, got) => `${got}, expected ${expected}`,
  invalid: (_, got) => got,
  limit: (expected, got) => `${got}; expected ${expected}`,
}

/** One issue as a `path: message` line. */
export const renderIssue = (issue: SpecIssue): string => `${issue.path}: ${PHRASE[issue.kind](issue.expected, issue.got)}`

/** Issues rendered at most; the rest are counted in one last line. */
export const MAX_REPORTED = 100

/**
 * Issues as `path: message` lines: at most `MAX_REPORTED` (100), then one line, at `root`, saying how
 * many more there are.
 */
export const formatIssues = (issues: ReadonlyArray<SpecIssue>, root = 'attack'): ReadonlyArray<string> =>
  formatFirst(issues.slice(0, MAX_REPORTED), issues.length, root)

/** The first issues of `total` as lines, then the count of those not shown (a decoder need not build them all). */
export const formatFirst = (first: ReadonlyArray<SpecIssue>, total: number, root = 'attack'): ReadonlyArray<string> => {
  const lines = first.slice(0, MAX_REPORTED).map(renderIssue)
  const more = total - lines.length
  return more > 0 ? [...lines, `${root}: ${more} more problems not shown`] : lines
}

// -------------------------------------------------------------------------------------------------
// values in messages
// -------------------------------------------------------------------------------------------------

/** A short rendering of a value for messages (its JSON, cut at 60 characters). */
export const show = (u: unknown): string => {
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
