/**
 * The models of the browser entry: the architectures defined in code (weights from their seeded
 * initialisation, or assigned by the caller), and the shipped models and `multav train` folders
 * fetched by URL (`pretrained('default')`, `loadModel(url)`). Reading weight files from disk
 * (`loadWeights`, `loadSafetensors`) and training with checkpoints are Node-only (`multav`).
 *
 * @since 0.3.0
 */
export { r3d18 } from '../models/r3d.js'
export type { R3dConfig, VideoModel } from '../models/r3d.js'
export { tinyMlp, trainTinyMlp, accuracy } from '../models/tiny.js'
export { denoise } from '../models/denoise.js'
export type { DenoiseKind, DenoiseWeights } from '../models/denoise.js'
export { pretrained, loadModel, PRETRAINED } from './pretrained.js'
export type { Pretrained, PretrainedName, PretrainedOptions } from './pretrained.js'
export type { Fetch, FetchOptions } from './weights.js'
