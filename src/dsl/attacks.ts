/**
 * The paper's four Lp attacks as values, each with its defaults and every parameter
 * overridable through options named as in the paper's formulas.
 *
 * @since 0.1.0
 */
import { pipe } from 'fp-ts/lib/function.js'
import {
  add,
  clean,
  clip,
  fill,
  maskRegion,
  multiplicative,
  pixels,
  rect,
  ring,
  searchedRect,
  exponent,
  gradient,
  iterate,
  multiply,
  normalize,
  projectBall,
  projectRatio,
  scale,
  sign,
  uniform,
  uniformRatio,
} from './constructors.js'
import type { Attack, NormScope, Placement, RatioReading, Region, Units } from './types.js'

interface Common {
  /** Number of iterations T (default 5). */
  readonly steps?: number
  /** Seed of the random start (default 0). */
  readonly seed?: number
  /** Start from a random point of the constraint set. */
  readonly randomStart?: boolean
}

export interface AddLinfOptions extends Common {
  /** L∞ radius (default 4/255). */
  readonly eps?: number
  /** Step size (default 1/255). */
  readonly alpha?: number
}

/** Add-L∞ (PGD): x' ← clip[0,1](Π_∞(ε)(x' + α·sign(g))), uniform random start in the ε-ball. */
export const addLinf = (o: AddLinfOptions = {}): Attack => {
  const eps = o.eps ?? 4 / 255
  return pipe(
    gradient(),
    sign,
    scale(o.alpha ?? 1 / 255),
    add,
    projectBall({ norm: 'linf', eps }),
    clip(0, 1),
    iterate(o.steps ?? 5, {
      name: 'add-linf',
      init: o.randomStart ?? true ? uniform({ norm: 'linf', eps }) : clean(),
      seed: o.seed ?? 0,
    }),
  )
}

export interface L2Options extends Common {
  /**
   * How ε and α are read: 'rms' (default) per value, ε_abs = ε·√N, so the defaults scale with the clip
   * size (the paper's ε=160, α=1 over 3·40·112·112 values); 'absolute' as given.
   */
  readonly units?: Units
  /** Normalise the gradient over the whole sample (default) or per frame. */
  readonly scope?: NormScope
}

export interface AddL2Options extends L2Options {
  /** L2 radius (default 0.13 rms ≈ 160 on the paper's clips). */
  readonly eps?: number
  /** Step size (default 1/1227 rms ≈ 1.0 on the paper's clips). */
  readonly alpha?: number
}

/** Add-L2: x' ← clip[0,1](Π_2(ε)(x' + α·g/‖g‖₂)), random start rescaled to norm ε. */
export const addL2 = (o: AddL2Options = {}): Attack => {
  const units = o.units ?? 'rms'
  const eps = o.eps ?? 0.13
  return pipe(
    gradient(),
    normalize({ scope: o.scope ?? 'sample' }),
    scale(o.alpha ?? 1 / 1227, { units }),
    add,
    projectBall({ norm: 'l2', eps, units }),
    clip(0, 1),
    iterate(o.steps ?? 5, {
      name: 'add-l2',
      init: o.randomStart ?? true ? uniform({ norm: 'l2', eps, units }) : clean(),
      seed: o.seed ?? 0,
    }),
  )
}

export interface MultLinfOptions extends Common {
  /** Ratio bound: max(x'/x, x/x') ≤ ε (default 1.04). */
  readonly eps?: number
  /** Step factor (default 1.01). */
  readonly alpha?: number
}

/** Mult-L∞: x' ← clip[0,1](Π_ratio∞(ε)(x' ⊙ α^sign(g))), clean start (random start optional). */
export const multLinf = (o: MultLinfOptions = {}): Attack => {
  const eps = o.eps ?? 1.04
  return pipe(
    gradient(),
    sign,
    exponent(o.alpha ?? 1.01),
    multiply,
    projectRatio({ norm: 'linf', eps }),
    clip(0, 1),
    iterate(o.steps ?? 5, {
      name: 'mult-linf',
      init: o.randomStart ?? false ? uniformRatio({ eps }) : clean(),
      seed: o.seed ?? 0,
    }),
  )
}

export interface MultL2Options extends L2Options {
  /** Ratio bound (default 1.32 rms, 'log' reading: ‖log(x'/x)‖₂ ≤ √N·ln 1.32). Provisional. */
  readonly eps?: number
  /** Step factor (default 1.002 rms: a log-step of √N·ln 1.002 in L2). Provisional. */
  readonly alpha?: number
  /** Reading of the L2 ratio bound (default 'log'). */
  readonly reading?: RatioReading
}

/**
 * Mult-L2: x' ← clip[0,1](Π_ratio2(ε)(x' ⊙ α^(g/‖g‖₂))). The defaults are provisional until calibrated
 * on the shipped benchmark: relative per-pixel change ≈ Add-L2's on clips of mean ≈ 0.4.
 */
export const multL2 = (o: MultL2Options = {}): Attack => {
  const units = o.units ?? 'rms'
  const eps = o.eps ?? 1.32
  return pipe(
    gradient(),
    normalize({ scope: o.scope ?? 'sample' }),
    exponent(o.alpha ?? 1.002, { units }),
    multiply,
    projectRatio({ norm: 'l2', eps, reading: o.reading ?? 'log', units }),
    clip(0, 1),
    iterate(o.steps ?? 5, {
      name: 'mult-l2',
      init: o.randomStart ?? false ? uniformRatio({ eps }) : clean(),
      seed: o.seed ?? 0,
    }),
  )
}

