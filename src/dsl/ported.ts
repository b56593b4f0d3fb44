/**
 * The attacks a porter from torchattacks, foolbox or ART looks for, by their names and with
 * torchattacks' defaults, written in multav's algebra. All in pixel units of clips in [0, 1] and
 * absolute units for L2 (as torchattacks gives them), untargeted cross-entropy.
 *
 * @since 0.2.0
 */
import { pipe } from 'fp-ts/lib/function.js'
import { add, clean, clip, gradient, iterate, momentum, normalize, projectBall, scale, sign, uniform } from './constructors.js'
import type { Attack } from './types.js'

export interface PortedOptions {
  /** Radius ε (L∞: pixel units; L2: absolute, over a sample's T·H·W·C values). */
  readonly eps?: number
  /** Step size α (same units as ε). */
  readonly alpha?: number
  /** Number of iterations. */
  readonly steps?: number
  /** Seed of the random start. */
  readonly seed?: number
}

/** x' ← clip[0,1](Π(ε)(x' + α·d)) for `steps` iterations, from `init`. */
const projected = (name: string, d: typeof sign, norm: 'linf' | 'l2', eps: number, alpha: number, steps: number, start: boolean, seed: number): Attack =>
  pipe(
    gradient(),
    d,
    scale(alpha),
    add,
    projectBall({ norm, eps }),
    clip(0, 1),
    iterate(steps, { name, init: start ? uniform({ norm, eps }) : clean(), seed }),
  )

/** PGD (Madry et al. 2018; torchattacks `PGD`): ε = 8/255, α = 2/255, 10 steps, uniform random start. */
export const pgd = (o: PortedOptions = {}): Attack =>
  projected('pgd', sign, 'linf', o.eps ?? 8 / 255, o.alpha ?? 2 / 255, o.steps ?? 10, true, o.seed ?? 0)

/** PGD-L2 (torchattacks `PGDL2`): ε = 1.0, α = 0.2 (absolute L2), 10 steps, random start in the ball. */
export const pgdL2 = (o: PortedOptions = {}): Attack =>
  projected('pgd-l2', normalize({ scope: 'sample' }), 'l2', o.eps ?? 1, o.alpha ?? 0.2, o.steps ?? 10, true, o.seed ?? 0)

/** FGSM (Goodfellow et al. 2015): one step `x' = clip[0,1](x + ε·sign(g))`, ε = 8/255. */
export const fgsm = (o: Omit<PortedOptions, 'alpha' | 'steps'> = {}): Attack =>
  projected('fgsm', sign, 'linf', o.eps ?? 8 / 255, o.eps ?? 8 / 255, 1, false, o.seed ?? 0)

/** BIM / I-FGSM (Kurakin et al. 2017; torchattacks `BIM`): PGD from the clean clip, ε = 8/255, α = 2/255, 10 steps. */
export const bim = (o: PortedOptions = {}): Attack =>
  projected('bim', sign, 'linf', o.eps ?? 8 / 255, o.alpha ?? 2 / 255, o.steps ?? 10, false, o.seed ?? 0)

export interface MiFgsmOptions extends PortedOptions {
  /** Momentum decay μ (default 1.0). */
  readonly decay?: number
}

/**
 * MI-FGSM (Dong et al. 2018; torchattacks `MIFGSM`): x' ← clip[0,1](Π_∞(ε)(x' + α·sign(m))),
 * m ← μ·m + g/mean|g|; ε = 8/255, α = 2/255, 10 steps, μ = 1, from the clean clip.
 */
export const miFgsm = (o: MiFgsmOptions = {}): Attack => {
  const decay = o.decay ?? 1
  return projected('mi-fgsm', (d) => sign(momentum(decay)(d)), 'linf', o.eps ?? 8 / 255, o.alpha ?? 2 / 255, o.steps ?? 10, false, o.seed ?? 0)
}

/** The ported attacks at torchattacks' defaults, by their CLI names. */
export const PORTED: Readonly<Record<string, () => Attack>> = {
  pgd: () => pgd(),
  'pgd-l2': () => pgdL2(),
  fgsm: () => fgsm(),
  bim: () => bim(),
  'mi-fgsm': () => miFgsm(),
}

/** Each ported attack's constructor and the options `name:key=value` may override. */
export const PORTED_OVERRIDES: Readonly<Record<string, { readonly make: (o: Record<string, number>) => Attack; readonly keys: ReadonlyArray<string> }>> = {
  pgd: { make: pgd, keys: ['eps', 'alpha', 'steps', 'seed'] },
  'pgd-l2': { make: pgdL2, keys: ['eps', 'alpha', 'steps', 'seed'] },
  fgsm: { make: fgsm, keys: ['eps', 'seed'] },
  bim: { make: bim, keys: ['eps', 'alpha', 'steps', 'seed'] },
  'mi-fgsm': { make: miFgsm, keys: ['eps', 'alpha', 'steps', 'seed', 'decay'] },
}
