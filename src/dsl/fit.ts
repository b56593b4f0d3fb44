/**
 * Whether an attack fits the clips and the model it will run on: its regions inside the clip's
 * frames, rows and columns (the same check `runAttack` makes on every batch), and its target class
 * among the model's classes. Pure: a front end checks every attack before it starts any work, instead
 * of failing on the first batch.
 *
 * @example
 * import { attacks, fitsClip } from 'multav/dsl'
 * fitsClip(attacks.roa({ height: 40 }), { T: 8, H: 32, W: 32 }, 6)
 * // ["attack.init.region: Rect 40x30 does not fit the clip's 32x32 frames", …]
 *
 * @since 0.1.0
 */
import { validateAttack } from './codec.js'
import { match } from './match.js'
import type { Attack, Target } from './types.js'

/** The frames an attack runs on: T frames of H x W pixels. */
export interface ClipFrames {
  readonly T: number
  readonly H: number
  readonly W: number
}

const notAClass = (path: string, label: number, classes: number): string =>
  `${path}: target class ${label} is not one of the model's ${classes} classes (0–${classes - 1})`

/**
 * The problems of an attack's target for a model of `classes` classes. The number of per-sample labels
 * of a `TargetedEach` target is checked against the batch when the attack runs.
 */
const targetProblems = match<Target, string[], [number]>({
  Untargeted: () => [],
  Targeted: ({ label }, classes) => (label < classes ? [] : [notAClass('attack.loss.target.label', label, classes)]),
  TargetedEach: ({ labels }, classes) =>
    labels.flatMap((label, n) => (label < classes ? [] : [notAClass(`attack.loss.target.labels[${n}]`, label, classes)])),
})

/**
 * Every reason `attack` cannot run on clips of `clip` frames against a model of `classes` classes,
 * as `path: message` lines rooted at `attack` (as `decodeAttack` reports); empty when it fits.
 * Never throws.
 */
export const fitsClip = (attack: Attack, clip: ClipFrames, classes: number): ReadonlyArray<string> => [
  ...validateAttack(attack, { clip: { T: clip.T, H: clip.H, W: clip.W } }),
  ...targetProblems(attack.loss.target, classes),
]
