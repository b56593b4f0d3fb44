/** Two arrays of values compared within a relative tolerance: the largest |a − b| relative to max |b|. */

export interface Difference {
  /** max |a − b| / max(max |b|, floor); Infinity when the lengths differ, NaN where a value is NaN. */
  readonly error: number
  /** Where |a − b| is largest (the first NaN if any); −1 where no value differs or the lengths do. */
  readonly index: number
  readonly got: number
  readonly want: number
  /** max(max |b|, floor): what the difference is relative to. */
  readonly scale: number
}

/**
 * How far `a` is from the reference `b`, relative to the largest |b| or to `floor` where that is
 * larger: a gradient that cancels to ~0 (a bias gradient summing ± cotangents of size `floor`)
 * carries rounding of that size, not of its own.
 */
export const difference = (a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): Difference => {
  if (a.length !== b.length) return { error: Infinity, index: -1, got: NaN, want: NaN, scale: floor }
  let worst = 0
  let index = -1
  let scale = floor
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!)
    if (!(d <= worst) && !Number.isNaN(worst)) [worst, index] = [d, i] // a larger difference, or the first NaN
    scale = Math.max(scale, Math.abs(b[i]!))
  }
  return { error: worst / scale, index, got: a[index] ?? NaN, want: b[index] ?? NaN, scale }
}

/** The relative error of `a` against `b` (see `difference`). */
export const relError = (a: ArrayLike<number>, b: ArrayLike<number>, floor?: number): number => difference(a, b, floor).error

/** "relative error e at [i]: got a, want b (scale s)", or the lengths where they differ. */
export const describe = (a: ArrayLike<number>, b: ArrayLike<number>, floor?: number): string => {
  if (a.length !== b.length) return `lengths differ: ${a.length} vs ${b.length}`
  const d = difference(a, b, floor)
  return `relative error ${d.error.toExponential(2)} at [${d.index}]: got ${d.got}, want ${d.want} (scale ${d.scale.toExponential(2)})`
}

/** Throws "<what>: relative error … at [i] …" unless relError(a, b, floor) ≤ tol (inside fast-check properties). */
export const assertClose = (what: string, a: ArrayLike<number>, b: ArrayLike<number>, tol: number, floor?: number): void => {
  if (!(relError(a, b, floor) <= tol)) throw new Error(`${what}: ${describe(a, b, floor)}`)
}
