/// <reference lib="dom" />
/**
 * The spec editor: a textarea over a backdrop that mirrors its text with the codec's issues marked
 * at their paths (json-spans.ts), and the list of issues under it, each `path: message` (the line
 * number shown beside it; a click selects the spot in the text).
 */
import type { SpecIssue } from '../src/browser.js'
import { locate, type Located } from './json-spans.js'

export interface Editor {
  readonly text: () => string
  readonly setText: (text: string) => void
  /** Marks `issues` (an empty list clears them); `lines` are their rendered messages, in order. */
  readonly show: (issues: ReadonlyArray<SpecIssue>, lines: ReadonlyArray<string>) => void
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export const editor = (area: HTMLTextAreaElement, backdrop: HTMLElement, list: HTMLUListElement): Editor => {
  area.addEventListener('scroll', () => {
    backdrop.scrollTop = area.scrollTop
    backdrop.scrollLeft = area.scrollLeft
  })
  const mark = (places: ReadonlyArray<Located>) => {
    const text = area.value
    // ranges sorted and merged, so the marks never overlap
    const ranges = [...places].sort((a, b) => a.start - b.start)
    let html = ''
    let at = 0
    for (const r of ranges) {
      const start = Math.max(at, r.start)
      if (r.end <= start) continue
      html += `${escape(text.slice(at, start))}<mark>${escape(text.slice(start, r.end))}</mark>`
      at = r.end
    }
    // a trailing newline needs a character after it to take up its line
    backdrop.innerHTML = `${html}${escape(text.slice(at))}\n`
    backdrop.scrollTop = area.scrollTop
  }
  return {
    text: () => area.value,
    setText: (text) => {
      area.value = text
    },
    show: (issues, lines) => {
      const places = issues.map((i) => locate(area.value, i.path, { kind: i.kind }))
      mark(places.filter((p): p is Located => p !== undefined))
      list.replaceChildren(
        ...lines.map((line, k) => {
          const li = document.createElement('li')
          li.textContent = line
          const place = places[k]
          if (place) {
            // shown by CSS (::before), so the item's text stays the issue's own line
            li.dataset['line'] = `line ${place.line}`
            li.title = 'select it in the spec'
            li.addEventListener('click', () => {
              area.focus()
              area.setSelectionRange(place.start, place.end)
            })
          }
          return li
        }),
      )
    },
  }
}
