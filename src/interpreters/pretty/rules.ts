/**
 * The pretty-printer's rule tables, one per sort of the algebra. Every rule takes the notation as
 * context, so Unicode and LaTeX share each formula's structure and differ only in symbols.
 *
 * @since 0.2.0
 */
import { fold, match } from '../../dsl/match.js'
import type { Attack, Constraint, Direction, Init, Loss, Region, Schedule, Step, Target, Update } from '../../dsl/types.js'
import { directionOf } from '../../dsl/walk.js'
import { labelList, type Notation } from './notation.js'

// -------------------------------------------------------------------------------------------------
// losses and targets
// -------------------------------------------------------------------------------------------------

/** The gradient symbol towards a target: ∇ₓL untargeted, ∇ₓ(−L(x', t)) towards t (the attack descends CE(t)). */
const towards = match<Target, string, [Notation]>({
  Untargeted: (_, n) => n.grad,
  Targeted: ({ label }, n) => n.gradTowards(`${n.classes.t}=${label}`),
  TargetedEach: (_, n) => n.gradTowards(n.classes.tn),
})

/** The gradient the directions read: CE's depends on the target; the margin is ascended as is. */
const gradient = match<Loss, string, [Notation]>({
  CrossEntropy: ({ target }, n) => towards(target, n),
  Margin: (_, n) => n.grad,
})

const targetText = match<Target, string, [Notation]>({
  Untargeted: () => 'untargeted',
  Targeted: ({ label }) => `targeted (t=${label})`,
  TargetedEach: ({ labels }, n) => `targeted per sample (${n.classes.tn} = ${labelList(labels)})`,
})

/** The per-sample margin objective: max_{j≠y} z_j − z_y, or z_t − max_{j≠t} z_j towards t. */
const marginObjective = match<Target, string, [Notation]>({
  Untargeted: (_, n) => n.minus(n.maxOther(n.classes.y), n.logit(n.classes.y)),
  Targeted: (_, n) => n.minus(n.logit(n.classes.t), n.maxOther(n.classes.t)),
  TargetedEach: (_, n) => n.minus(n.logit(n.classes.tn), n.maxOther(n.classes.tn)),
})

const lossText = match<Loss, string, [Notation]>({
  CrossEntropy: ({ target }, n) => `cross-entropy, ${targetText(target, n)}`,
  Margin: ({ target, confidence }, n) => {
    const objective = marginObjective(target, n)
    return `margin ${confidence === null ? objective : n.cap(objective, n.number(confidence))}, ${targetText(target, n)}`
  },
})

// -------------------------------------------------------------------------------------------------
// directions, schedules, updates, constraints
// -------------------------------------------------------------------------------------------------

/** Momentum buffers met so far: each gets a name and a defining line (m ← μ·m + d/mean|d|). */
interface Buffers {
  readonly define: (line: (name: string) => string) => string
  readonly lines: Array<string>
}

const buffers = (n: Notation, count: number): Buffers => {
  const lines: Array<string> = []
  return {
    lines,
    define: (line) => {
      const name = n.buffer(lines.length + 1, count)
      lines.push(line(name))
      return name
    },
  }
}

const momenta = fold<'Direction', number>('Direction', {
  Gradient: () => 0,
  Sign: ({ of }) => of,
  Normalize: ({ of }) => of,
  MaskRegion: ({ of }) => of,
  Momentum: ({ of }) => of + 1,
})

const direction = fold<'Direction', string, [Notation, string, Buffers]>('Direction', {
  Gradient: (_, _n, grad) => grad,
  Sign: ({ of }, n) => n.sign(of),
  Normalize: ({ of, scope }, n) => n.normalize(of, scope),
  MaskRegion: ({ region, of }, n) => n.mask(region, of),
  Momentum: ({ decay, of }, n, _grad, found) => found.define((m) => n.momentum(m, n.number(decay), of)),
})

/** s_i, or '' for the constant schedule (s_i = 1 is not written). */
const schedule = match<Schedule, string, [Notation]>({
  Constant: () => '',
  Exponential: ({ rate }, n) => n.exponential(n.number(rate)),
  StepDecay: ({ every, factor }, n) => n.stepDecay(n.number(factor), every),
})

