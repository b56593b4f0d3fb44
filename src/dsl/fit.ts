/**
 * Whether an attack fits the clips and the model it will run on: its regions inside the clip's
 * frames, rows and columns (the same check `runAttack` makes on every batch), and its target class
 * among the model's classes. Pure: a front end checks every attack before it starts any work, instead
 * of failing on the first batch.
 *
 * @example
 * fitsClip(attacks.roa({ height: 40 }), { T: 8, H: 32, W: 32 }, 6)
 * // ["attack.init.region: Rect 40x30 does not fit the clip's 32x32 frames", …]
 *
 * @since 0.1.0
 */
import { validateAttack } from './codec.js'
import type { Attack } from './types.js'

/** The frames an attack runs on: T frames of H x W pixels. */
export interface ClipFrames {
  readonly T: number
  readonly H: number
  readonly W: number
}

/** The target-class problem of `attack` for a model of `classes` classes, if any. */
const targetProblems = (attack: Attack, classes: number): string[] => {
  const target = attack.loss.target
  if (target._tag !== 'Targeted' || target.label < classes) return []
  return [`attack.loss.target.label: target class ${target.label} is not one of the model's ${classes} classes (0–${classes - 1})`]
}

/**
 * Every reason `attack` cannot run on clips of `clip` frames against a model of `classes` classes,
 * as `path: message` lines rooted at `attack` (as `decodeAttack` reports); empty when it fits.
 * Never throws.
 */
export const fitsClip = (attack: Attack, clip: ClipFrames, classes: number): ReadonlyArray<string> => [
  ...validateAttack(attack, { clip: { T: clip.T, H: clip.H, W: clip.W } }),
  ...targetProblems(attack, classes),
]
