/**
 * multav/dsl: the attack algebra and its pure readers, with no tensor library behind them.
 *
 * Attack values (types, constructors, `match`/`fold`/`TAGS`, the paper's attacks), the JSON codecs,
 * the formula printer (`explain`, `explainLatex`) and the certifier (`certify`, `verify`,
 * `describeCertificate`). Importing this entry loads no TensorFlow.js (test/dsl-entry.test.ts), so a
 * tool that writes, checks or prints specs (an editor, a web page, a CI lint) stays small. `multav`
 * exports all of this too, beside the tensor interpreter, models, data and the evaluation.
 *
 * @example
 * import { attacks, certify, describeCertificate, explain } from 'multav/dsl'
 * explain(attacks.multLinf()) // "x' ← clip[0,1](Π_ratio∞(1.04)(x' ⊙ 1.01^sign(∇ₓL)))\nsteps: 5 …"
 * describeCertificate(certify(attacks.multLinf())) // "… ✓ ratio bound: max(x'/x, x/x') ≤ 1.04 where x > 0 …"
 *
 * @since 0.2.0
 */
export { pipe, flow } from 'fp-ts/lib/function.js'
export * from './dsl/index.js'
export {
  decodeAttack,
  decodeAttackIssues,
  encodeAttack,
  parseAttackJson,
  parseAttackJsonIssues,
  validateAttack,
  formatIssues,
  renderIssue,
  SPEC_LIMITS,
} from './dsl/codec.js'
export type { CodecContext, IssueKind, SpecIssue } from './dsl/codec.js'
export { explain, explainLatex } from './interpreters/pretty.js'
export { certify, verify, describeCertificate } from './interpreters/certify.js'
// Certificate, Bound, Support, Violation, VerifyOptions, …: every type the certifier's barrel declares
export type * from './interpreters/certify.js'
// The error classes every entry throws (`instanceof` holds across entries), and their kinds.
export { MultavError, InputError, UnavailableError, InternalError, isMultavError } from './core/errors.js'
export type { ErrorKind } from './core/errors.js'
