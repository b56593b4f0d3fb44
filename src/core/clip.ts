/**
 * A clip batch as plain data, the form every layer shares (the reference interpreter, the data
 * readers, the certificate's verifier): no tensor library needed.
 *
 * @since 0.1.0
 */

/** A clip batch `[N, T, H, W, C]` as a flat row-major array, values in [0, 1]. */
export interface ClipData {
  readonly shape: readonly [number, number, number, number, number]
  readonly data: Float32Array
}
