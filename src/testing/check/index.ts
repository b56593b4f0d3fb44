/**
 * The property-check engine behind `multav check`: which of the testing kit's properties apply to an
 * attack, on which clips, run with fast-check and reported (never thrown) with shrunk, compact
 * counterexamples and the seed and path that replay them.
 *
 * @since 0.2.0
 */
export { attackRegions, fittingFrames } from './regions.js'
export { clipsFor, LINEAR_MODEL_CLASSES, targetBatch, type Shape } from './clips.js'
export { signalDependence } from './signal.js'
export { checkProperties, type AnyProperty, type CheckProperty } from './properties.js'
export { renderValue } from './render.js'
export { runCheck, runProperties, type CheckFailure, type CheckOptions, type CheckReport } from './run.js'
