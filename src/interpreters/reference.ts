/**
 * A small reference interpreter over Float32Array: the same semantics as the tensor interpreter,
 * written as plain loops in float64 and stored as float32 after each step (momentum states too).
 * Meant for tiny clips, as the oracle in tests.
 *
 * The gradient comes from a caller-supplied function of x', so the loss (cross-entropy or margin) and
 * its target (one class, or one per sample) do not enter here: they are the oracle's. Searched
 * rectangles need a model: pass the masks a tensor run found (`AttackResult.searched`) as
 * `options.searched`. Restarts need a model too: pass `options.judge`, which says per sample whether
 * a run's x' succeeds and its objective; it is an InputError to run restarts > 1 without one.
 *
 * Every reader is a rule table over the algebra's tags, in reference/: init, direction, constraints,
 * and the loop with its update table (run).
 *
 * @since 0.1.0
 */
export { runReference, type GradientOracle, type Judge, type ReferenceOptions, type Verdict } from './reference/run.js'
