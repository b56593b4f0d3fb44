/**
 * io-ts codecs for attack values: JSON specs in, typed `Attack` values out, with every problem as
 * data (`SpecIssue`: path, expected, got) and rendered as one readable line, e.g.
 * `attack.body[0].constraints[0].eps: expected a number > 1 (a ratio bound), got 0.9`.
 *
 * The JSON format is the value format itself (plain objects with `_tag` discriminants and the field
 * names of `types.ts`); `schedule` (default Constant), a margin's `confidence` (default null) and
 * `restarts` (default 1) may be left out, and `encodeAttack` leaves them out when they are the
 * default. Every problem is reported, not just the first; unknown fields are problems, so a typo in a
 * spec never passes silently. Errors are data: nothing here throws on bad input.
 *
 * The codecs are in `codec/algebra.ts` (one table per sort), the builders in `codec/build.ts`, the
 * issues and their reporter in `codec/issues.ts`.
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
import type { Attack } from './types.js'
import { attackCodec, clipCodec, type Clip } from './codec/algebra.js'
import { issuesOf } from './codec/build.js'
import { formatFirst, MAX_REPORTED, type SpecIssue } from './codec/issues.js'
import { lengthIssue, sizeIssue } from './codec/limits.js'

export { formatIssues, MAX_REPORTED, renderIssue, type IssueKind, type SpecIssue } from './codec/issues.js'
export { SPEC_LIMITS } from './codec/limits.js'
export { MAX_DECAY, MAX_LABELS, MAX_RESTARTS, MAX_STEPS } from './codec/leaves.js'

/** What is known about the clip the attack will run on; regions are then checked against it. */
export interface CodecContext {
  readonly clip?: Clip
}

const anyClip = attackCodec(undefined)

const issue = (path: string, expected: string, got: string): SpecIssue => ({ path, expected, got, kind: 'invalid' })

/** A failed decoding: its first issues (as many as asked for) and how many there are. */
interface Failure {
  readonly issues: ReadonlyArray<SpecIssue>
  readonly count: number
}

const failed = (issues: ReadonlyArray<SpecIssue>): Failure => ({ issues, count: issues.length })

/** Decodes, building at most `limit` issues (a message per issue costs; a count does not). */
const decode = (json: unknown, context: CodecContext, limit: number): E.Either<Failure, Attack> => {
  try {
    const clip = context.clip
    if (clip !== undefined) {
      const bad = clipCodec.decode(clip)
      if (E.isLeft(bad)) return E.left(failed(issuesOf('context.clip', bad.left, limit)))
    }
    const tooBig = sizeIssue(json, 'attack')
    if (tooBig !== undefined) return E.left(failed([tooBig]))
    const decoded = (clip === undefined ? anyClip : attackCodec(clip)).decode(json)
    return E.isRight(decoded) ? decoded : E.left({ issues: issuesOf('attack', decoded.left, limit), count: decoded.left.length })
  } catch (e) {
    // Only a throwing getter or proxy gets here (size, depth and cycles are checked first).
    return E.left(failed([issue('attack', 'plain JSON data', `could not be checked: ${e instanceof Error ? e.message : String(e)}`)]))
  }
}

/** A failure as lines. */
const lines = (f: Failure): ReadonlyArray<string> => formatFirst(f.issues, f.count)

/**
 * Decodes an attack spec (already parsed JSON, or a value built in code) into an `Attack`, or every
 * problem with it as a `SpecIssue` (all of them; `formatIssues` renders and caps them). With
 * `context.clip`, regions are also checked against the clip's frames, rows and columns. Never throws.
 */
export const decodeAttackIssues = (json: unknown, context: CodecContext = {}): E.Either<ReadonlyArray<SpecIssue>, Attack> =>
  pipe(decode(json, context, Infinity), E.mapLeft((f) => f.issues))

/**
 * `decodeAttackIssues` with the problems as `path: message` lines rooted at `attack` (at most 100,
 * then a count of the rest). Never throws.
 *
 * @example
 * import { attacks, decodeAttack, encodeAttack } from 'multav/dsl'
 * decodeAttack(encodeAttack(attacks.multLinf())) // right(attacks.multLinf())
 */
export const decodeAttack = (json: unknown, context: CodecContext = {}): E.Either<ReadonlyArray<string>, Attack> =>
  pipe(decode(json, context, MAX_REPORTED), E.mapLeft(lines))

/**
 * A plain JSON-compatible deep copy of `attack` (no `undefined` fields, defaults left out):
 * `decodeAttack` inverts it.
 */
export const encodeAttack = (attack: Attack): unknown => anyClip.encode(attack)

const parse = (text: string, context: CodecContext, limit: number): E.Either<Failure, Attack> => {
  const tooLong = lengthIssue(text)
  if (tooLong !== undefined) return E.left(failed([tooLong]))
  let json: unknown
  try {
    json = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text)
  } catch (e) {
    return E.left(failed([issue('spec', 'JSON text', `not valid JSON: ${e instanceof Error ? e.message : String(e)}`)]))
  }
  return decode(json, context, limit)
}

/**
 * Parses a JSON spec and decodes it; a parse error is an issue at `spec` (`spec: not valid JSON: …`),
 * and a text longer than `SPEC_LIMITS.chars` is refused unread. A leading byte-order mark (U+FEFF,
 * which some editors write) is skipped. Never throws.
 */
export const parseAttackJsonIssues = (text: string, context: CodecContext = {}): E.Either<ReadonlyArray<SpecIssue>, Attack> =>
  pipe(parse(text, context, Infinity), E.mapLeft((f) => f.issues))

/** `parseAttackJsonIssues` with the problems as `path: message` lines. Never throws. */
export const parseAttackJson = (text: string, context: CodecContext = {}): E.Either<ReadonlyArray<string>, Attack> =>
  pipe(parse(text, context, MAX_REPORTED), E.mapLeft(lines))

/** The problems of an attack built in code, as `decodeAttack` reports them; empty when it is valid. */
export const validateAttack = (attack: Attack, context: CodecContext = {}): ReadonlyArray<string> =>
  pipe(
    decodeAttack(attack, context),
    E.match(
      (problems) => problems,
      () => [],
    ),
  )
