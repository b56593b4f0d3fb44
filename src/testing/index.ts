/**
 * multav/testing: fast-check arbitraries and ready properties for attack values, for researchers who
 * define their own variants and want to property-test them in their own test runner.
 */
export * from './arbitraries.js'
/** fast-check itself (the version the arbitraries are built with), for `fc.assert`. */
export { default as fc } from 'fast-check'
export * from './properties.js'
export { runReference, type GradientOracle } from '../interpreters/reference.js'
export { type ClipData } from '../core/clip.js'
