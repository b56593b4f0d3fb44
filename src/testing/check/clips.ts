/**
 * The clips a check generates for an attack: a given shape (which must fit), else the smallest shape
 * that fits its regions, else the kit's random small sizes. An attack with one target per sample
 * (TargetedEach) fixes the batch size N to its number of labels.
 *
 * @since 0.2.0
 */
import { validateAttack } from '../../dsl/codec.js'
import { match } from '../../dsl/match.js'
import type { Attack, Target } from '../../dsl/types.js'
import { InputError } from '../../core/errors.js'
import type { ClipConstraints } from '../arbitraries.js'
import { attackRegions, fittingFrames } from './regions.js'

/** A clip batch's shape `[N, T, H, W, C]`. */
export type Shape = readonly [number, number, number, number, number]

/** The classes of the kit's linear models (`linearModelArb`), which a targeted attack must target among. */
export const LINEAR_MODEL_CLASSES = 2

/** The kit's largest random clip (`clipArb`: T ≤ 3, H ≤ 4, W ≤ 4, C = 3), for a batch size fixed without regions. */
const KIT_FRAMES = { T: 3, H: 4, W: 4 } as const

/** The batch size a target fixes: its number of per-sample labels, or none. */
export const targetBatch = match<Target, number | undefined>({
  Untargeted: () => undefined,
  Targeted: () => undefined,
  TargetedEach: ({ labels }) => labels.length,
})

const isShape = (s: unknown): s is Shape => Array.isArray(s) && s.length === 5 && s.every((d) => Number.isInteger(d) && d >= 1)

/**
 * The clips to generate for `attack`: `shape` when given (it must fit the regions and the per-sample
 * targets), else the smallest 2-sample shape that fits its regions, else the kit's random small sizes.
 * `text` says which.
 */
export const clipsFor = (attack: Attack, shape?: Shape): { readonly clips: ClipConstraints; readonly text: string } => {
  const N = targetBatch(attack.loss.target)
  if (shape !== undefined) {
    if (!isShape(shape)) throw new InputError(`runCheck: shape must be [N, T, H, W, C], five integers ≥ 1, got ${JSON.stringify(shape)}`)
    const [n, T, H, W] = shape
    const problems = validateAttack(attack, { clip: { T, H, W } })
    if (problems.length > 0) throw new InputError(`runCheck: the attack's regions do not fit clips [${shape.join(', ')}]:\n  ${problems.join('\n  ')}`, problems)
    if (N !== undefined && n !== N) throw new InputError(`runCheck: the attack has ${N} per-sample targets (TargetedEach), so clips must have N = ${N} samples, got [${shape.join(', ')}]`)
    return { clips: { shape }, text: `clips [${shape.join(', ')}]` }
  }
  const regions = attackRegions(attack)
  if (regions.length === 0 && N === undefined) return { clips: {}, text: 'clips of random sizes up to [2, 3, 4, 4, 3]' }
  const { T, H, W } = regions.length > 0 ? fittingFrames(regions) : KIT_FRAMES
  const fitted: Shape = [N ?? 2, T, H, W, 3]
  const why = [regions.length > 0 ? "the attack's regions" : undefined, N !== undefined ? 'its per-sample targets' : undefined].filter((w) => w !== undefined)
  return { clips: { shape: fitted }, text: `clips [${fitted.join(', ')}] (fitted to ${why.join(' and ')})` }
}
