/**
 * Step-size schedules: the multiplier s_i ∈ (0, 1] a schedule gives iteration i (0-based, counted over
 * the attack's steps). An additive step is α·s_i; a multiplicative one has s_i·ln α in its exponent.
 *
 * @since 0.2.0
 */
import { match } from './match.js'
import type { Schedule } from './types.js'

/** s_i for iteration `i`. */
export const scheduleAt: (schedule: Schedule, i: number) => number = match<Schedule, number, [number]>({
  Constant: () => 1,
  Exponential: ({ rate }, i) => rate ** i,
  StepDecay: ({ every, factor }, i) => factor ** Math.floor(i / every),
})
