/**
 * The pretty-printer: an attack written as the paper would write it, in Unicode or LaTeX.
 *
 * One line per body step: the update, wrapped by each constraint in order (the innermost is applied
 * first), then the momentum buffers the step defines (m ← μ·m + d/mean|d|); then `steps`, `init`,
 * `loss`, `seed` (and `restarts` when more than one). N is the number of values per sample (T·H·W·C):
 * a parameter given per value ('rms' units) is shown with its factor √N — an rms step α·√N, an rms
 * exponent α^(√N·d), an rms L2 radius ε·√N, and an rms log-ratio radius ε^√N (‖log(x'/x)‖₂ ≤ √N·ln ε).
 * A step-size schedule multiplies α by s_i (rate^i, or factor^⌊i/k⌋), in the exponent for a
 * multiplicative step. The rule tables are in `pretty/rules.ts`, the notations in `pretty/unicode.ts`
 * and `pretty/latex.ts`.
 *
 * @example
 * import { attacks, explain } from 'multav/dsl'
 * explain(attacks.multLinf()).split('\n')[0]
 * // "x' ← clip[0,1](Π_ratio∞(1.04)(x' ⊙ 1.01^sign(∇ₓL)))"
 *
 * @since 0.1.0
 */
import type { Attack } from '../dsl/types.js'
import { latex } from './pretty/latex.js'
import { render } from './pretty/rules.js'
import { unicode } from './pretty/unicode.js'

export { regionText } from './pretty/region.js'

/**
 * The attack as the paper would write it: one update formula per body step (labelled with the
 * iterations i that run it when there are several), then `steps`, `init`, `loss` and `seed` lines.
 */
export const explain = (attack: Attack): string => render(unicode, attack)

/**
 * The same formula(s) in LaTeX (math mode, one per line); the `steps`, `init` (a LaTeX formula),
 * `loss` and `seed` lines follow as LaTeX comments.
 */
export const explainLatex = (attack: Attack): string => render(latex, attack)
