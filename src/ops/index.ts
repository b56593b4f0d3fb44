/**
 * Tensor ops the interpreters and models need.
 *
 * @since 0.1.0
 */
export { sign } from './sign.js'
export { conv3d, conv3dGeometry, withFilterCache, filterCacheSize } from './conv3d.js'
export type { Conv3dGeometry, Conv3dOptions, Conv3dPadding, Pads3, Triple } from './conv3d.js'
