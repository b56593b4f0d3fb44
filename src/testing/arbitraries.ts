/**
 * fast-check arbitraries for property-testing attacks: clips (with exact zeros and ones), small
 * differentiable models with analytic gradients, and attack values from one generator table per sort
 * (a new primitive is generated, and so property-tested, once its table entry exists).
 *
 * @since 0.1.0
 */
export * from './arbitraries/generators.js'
export * from './arbitraries/clips.js'
export * from './arbitraries/models.js'
export * from './arbitraries/attacks.js'
export * from './arbitraries/cases.js'