// -------------------------------------------------------------------------------------------------
// physically realizable attacks: masked, unbounded (ε = 1), clipped to [0, 1]
// -------------------------------------------------------------------------------------------------

interface Masked {
  /** Number of iterations (default 5). */
  readonly steps?: number
  /** Seed of the random regions (default 0). */
  readonly seed?: number
}

/** x' ← clip[0,1](x' + α·(M ⊙ sign(g))), starting from `start`. */
const maskedAdditive = (name: string, region: Region, alpha: number, steps: number, seed: number, startValue?: number): Attack =>
  pipe(
    gradient(),
    sign,
    maskRegion(region),
    scale(alpha),
    add,
    clip(0, 1),
    iterate(steps, { name, init: startValue === undefined ? clean() : fill(startValue, region), seed }),
  )

export interface RoaOptions extends Masked {
  /** Step size (default 70/255). */
  readonly alpha?: number
  /** Rectangle size (default 30x30). */
  readonly height?: number
  readonly width?: number
  /** A new random position on every frame (default, as in the paper) or one shared by all frames. */
  readonly placement?: Placement
  /**
   * Search the position instead of drawing it (Wu et al., ICLR 2020): 'gradient' ranks windows by
   * gradient energy and tries the best `topK`, 'exhaustive' tries every `stride`-grid position; per
   * frame or shared as `placement` says.
   */
  readonly search?: { readonly method: 'exhaustive' | 'gradient'; readonly stride?: number; readonly topK?: number }
  /** Start value inside the rectangle (default 0.5, grey). */
  readonly start?: number
}

/** ROA (rectangular occlusion): a grey 30x30 rectangle at a random position per frame, then Add-L∞ steps inside it. */
export const roa = (o: RoaOptions = {}): Attack =>
  maskedAdditive(
    'roa',
    o.search === undefined
      ? rect({ height: o.height ?? 30, width: o.width ?? 30, placement: o.placement ?? 'perFrame' })
      : searchedRect({
          height: o.height ?? 30,
          width: o.width ?? 30,
          search: o.search.method,
          scope: o.placement ?? 'perFrame',
          stride: o.search.stride ?? 2,
          topK: o.search.topK ?? 8,
          fill: o.start ?? 0.5,
        }),
    o.alpha ?? 70 / 255,
    o.steps ?? 5,
    o.seed ?? 0,
    o.start ?? 0.5,
  )

export interface AfOptions extends Masked {
  /** Step size (default 70/255). */
  readonly alpha?: number
  /** Width of the border ring (default 10). */
  readonly width?: number
}

/** AF (adversarial framing): Add-L∞ steps on a border ring of width w, from the clean ring. */
export const af = (o: AfOptions = {}): Attack =>
  maskedAdditive('af', ring(o.width ?? 10), o.alpha ?? 70 / 255, o.steps ?? 5, o.seed ?? 0)

export interface SpaOptions extends Masked {
  /** Step size (default 70/255). */
  readonly alpha?: number
  /** Random pixels per frame, all channels, with replacement (default 100). */
  readonly perFrame?: number
  /** Start value of the chosen pixels (default 0, black). */
  readonly start?: number
}

/** SPA (salt-and-pepper): 100 random pixels per frame start black, then Add-L∞ steps on them. */
export const spa = (o: SpaOptions = {}): Attack =>
  maskedAdditive('spa', pixels(o.perFrame ?? 100), o.alpha ?? 70 / 255, o.steps ?? 5, o.seed ?? 0, o.start ?? 0)

/** α of the multiplicative twins: 0.5 reaches 1 in one step, 0.03 in four. */
const MULT_ALPHA = 2

/** MultAV-ROA: `x' ← clip[0,1](x' ⊙ α^(M ⊙ sign(g)))` on ROA's rectangles, ratio starting at 1, α = 2. */
export const multRoa = (o: Omit<RoaOptions, 'start'> = {}): Attack =>
  pipe(roa({ ...o, alpha: 1 }), multiplicative({ alpha: o.alpha ?? MULT_ALPHA }))

/** MultAV-AF: the multiplicative twin of AF on the same ring, α = 2. */
export const multAf = (o: AfOptions = {}): Attack => pipe(af({ ...o, alpha: 1 }), multiplicative({ alpha: o.alpha ?? MULT_ALPHA }))

/** MultAV-SPA: the multiplicative twin of SPA on the same pixels, α = 2; a zero pixel never changes. */
export const multSpa = (o: Omit<SpaOptions, 'start'> = {}): Attack =>
  pipe(spa({ ...o, alpha: 1 }), multiplicative({ alpha: o.alpha ?? MULT_ALPHA }))

/** The paper's ten attacks at their defaults, by their CLI and spec-file names. */
export const BUILT_IN: Readonly<Record<string, () => Attack>> = {
  'add-linf': () => addLinf(),
  'add-l2': () => addL2(),
  'mult-linf': () => multLinf(),
  'mult-l2': () => multL2(),
  roa: () => roa(),
  'mult-roa': () => multRoa(),
  af: () => af(),
  'mult-af': () => multAf(),
  spa: () => spa(),
  'mult-spa': () => multSpa(),
}

// The attacks porters look for (PGD, PGD-L2, FGSM, BIM, MI-FGSM), with torchattacks' defaults.
export { pgd, pgdL2, fgsm, bim, miFgsm, PORTED, PORTED_OVERRIDES } from './ported.js'
export type { PortedOptions, MiFgsmOptions } from './ported.js'
