/**
 * A certificate in words: each guarantee held (✓), then what is not guaranteed and why (✗).
 *
 * @since 0.1.0
 */
import { match } from '../../dsl/match.js'
import type { RatioReading } from '../../dsl/types.js'
import { regionText } from '../pretty.js'
import { num, showBound } from './bounds.js'
import type { Certificate, Support } from './model.js'
import { redrawn, runSeeds } from './support.js'

export const READING_NORM: Readonly<Record<RatioReading, string>> = {
  log: "‖log(x'/x)‖₂",
  literal: "‖x'/x‖₂",
  deviation: "‖x'/x − 1‖₂",
}

export const supportText: (s: Support) => string = match<Support, string>({
  Nothing: () => 'nothing',
  Everywhere: () => 'everything',
  Regions: (s) => s.regions.map(regionText).join(' ∪ '),
})

/** The support line, when the support confines anything; random regions are those of the sample's own run. */
const supportLine = (c: Certificate): string | null =>
  match<Support, string | null>({
    Nothing: (s) => `support: x' = x (bit-identical) outside ${supportText(s)}`,
    Everywhere: () => null,
    Regions: (s) => {
      const runs = runSeeds(c.seed, c.restarts).length
      const own = runs > 1 && s.regions.some(redrawn) ? `, as drawn by the run each sample comes from (one of ${runs})` : ''
      return `support: x' = x (bit-identical) outside ${supportText(s)}${own}`
    },
  })(c.support)

/** The certificate in words: each guarantee held (✓), then what is not guaranteed and why (✗). */
export const describeCertificate = (c: Certificate): string => {
  const held = [
    c.range && `range: x' ∈ [${num(c.range.lo)}, ${num(c.range.hi)}]`,
    c.ballLinf !== null && `additive L∞ ball: ‖x' − x‖∞ ≤ ${num(c.ballLinf)}`,
    c.ballL2 && `additive L2 ball: ‖x' − x‖₂ ≤ ${showBound(c.ballL2)} per sample`,
    c.ratioLinf !== null && `ratio bound: max(x'/x, x/x') ≤ ${num(c.ratioLinf)} where x > 0`,
    c.ratioL2 && `L2 ratio bound (${c.ratioL2.reading}): ${READING_NORM[c.ratioL2.reading]} ≤ ${showBound(c.ratioL2.bound)} per sample`,
    c.zeroFixed && "zero fixed point: x = 0 ⇒ x' = 0",
    supportLine(c),
  ].filter((line): line is string => typeof line === 'string')
  const runs = runSeeds(c.seed, c.restarts).length
  const restarts = runs > 1 ? `; best of ${runs} runs, each sample the output of one` : ''
  return [
    `certificate of ${c.attack} (N = values per sample${restarts}; assuming ${c.assumptions.join('; ')}):`,
    ...held.map((l) => `  ✓ ${l}`),
    ...c.reasons.map((r) => `  ✗ ${r}`),
  ].join('\n')
}
