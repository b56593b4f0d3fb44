/**
 * Where an attack's parts are: the direction each update follows and the regions it uses. Shared by
 * every reader that needs them (the tensor interpreter's search, `check`, the pretty-printer), so a
 * new direction or start says once where its regions are.
 *
 * @since 0.2.0
 */
import { fold, match } from './match.js'
import type { Attack, Direction, Init, Region, Update } from './types.js'

/** The direction an update follows. */
export const directionOf: (u: Update) => Direction = match<Update, Direction>({
  Add: ({ offset }) => offset.of,
  Multiply: ({ factor }) => factor.of,
})

/** The regions a direction masks with, outermost first (MaskRegion's own, then those it wraps). */
export const directionRegions: (d: Direction) => ReadonlyArray<Region> = fold<'Direction', ReadonlyArray<Region>>('Direction', {
  Gradient: () => [],
  Sign: ({ of }) => of,
  Normalize: ({ of }) => of,
  MaskRegion: ({ region, of }) => [region, ...of],
  Momentum: ({ of }) => of,
})

/** The region a start acts in, if any (Fill always has one; the random starts may). */
export const initRegions: (init: Init) => ReadonlyArray<Region> = match<Init, ReadonlyArray<Region>>({
  Clean: () => [],
  Uniform: ({ region }) => (region === undefined ? [] : [region]),
  UniformRatio: ({ region }) => (region === undefined ? [] : [region]),
  Fill: ({ region }) => [region],
})

/** Every region the attack uses: its start's, then each body step's masks, in order (repeats kept). */
export const attackRegions = (attack: Attack): ReadonlyArray<Region> => [
  ...initRegions(attack.init),
  ...attack.body.flatMap((s) => directionRegions(directionOf(s.update))),
]
