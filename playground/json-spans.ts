/**
 * Where a codec issue's path (`attack.body[0].constraints[0].eps`) lies in the spec's JSON text, so
 * the editor can mark it: a small JSON reader that keeps each value's (and each field name's)
 * character range, and a resolver from an issue path to the range of the deepest value it reaches.
 * Pure (no DOM): test/playground.test.ts checks it.
 */

/** A value of the text: its range [start, end), and for a field, the range of its name too. */
export interface Span {
  readonly start: number
  readonly end: number
  /** The field name's range (with its quotes) when this value is an object's field. */
  readonly key?: { readonly start: number; readonly end: number }
  readonly fields?: ReadonlyMap<string, Span>
  readonly items?: ReadonlyArray<Span>
}

/** The spans of a JSON text, or undefined when it is not JSON (JSON.parse says where). */
export const spansOf = (text: string): Span | undefined => {
  let i = 0
  const ws = () => {
    while (i < text.length && ' \t\n\r\uFEFF'.includes(text[i]!)) i++
  }
  const fail = (): never => {
    throw new SyntaxError(`bad JSON at ${i}`)
  }
  const string = (): string => {
    const start = i
    if (text[i] !== '"') fail()
    for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++
    if (i >= text.length) fail()
    i++
    return JSON.parse(text.slice(start, i)) as string
  }
  const value = (key?: Span['key']): Span => {
    ws()
    const start = i
    const c = text[i]
    if (c === '{') {
      i++
      const fields = new Map<string, Span>()
      ws()
      if (text[i] === '}') return (i++, { start, end: i, fields, ...(key ? { key } : {}) })
      for (;;) {
        ws()
        const keyStart = i
        const name = string()
        const k = { start: keyStart, end: i }
        ws()
        if (text[i++] !== ':') fail()
        fields.set(name, value(k))
        ws()
        if (text[i] === ',') i++
        else if (text[i] === '}') return (i++, { start, end: i, fields, ...(key ? { key } : {}) })
        else fail()
      }
    }
    if (c === '[') {
      i++
      const items: Span[] = []
      ws()
      if (text[i] === ']') return (i++, { start, end: i, items, ...(key ? { key } : {}) })
      for (;;) {
        items.push(value())
        ws()
        if (text[i] === ',') i++
        else if (text[i] === ']') return (i++, { start, end: i, items, ...(key ? { key } : {}) })
        else fail()
      }
    }
    if (c === '"') string()
    else {
      const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400))
      if (!m) fail()
      i += m![0].length
    }
    return { start, end: i, ...(key ? { key } : {}) }
  }
  try {
    const root = value()
    ws()
    return i === text.length ? root : undefined
  } catch {
    return undefined
  }
}

/** Where an issue is: the range to mark and its 1-based line. */
export interface Located {
  readonly start: number
  readonly end: number
  readonly line: number
}

const lineAt = (text: string, offset: number): number => {
  let line = 1
  for (let k = 0; k < offset && k < text.length; k++) if (text[k] === '\n') line++
  return line
}

/**
 * The range of an issue `path` in `text`: `root` (default `attack`) is the whole value; `.name` a
 * field (the longest field name that fits, so a name holding `.` or `[` still resolves), `[i]` an
 * element. A path that goes past what the text has (a missing field) stops at the deepest value
 * found. A scalar is marked with its field name; an object or array by its name (or opening bracket)
 * only, but an unknown tag (`kind` 'unknown') by its `"_tag": …` field. `spec` (the text is not
 * JSON) is marked at the position JSON.parse names.
 */
export const locate = (text: string, path: string, o: { readonly root?: string; readonly kind?: string } = {}): Located | undefined => {
  const root = o.root ?? 'attack'
  if (path === 'spec' || path.startsWith('spec:')) {
    try {
      JSON.parse(text)
      return undefined
    } catch (e) {
      const m = /position (\d+)/.exec((e as Error).message)
      const at = m ? Math.min(Number(m[1]), Math.max(0, text.length - 1)) : Math.max(0, text.length - 1)
      return { start: at, end: Math.min(text.length, at + 1), line: lineAt(text, at) }
    }
  }
  const top = spansOf(text)
  if (top === undefined || !path.startsWith(root)) return undefined
  let node = top
  let rest = path.slice(root.length)
  while (rest !== '') {
    if (rest.startsWith('[') && node.items) {
      const m = /^\[(\d+)\]/.exec(rest)
      const next = m ? node.items[Number(m[1])] : undefined
      if (!m || !next) break
      node = next
      rest = rest.slice(m[0].length)
    } else if (rest.startsWith('.') && node.fields) {
      const after = rest.slice(1)
      let best: string | undefined
      for (const name of node.fields.keys()) {
        if (!after.startsWith(name)) continue
        const follow = after[name.length]
        if ((follow === undefined || follow === '.' || follow === '[') && (best === undefined || name.length > best.length)) best = name
      }
      if (best === undefined) break
      node = node.fields.get(best)!
      rest = after.slice(best.length)
    } else break
  }
  const tag = o.kind === 'unknown' ? node.fields?.get('_tag') : undefined
  if (tag) node = tag
  const container = node.fields !== undefined || node.items !== undefined
  const start = node.key?.start ?? node.start
  const end = container ? (node.key?.end ?? node.start + 1) : node.end
  return { start, end, line: lineAt(text, start) }
}
