/**
 * Constructors of directions (unitless functions of the gradient), step-size schedules, and the
 * offsets and factors that give a direction its units.
 *
 * @since 0.1.0
 */
import type { Direction, Factor, NormScope, Offset, Region, Schedule } from '../types.js'
import type { StepSizeOptions } from './options.js'

// -------------------------------------------------------------------------------------------------
// directions
// -------------------------------------------------------------------------------------------------

/** g = ∇ₓL at the current iterate. */
export const gradient = (): Direction => ({ _tag: 'Gradient' })

/** sign(d), with sign(0) = 0. */
export const sign = (of: Direction): Direction => ({ _tag: 'Sign', of })

/** d / ‖d‖₂ per sample (default) or per frame; a zero direction stays zero. */
export const normalize =
  (options: { readonly scope?: NormScope } = {}) =>
  (of: Direction): Direction => ({ _tag: 'Normalize', norm: 'l2', scope: options.scope ?? 'sample', of })

/** d inside `region`, 0 outside: the update leaves everything outside unchanged. */
export const maskRegion =
  (region: Region) =>
  (of: Direction): Direction => ({ _tag: 'MaskRegion', region, of })

/**
 * Accumulates the direction over the iterations (MI-FGSM): m ← μ·m + d / mean|d| per sample (mean over
 * the sample's T·H·W·C values; 0 where d is all zero), m = 0 at the start, state kept per occurrence.
 * `sign(momentum(1)(gradient()))` is MI-FGSM's direction with decay μ = 1.
 */
export const momentum =
  (decay: number) =>
  (of: Direction): Direction => ({ _tag: 'Momentum', decay, of })

// -------------------------------------------------------------------------------------------------
// schedules
// -------------------------------------------------------------------------------------------------

/** s_i = 1: the same step size at every iteration (the default). */
export const constant = (): Schedule => ({ _tag: 'Constant' })

/** s_i = rate^i, 0 < rate ≤ 1. */
export const exponentialDecay = (rate: number): Schedule => ({ _tag: 'Exponential', rate })

/** s_i = factor^⌊i / every⌋: the step size times `factor` every `every` iterations. */
export const stepDecay = (options: { readonly every: number; readonly factor: number }): Schedule => ({
  _tag: 'StepDecay',
  every: options.every,
  factor: options.factor,
})

// -------------------------------------------------------------------------------------------------
// offsets and factors
// -------------------------------------------------------------------------------------------------

/** The additive offset α·s_i·d (pixel units). */
export const scale =
  (alpha: number, options: StepSizeOptions = {}) =>
  (of: Direction): Offset => ({
    _tag: 'Scale',
    alpha,
    units: options.units ?? 'absolute',
    schedule: options.schedule ?? constant(),
    of,
  })

/** The multiplicative factor α^(s_i·d), computed as exp(s_i·d·ln α). */
export const exponent =
  (alpha: number, options: StepSizeOptions = {}) =>
  (of: Direction): Factor => ({
    _tag: 'Exponent',
    alpha,
    units: options.units ?? 'absolute',
    schedule: options.schedule ?? constant(),
    of,
  })
