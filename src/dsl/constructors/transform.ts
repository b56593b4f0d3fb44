/**
 * Transforms of whole attacks, written as rule tables over the algebra's tags: `restrictTo` (confine
 * to a region), `multiplicative` (the log-space twin), and the `scaleFree` and `ternary` analyses of directions.
 *
 * @since 0.1.0
 */
import { fold, match } from '../match.js'
import type { Attack, Constraint, Direction, Init, Region, Update } from '../types.js'
import { clean } from './attack.js'
import { maskRegion } from './direction.js'

/** Confines an update's direction to `region` (the schedule, units and α are kept). */
const restrictUpdate = match<Update, Update, [Region]>({
  Add: ({ offset }, region) => ({ _tag: 'Add', offset: { ...offset, of: maskRegion(region)(offset.of) } }),
  Multiply: ({ factor }, region) => ({ _tag: 'Multiply', factor: { ...factor, of: maskRegion(region)(factor.of) } }),
})

/** A random or filled start drawn inside `region` instead (its former region, if any, is replaced). */
const restrictInit = match<Init, Init, [Region]>({
  Clean: (init) => init,
  Uniform: (init, region) => ({ ...init, region }),
  UniformRatio: (init, region) => ({ ...init, region }),
  Fill: (init, region) => ({ ...init, region }),
})

/**
 * Restricts every update of the attack (and its random start) to `region`. Applied twice, the masks
 * nest: the updates are restricted to the intersection. Schedules and momentum are kept as they are
 * (a momentum inside the mask still accumulates the whole sample's direction; the mask applies to m).
 */
export const restrictTo =
  (region: Region) =>
  (attack: Attack): Attack => ({
    ...attack,
    init: restrictInit(attack.init, region),
    body: attack.body.map((step) => ({ ...step, update: restrictUpdate(step.update, region) })),
  })

/** The multiplicative update of an additive one: α·s_i·d becomes α'^(s_i·d), same direction and schedule. */
const multiplicativeUpdate = match<Update, Update, [number]>({
  Add: ({ offset }, alpha) => ({
    _tag: 'Multiply',
    factor: { _tag: 'Exponent', alpha, units: 'absolute', schedule: offset.schedule, of: offset.of },
  }),
  Multiply: (update) => update,
})

/** An additive ball is dropped, or becomes the L∞/L2 ratio bound `eps` ('log' reading) when given. */
const multiplicativeConstraint = match<Constraint, ReadonlyArray<Constraint>, [number | undefined]>({
  ProjectBall: (c, eps) => (eps === undefined ? [] : [{ _tag: 'ProjectRatio', norm: c.norm, eps, reading: 'log', units: c.units }]),
  ProjectRatio: (c) => [c],
  Clip: (c) => [c],
})

/**
 * The multiplicative twin of an additive attack (the log-space view: Mult-L∞ is Add-L∞ on log x): every
 * `add(scale(α, { schedule }))(d)` becomes `multiply(exponent(alpha, { schedule }))(d)` on the same
 * direction (masks and momentum included), additive ball projections are dropped (or replaced by a
 * ratio bound `eps` when given), and a random or filled start becomes the clean start (ratio 1).
 * Multiplicative steps and other constraints are kept.
 */
export const multiplicative =
  (options: { readonly alpha: number; readonly eps?: number }) =>
  (attack: Attack): Attack => ({
    ...attack,
    name: attack.name.startsWith('mult-') ? attack.name : `mult-${attack.name}`,
    init: clean(),
    body: attack.body.map((step) => ({
      _tag: 'Step',
      update: multiplicativeUpdate(step.update, options.alpha),
      constraints: step.constraints.flatMap((c) => multiplicativeConstraint(c, options.eps)),
    })),
  })

/**
 * True for a direction that is signed or normalised (sign(·), ·/‖·‖₂, masked or not): its value does
 * not change when the gradient is scaled, and |d| ≤ 1 everywhere. False for a raw gradient, and for a
 * momentum m not under a sign or normalisation: m does not change with the gradient's scale either,
 * but it is not bounded by 1 (one step's term d/mean|d| reaches N = T·H·W·C at a single non-zero
 * value, and the terms add up over the steps).
 */
export const scaleFree: (d: Direction) => boolean = fold<'Direction', boolean>('Direction', {
  Gradient: () => false,
  Sign: () => true,
  Normalize: () => true,
  MaskRegion: ({ of }) => of,
  Momentum: () => false,
})

/**
 * True for a direction whose every value is −1, 0 or 1 (NaN where the gradient was NaN): a sign,
 * masked or not (region masks are 0/1). A normalised direction, a raw gradient and a momentum take
 * other values.
 */
export const ternary: (d: Direction) => boolean = fold<'Direction', boolean>('Direction', {
  Gradient: () => false,
  Sign: () => true,
  Normalize: () => false,
  MaskRegion: ({ of }) => of,
  Momentum: () => false,
})
