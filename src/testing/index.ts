/**
 * multav/testing: fast-check arbitraries and ready properties for attack values, for researchers who
 * define their own variants and want to property-test them in their own test runner. Attack values
 * come from one generator table per sort (`directionGenerators`, `scheduleGenerators`, …, combined by
 * `unionOf` over `TAGS`), so every primitive of the algebra is generated.
 */
export * from './arbitraries.js'
/** fast-check itself (the version the arbitraries are built with), for `fc.assert`. */
export { default as fc } from 'fast-check'
export * from './properties.js'
export { runReference, type GradientOracle, type Judge, type Verdict } from '../interpreters/reference.js'
export { type ClipData } from '../core/clip.js'
