/**
 * Constructors and combinators of the attack algebra: data-last, so they read as the paper's formula
 * inside fp-ts `pipe`. One module per sort, in constructors/: region, direction (with schedules,
 * offsets and factors), step, attack (with init, loss and target), and transform (restrictTo,
 * multiplicative, scaleFree).
 *
 * @example
 * import { clip, exponent, gradient, iterate, multiply, pipe, projectRatio, sign } from 'multav/dsl'
 * // Mult-L∞: x' ← clip[0,1](Π_ratio∞(1.04)(x' ⊙ 1.01^sign(∇ₓL))), 5 steps
 * const multLinf = pipe(gradient(), sign, exponent(1.01), multiply,
 *   projectRatio({ norm: 'linf', eps: 1.04 }), clip(0, 1), iterate(5))
 *
 * @since 0.1.0
 */
export * from './constructors/region.js'
export * from './constructors/direction.js'
export * from './constructors/step.js'
export * from './constructors/attack.js'
export * from './constructors/transform.js'