/** The update's right-hand side; `dir` renders a direction. */
const update = match<Update, string, [Notation, (d: Direction) => string]>({
  // x' + α·s_i·d
  Add: ({ offset }, n, dir) =>
    n.add("x'", n.product(n.times(n.number(offset.alpha), offset.units), schedule(offset.schedule, n)), dir(offset.of)),
  // x' ⊙ α^(s_i·d), √N·d for 'rms'
  Multiply: ({ factor }, n, dir) => {
    const d = dir(factor.of)
    return n.multiply("x'", n.number(factor.alpha), n.product(schedule(factor.schedule, n), factor.units === 'rms' ? n.rootN(d) : d))
  },
})

/** A constraint wrapped around the expression `inner`. */
const constraint = match<Constraint, string, [Notation, string]>({
  Clip: ({ lo, hi }, n, inner) => n.clip(n.number(lo), n.number(hi), inner),
  ProjectBall: ({ norm, eps, units }, n, inner) => n.ball(norm, n.times(n.number(eps), units), inner),
  // L∞ reads ε as is (a ratio has no per-value scale); L2 log: ‖log(x'/x)‖₂ ≤ ln(ε^√N).
  ProjectRatio: ({ norm, eps, reading, units }, n, inner) =>
    norm === 'linf'
      ? n.ratio('linf', '', n.number(eps), inner)
      : n.ratio('l2', reading, reading === 'log' ? n.power(n.number(eps), units) : n.times(n.number(eps), units), inner),
})

// -------------------------------------------------------------------------------------------------
// init, steps, attacks
// -------------------------------------------------------------------------------------------------

const masked = (n: Notation, region: Region | undefined, e: string): string => (region === undefined ? e : n.mask(region, e))

const init = match<Init, string, [Notation]>({
  Clean: (_, n) => n.equals('x'),
  Uniform: ({ norm, eps, units, region }, n) => {
    const e = n.times(n.number(eps), units)
    if (norm === 'l2') return `${n.equals(n.clip('0', '1', n.add('x', '', n.gaussianStep(e))))}, ${n.gaussianNoise(region)}`
    return n.equals(n.clip('0', '1', n.add('x', '', masked(n, region, n.uniform(n.neg(e), e)))))
  },
  UniformRatio: ({ eps, region }, n) => {
    const ln = n.ln(n.number(eps))
    return n.equals(n.clip('0', '1', n.multiply('x', '', n.exp(masked(n, region, n.uniform(n.neg(ln), ln))))))
  },
  Fill: ({ value, region }, n) => n.equals(`${n.mask(region, n.number(value))} + ${n.unmask(region, 'x')}`),
})

/** One body step's formula: the update, wrapped by each constraint in order. */
const step = (n: Notation, s: Step, dir: (d: Direction) => string): string =>
  n.assign(s.constraints.reduce((inner, c) => constraint(c, n, inner), update(s.update, n, dir)))

/**
 * The attack in notation `n`: each body step's formula (labelled when there are several), followed by
 * the momentum buffers it defines; then the `steps`, `init`, `loss`, `seed` (and `restarts`) notes.
 */
export const render = (n: Notation, attack: Attack): string => {
  const grad = gradient(attack.loss, n)
  const found = buffers(n, attack.body.reduce((k, s) => k + momenta(directionOf(s.update)), 0))
  const dir = (d: Direction) => direction(d, n, grad, found)
  const steps = attack.body.flatMap((s, k) => {
    const before = found.lines.length
    const formula = step(n, s, dir)
    return [attack.body.length === 1 ? formula : n.label(formula, k, attack.body.length), ...found.lines.slice(before)]
  })
  const restarts = attack.restarts > 1 ? [n.note(`restarts: ${attack.restarts} runs, each sample keeps its best (a success first, then the higher objective)`)] : []
  return [
    ...steps,
    n.note(`steps: ${attack.steps}`),
    n.note(`init: ${init(attack.init, n)}`),
    n.note(`loss: ${lossText(attack.loss, n)}`),
    n.note(`seed: ${attack.seed}`),
    ...restarts,
  ].join('\n')
}
