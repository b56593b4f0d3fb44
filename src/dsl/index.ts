/**
 * The attack algebra: types, constructors and combinators, and the paper's attacks as values.
 * Imports no tensor library.
 */
export * from './types.js'
export * from './constructors.js'
export * from './match.js'
export { scheduleAt } from './schedule.js'
export { attackRegions, directionOf, directionRegions, initRegions } from './walk.js'
export * as attacks from './attacks.js'
export type { AddLinfOptions, AddL2Options, MultLinfOptions, MultL2Options } from './attacks.js'
export { fitsClip } from './fit.js'
export type { ClipFrames } from './fit.js'
