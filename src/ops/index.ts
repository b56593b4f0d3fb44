/**
 * Tensor ops the interpreters and models need: an exact `sign` and a `conv3d` that is fast and correct
 * on wasm. (Internals such as the geometry check and the filter cache's size stay in src/ops.)
 *
 * @since 0.1.0
 */
export { sign } from './sign.js'
export { conv3d, withFilterCache } from './conv3d.js'
export type { Conv3dOptions, Conv3dPadding, Pads3, Triple } from './conv3d.js'
