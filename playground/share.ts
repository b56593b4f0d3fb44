/**
 * The playground's state in the location hash, so a link carries it: `#spec=<the spec's JSON,
 * compact, URI-encoded>&clips=0,3`. Read back on load (a spec that does not decode is still loaded
 * into the editor, its problems shown). Pure (no DOM): test/playground.test.ts checks it.
 */

export interface Shared {
  /** The spec's text as it was shared (compact JSON when it parsed, else as typed). */
  readonly spec?: string
  /** The benchmark clips chosen, by index. */
  readonly clips?: ReadonlyArray<number>
}

/** The spec text compacted when it is JSON (a shorter link), else as is. */
const compact = (text: string): string => {
  try {
    return JSON.stringify(JSON.parse(text))
  } catch {
    return text
  }
}

/** The hash (with its `#`) holding `state`. */
export const toHash = (state: Shared): string => {
  const params = new URLSearchParams()
  if (state.spec !== undefined) params.set('spec', compact(state.spec))
  if (state.clips !== undefined && state.clips.length > 0) params.set('clips', state.clips.join(','))
  return `#${params.toString()}`
}

/** The state in a location hash (`#spec=…&clips=…`); what is absent or malformed is left out. */
export const fromHash = (hash: string, clipCount: number): Shared => {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash)
  const spec = params.get('spec') ?? undefined
  const clips = (params.get('clips') ?? '')
    .split(',')
    .filter((s) => /^\d+$/.test(s))
    .map(Number)
    .filter((n, i, all) => n < clipCount && all.indexOf(n) === i)
  return { ...(spec !== undefined ? { spec } : {}), ...(clips.length > 0 ? { clips } : {}) }
}

/** A file name for a spec download: its `name` field made safe, `.json`. */
export const downloadName = (spec: unknown): string => {
  const name = typeof spec === 'object' && spec !== null && typeof (spec as { name?: unknown }).name === 'string' ? (spec as { name: string }).name : 'attack'
  const safe = name.replace(/[^\w.-]+/g, '-').replace(/^[.-]+|[.-]+$/g, '').slice(0, 80)
  return `${safe === '' ? 'attack' : safe}.json`
}
