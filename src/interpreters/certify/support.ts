/**
 * The support check of `verify`: which values of a batch must equal x, per sample.
 *
 * Random regions (Rect, Pixels) are drawn from the run's seed; with restarts, sample n may come from
 * any run r (seed `restartSeed(seed, r)`), so each sample is checked against the first run whose draw
 * it keeps (run 0's when none). Searched rectangles are found once, for every run: their masks are
 * the search's (`searched`), or, when unknown, only their size is checked (`windows`).
 *
 * @since 0.2.0
 */
import { restartSeed } from '../../dsl/constructors.js'
import { fold, match } from '../../dsl/match.js'
import type { Region } from '../../dsl/types.js'
import { batchMask, regionKey, searchedIn, type Searched } from '../regions.js'
import type { Support } from './model.js'

/** A batch's shape [N, T, H, W, C]. */
export interface Batch {
  readonly N: number
  readonly T: number
  readonly H: number
  readonly W: number
  readonly C: number
}

/** A searched rectangle's size, all that is checked when its mask is unknown. */
export interface Window {
  readonly height: number
  readonly width: number
}

/** True when the region's pixels are drawn anew by each run (a random rectangle or pixels inside it). */
export const redrawn: (region: Region) => boolean = fold<'Region', boolean>('Region', {
  Frames: () => false,
  Box: () => false,
  Rect: () => true,
  SearchedRect: () => false, // found once, for every run
  Ring: () => false,
  Pixels: () => true,
  Union: ({ regions }) => regions.some((r) => r),
  Intersection: ({ regions }) => regions.some((r) => r),
  Complement: ({ of }) => of,
})

/** The region itself when it is a searched rectangle (not one nested in a union, …). */
const bareSearched = match<Region, Window | null>({
  Frames: () => null,
  Box: () => null,
  Rect: () => null,
  SearchedRect: (r) => r,
  Ring: () => null,
  Pixels: () => null,
  Union: () => null,
  Intersection: () => null,
  Complement: () => null,
})

/** The seeds of a certificate's runs. */
export const runSeeds = (seed: number, restarts: number): ReadonlyArray<number> =>
  Array.from({ length: Number.isSafeInteger(restarts) && restarts > 1 ? restarts : 1 }, (_, r) => restartSeed(seed, r))

/**
 * Where x' must equal x: `outside(i)` for value i, except that changes there may also fill the
 * `windows` (searched rectangles whose masks are unknown: only their size is).
 */
export interface SupportTest {
  readonly outside: (i: number) => boolean
  readonly windows: ReadonlyArray<Window>
  /** The support's random regions are redrawn by each of several runs. */
  readonly perRun: boolean
}

/** The batch's values, for choosing each sample's run. */
interface Values {
  readonly a: ArrayLike<number>
  readonly b: ArrayLike<number>
}

/** The support test of a certificate for a batch; undefined when there is nothing to check. */
export const supportTest = (
  support: Support,
  batch: Batch,
  seeds: ReadonlyArray<number>,
  searched: Searched | undefined,
  values: Values,
): SupportTest | undefined =>
  match<Support, SupportTest | undefined>({
    Everywhere: () => undefined,
    Nothing: () => ({ outside: () => true, windows: [], perRun: false }),
    Regions: ({ regions }) => {
      const known = (r: Region) => searchedIn(r).every((s) => searched?.has(regionKey(s)))
      const unknown = regions.filter((r) => !known(r))
      const windows = unknown.flatMap((r) => bareSearched(r) ?? [])
      // A searched rectangle nested in a union, intersection or complement, with no mask: nothing to check.
      if (windows.length < unknown.length) return undefined
      const perRun = seeds.length > 1 && regions.some(redrawn)
      const { N, T, H, W, C } = batch
      const insides = (perRun ? seeds : seeds.slice(0, 1)).map((seed) => {
        const inside = new Uint8Array(N * T * H * W)
        for (const r of regions) if (known(r)) batchMask(r, { T, H, W }, N, seed, searched).forEach((m, k) => (inside[k] ||= m))
        return inside
      })
      const outsideOf = (inside: Uint8Array) => (i: number) => inside[Math.floor(i / C)] === 0
      const perSample = T * H * W * C
      const keeps = (n: number, outside: (i: number) => boolean) => {
        if (windows.length > 0) return windowViolations(values, outside, windows, batch, n).length === 0
        for (let i = n * perSample; i < (n + 1) * perSample; i++) if (outside(i) && values.a[i] !== values.b[i]) return false
        return true
      }
      const tests = insides.map(outsideOf)
      if (tests.length === 1) return { outside: tests[0]!, windows, perRun }
      const chosen = Array.from({ length: N }, (_, n) => tests.find((outside) => keeps(n, outside)) ?? tests[0]!)
      return { outside: (i) => chosen[Math.floor(i / perSample)]!(i), windows, perRun }
    },
  })(support)

/** A searched rectangle's window check failing on one frame. */
export interface WindowMiss {
  readonly sample: number
  readonly frame: number
  readonly message: string
}

/** Per frame of sample n, the pixels changed outside the known regions must fit in the searched windows. */
export const windowViolations = (
  { a, b }: Values,
  outside: (i: number) => boolean,
  windows: ReadonlyArray<Window>,
  { T, H, W, C }: Batch,
  n: number,
): ReadonlyArray<WindowMiss> => {
  const out: WindowMiss[] = []
  for (let t = 0; t < T; t++) {
    let [top, bottom, left, right, count] = [H, -1, W, -1, 0]
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) {
        const base = (((n * T + t) * H + h) * W + w) * C
        let changed = false
        for (let c = 0; c < C; c++) changed ||= outside(base + c) && a[base + c] !== b[base + c]
        if (!changed) continue
        count++
        ;[top, bottom, left, right] = [Math.min(top, h), Math.max(bottom, h), Math.min(left, w), Math.max(right, w)]
      }
    if (count === 0) continue
    const fits =
      windows.length === 1
        ? bottom - top < windows[0]!.height && right - left < windows[0]!.width
        : count <= windows.reduce((s, r) => s + r.height * r.width, 0)
    if (!fits)
      out.push({
        sample: n,
        frame: t,
        message: `changed pixels of sample ${n}, frame ${t} (rows ${top}..${bottom}, columns ${left}..${right}) do not fit the searched rectangle${windows.length === 1 ? ` of ${windows[0]!.height}x${windows[0]!.width}` : 's'}`,
      })
  }
  return out
}
