/**
 * Destructors for the algebra: rule tables keyed by tag.
 *
 * Every reader of an attack value (interpreters, certify, pretty, codecs, generators, analyses) is a
 * table of `Rules`: one entry per tag of a sort. A new tag is then a compile error in every table that
 * lacks it, and a table cannot run a variant as another one (no `_tag === 'Add' ? … : …`).
 *
 * - `match(rules)(node, ...context)` applies the rule for `node`'s tag (explicit recursion);
 * - `fold(sort, rules)(node, ...context)` is the catamorphism of a recursive sort (`Direction`,
 *   `Region`): each rule sees its node with the children already folded (`Layer`).
 *
 * @example
 * import { match, type Update } from 'multav/dsl'
 * const kind = match<Update, string>({ Add: () => 'additive', Multiply: () => 'multiplicative' })
 * kind({ _tag: 'Add', offset: { _tag: 'Scale', alpha: 1 / 255, units: 'absolute', schedule: { _tag: 'Constant' }, of: { _tag: 'Gradient' } } })
 * // 'additive'
 *
 * @since 0.2.0
 */
import type { Constraint, Direction, Init, Loss, Region, Schedule, Target, Update } from './types.js'

/** A tagged value. */
export interface Tagged {
  readonly _tag: string
}

/** The variant of `U` with tag `K`. */
export type Variant<U extends Tagged, K extends U['_tag']> = Extract<U, { readonly _tag: K }>

/** One rule per tag of `U`: the rule for tag K reads the variant K (and a context) and returns R. */
export type Rules<U extends Tagged, R, Ctx extends ReadonlyArray<unknown> = []> = {
  readonly [K in U['_tag']]: (node: Variant<U, K>, ...context: Ctx) => R
}

/** Applies the rule for `node`'s tag. */
export const match =
  <U extends Tagged, R, Ctx extends ReadonlyArray<unknown> = []>(rules: Rules<U, R, Ctx>) =>
  (node: U, ...context: Ctx): R =>
    (rules[node._tag as U['_tag']] as (node: U, ...context: Ctx) => R)(node, ...context)

// -------------------------------------------------------------------------------------------------
// sorts: the tags of each, as values (a record over the tag union, so a new tag must be listed)
// -------------------------------------------------------------------------------------------------

/** The tags of a sort, as a record a new tag cannot be missing from. */
type TagSet<U extends Tagged> = { readonly [K in U['_tag']]: true }

const tagsOf = <U extends Tagged>(set: TagSet<U>): ReadonlyArray<U['_tag']> => Object.keys(set) as Array<U['_tag']>

/** Every tag of every sort, in declaration order (for generators, codecs and `multav list`). */
export const TAGS = {
  Region: tagsOf<Region>({
    Frames: true,
    Box: true,
    Rect: true,
    SearchedRect: true,
    Ring: true,
    Pixels: true,
    Union: true,
    Intersection: true,
    Complement: true,
  }),
  Direction: tagsOf<Direction>({ Gradient: true, Sign: true, Normalize: true, MaskRegion: true, Momentum: true }),
  Schedule: tagsOf<Schedule>({ Constant: true, Exponential: true, StepDecay: true }),
  Update: tagsOf<Update>({ Add: true, Multiply: true }),
  Constraint: tagsOf<Constraint>({ ProjectBall: true, ProjectRatio: true, Clip: true }),
  Init: tagsOf<Init>({ Clean: true, Uniform: true, UniformRatio: true, Fill: true }),
  Target: tagsOf<Target>({ Untargeted: true, Targeted: true, TargetedEach: true }),
  Loss: tagsOf<Loss>({ CrossEntropy: true, Margin: true }),
} as const

// -------------------------------------------------------------------------------------------------
// folds over the recursive sorts
// -------------------------------------------------------------------------------------------------

/** `N` with every child of sort `S` replaced by R (and every array of them by an array of R). */
export type Layer<N, S, R> = {
  readonly [P in keyof N]: P extends '_tag' ? N[P] : N[P] extends S ? R : N[P] extends ReadonlyArray<S> ? ReadonlyArray<R> : N[P]
}

/** One rule per tag of the recursive sort `U`, each reading its node with the children folded to R. */
export type FoldRules<U extends Tagged, R, Ctx extends ReadonlyArray<unknown> = []> = {
  readonly [K in U['_tag']]: (node: Layer<Variant<U, K>, U, R>, ...context: Ctx) => R
}

/** The recursive sorts and where their children are. */
interface Recursive {
  readonly Direction: Direction
  readonly Region: Region
}

const CHILD_FIELDS: { readonly [S in keyof Recursive]: ReadonlyArray<string> } = {
  Direction: ['of'],
  Region: ['regions', 'of'],
}

const isOfSort = (sort: keyof Recursive, v: unknown): boolean =>
  typeof v === 'object' && v !== null && (TAGS[sort] as ReadonlyArray<string>).includes((v as Tagged)._tag)

/**
 * The fold of a recursive sort: children first, then the rule for the node's tag, which sees the
 * folded children in their places. The context is passed to every rule unchanged.
 */
export const fold =
  <S extends keyof Recursive, R, Ctx extends ReadonlyArray<unknown> = []>(
    sort: S,
    rules: FoldRules<Recursive[S], R, Ctx>,
  ) =>
  (node: Recursive[S], ...context: Ctx): R => {
    const go = (n: Recursive[S]): R => {
      const layer: Record<string, unknown> = { ...n }
      for (const field of CHILD_FIELDS[sort]) {
        const child = layer[field]
        if (Array.isArray(child)) layer[field] = child.map((c) => go(c as Recursive[S]))
        else if (isOfSort(sort, child)) layer[field] = go(child as Recursive[S])
      }
      return (rules as Record<string, (node: unknown, ...context: Ctx) => R>)[n._tag]!(layer, ...context)
    }
    return go(node)
  }
