/**
 * The certifier: what an attack's structure guarantees about every output, derived by abstract
 * interpretation — the init's abstract state, then every step's update and constraints, for all
 * iterations (iteration i runs body[i mod body.length]) — and a verifier that checks a concrete
 * output against it. Assumes the clean clip x ∈ [0, 1]; N = T·H·W·C values per sample.
 *
 * The abstract state is the certificate's fields. Transfer rules, in brief (details beside each table):
 * - a direction d has a per-value bound b∞ and an L2 bound b₂: g (∞, ∞), sign (1, √N), g/‖g‖₂ per
 *   sample (1, 1), per frame (1, √T ≤ √N), momentum (∞, ∞) whatever it accumulates; a mask keeps them
 *   and confines the support, and momentum keeps its child's support (certify/direction.ts);
 * - x' + α·s_i·d: ‖x'−x‖∞ grows by |α|·b∞, ‖x'−x‖₂ by |α|·b₂ (α·√N with rms units), as s_i ≤ 1;
 *   ratios, zeros, range lost; x' ⊙ α^(s_i·d): max(x'/x, x/x') grows by α^b∞, ‖log(x'/x)‖₂ by
 *   |ln α|·b₂; balls, range lost (certify/update.ts);
 * - a contraction toward x (ball and ratio projections except the literal L2 reading, clip[lo ≤ 0, hi ≥ 1])
 *   keeps every bound and the support, then sets its own (certify/constraint.ts);
 * - after each update and constraint, bounds implied by others are tightened (certify/state.ts).
 * The loss and its target do not enter; with restarts every per-sample bound holds for each sample's run.
 *
 * @example
 * import { attacks, certify, verify } from 'multav/dsl'
 * const x = { shape: [1, 1, 1, 1, 2] as const, data: Float32Array.from([0.5, 0.25]) }
 * const xAdv = { shape: x.shape, data: Float32Array.from([0.52, 0.25]) }
 * const c = certify(attacks.multLinf())   // ratioLinf 1.04, zeroFixed, range [0, 1], ballLinf 0.04, …
 * verify(c, x, xAdv)                      // [] when xAdv keeps every promise, else Violation records
 *
 * @since 0.1.0
 */
export type { Bound, Certificate, Support } from './certify/model.js'
export { certify } from './certify/certificate.js'
export { describeCertificate } from './certify/describe.js'
export { verify, type Checked, type ClipLike, type VerifyOptions, type Violation } from './certify/verify.js'
