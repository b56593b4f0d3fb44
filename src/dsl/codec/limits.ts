/**
 * Size limits of a spec, checked in one walk before decoding (whose cost grows with size and depth).
 *
 * @since 0.2.0
 */
import type { SpecIssue } from './issues.js'

/**
 * Size limits of a spec, so that a hostile or mistaken one is refused quickly (decoding is linear in
 * the spec's size, and a real spec is a few kB): characters of JSON text, values (numbers, strings,
 * arrays, objects, counted in one pass before decoding) and levels of nesting.
 */
export const SPEC_LIMITS = { chars: 1_048_576, values: 100_000, depth: 64 } as const

/**
 * The spec's first size problem, or undefined: more than `SPEC_LIMITS.values` values, nesting deeper
 * than `SPEC_LIMITS.depth`, or a value that contains itself. One walk that stops at the limit.
 */
export const sizeIssue = (json: unknown, root: string): SpecIssue | undefined => {
  let values = 0
  const path: string[] = [root]
  const onPath = new Set<object>()
  const at = () => path.join('')
  const walk = (u: unknown): SpecIssue | undefined => {
    if (++values > SPEC_LIMITS.values)
      return {
        path: at(),
        expected: `at most ${SPEC_LIMITS.values} values`,
        got: `the spec holds more than ${SPEC_LIMITS.values} values (numbers, strings, arrays and objects); a real spec holds a few hundred`,
        kind: 'invalid',
      }
    if (typeof u !== 'object' || u === null) return undefined
    if (onPath.has(u)) return { path: at(), expected: 'plain JSON data', got: 'the value contains itself (a cycle)', kind: 'limit' }
    if (path.length > SPEC_LIMITS.depth)
      return { path: at(), expected: `at most ${SPEC_LIMITS.depth}`, got: `nested more than ${SPEC_LIMITS.depth} levels deep`, kind: 'limit' }
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

/** The text-length issue of a spec, or undefined. */
export const lengthIssue = (text: string): SpecIssue | undefined =>
  text.length > SPEC_LIMITS.chars
    ? {
        path: 'spec',
        expected: `at most ${SPEC_LIMITS.chars} characters`,
        got: `${text.length} characters is more than the ${SPEC_LIMITS.chars} a spec may have (a real spec is a few kB)`,
        kind: 'invalid',
      }
    : undefined
