/**
 * What the main entry (`multav`) and the browser entry (`multav/browser`) both export: all of
 * multav/dsl, `tf` (the one tfjs-core multav runs on), the tensor interpreter and the reference
 * interpreter. Each entry adds its own backends, models and data.
 */
export * from './dsl.js'
export * as tf from '@tensorflow/tfjs-core'
export { runAttack, project, withCleanMemo } from './interpreters/tensor.js'
export type { AttackResult, RunOptions, Sanity, StepInfo } from './interpreters/tensor.js'
export type { Model } from './core/model.js'
export { runReference } from './interpreters/reference.js'
export type { GradientOracle } from './interpreters/reference.js'
export type { ClipData } from './core/clip.js'
