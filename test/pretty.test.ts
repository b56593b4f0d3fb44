/** explain / explainLatex: the attack as the paper writes it (exact strings). */
import test from 'ava'
import { pipe } from 'fp-ts/function'
import * as attacks from '../src/dsl/attacks.js'
import {
  add,
  box,
  clip,
  complement,
  exponent,
  exponentialDecay,
  frames,
  gradient,
  intersection,
  iterate,
  margin,
  maskRegion,
  momentum,
  multiply,
  normalize,
  projectBall,
  projectRatio,
  ring,
  scale,
  sign,
  stepDecay,
  targeted,
  targetedEach,
  uniform,
  union,
  withRestarts,
  withTarget,
} from '../src/dsl/constructors.js'
import { explain, explainLatex, regionText } from '../src/interpreters/pretty.js'

const lines = (...ls: string[]) => ls.join('\n')
const first = (s: string) => s.split('\n')[0]

test('the four built-ins read as the paper writes them', (t) => {
  t.is(
    explain(attacks.addLinf()),
    lines(
      "x' ← clip[0,1](Π_∞(4/255)(x' + 1/255·sign(∇ₓL)))",
      'steps: 5',
      "init: x' = clip[0,1](x + U(−4/255, 4/255))",
      'loss: cross-entropy, untargeted',
      'seed: 0',
    ),
  )
  t.is(
    explain(attacks.addL2()),
    lines(
      "x' ← clip[0,1](Π_2(0.13·√N)(x' + (1/1227)·√N·∇ₓL/‖∇ₓL‖₂))",
      'steps: 5',
      "init: x' = clip[0,1](x + 0.13·√N·z/‖z‖₂), z ~ N(0, I)",
      'loss: cross-entropy, untargeted',
      'seed: 0',
    ),
  )
  t.is(
    explain(attacks.multLinf()),
    lines("x' ← clip[0,1](Π_ratio∞(1.04)(x' ⊙ 1.01^sign(∇ₓL)))", 'steps: 5', "init: x' = x", 'loss: cross-entropy, untargeted', 'seed: 0'),
  )
  t.is(
    explain(attacks.multL2()),
    lines(
      "x' ← clip[0,1](Π_ratio2,log(1.32^√N)(x' ⊙ 1.002^(√N·∇ₓL/‖∇ₓL‖₂)))",
      'steps: 5',
      "init: x' = x",
      'loss: cross-entropy, untargeted',
      'seed: 0',
    ),
  )
})

test('overrides show in the formula: pixel levels as k/255, ratios and short decimals stay decimal', (t) => {
  t.is(
    explain(attacks.addLinf({ eps: 8 / 255, alpha: 2 / 255, steps: 10, seed: 3 })),
    lines(
      "x' ← clip[0,1](Π_∞(8/255)(x' + 2/255·sign(∇ₓL)))",
      'steps: 10',
      "init: x' = clip[0,1](x + U(−8/255, 8/255))",
      'loss: cross-entropy, untargeted',
      'seed: 3',
    ),
  )
  t.is(first(explain(attacks.addLinf({ eps: 0.2, alpha: 0.1 + 0.2 }))), "x' ← clip[0,1](Π_∞(0.2)(x' + 0.3·sign(∇ₓL)))")
  t.is(first(explain(attacks.multLinf({ eps: 1.2, alpha: 1.05 }))), "x' ← clip[0,1](Π_ratio∞(1.2)(x' ⊙ 1.05^sign(∇ₓL)))")
  t.is(explain(attacks.multLinf({ randomStart: true })).split('\n')[2], "init: x' = clip[0,1](x ⊙ exp(U(−ln 1.04, ln 1.04)))")
  t.is(
    first(explain(attacks.multL2({ reading: 'deviation', units: 'absolute', eps: 3 }))),
    "x' ← clip[0,1](Π_ratio2,deviation(3)(x' ⊙ 1.002^(∇ₓL/‖∇ₓL‖₂)))",
  )
  t.is(first(explain(attacks.multL2({ reading: 'literal', eps: 2 }))), "x' ← clip[0,1](Π_ratio2,literal(2·√N)(x' ⊙ 1.002^(√N·∇ₓL/‖∇ₓL‖₂)))")
  t.is(
    explain(attacks.addL2({ units: 'absolute', eps: 3, alpha: 0.5, scope: 'frame' })).split('\n').filter((_, i) => i !== 1 && i < 3).join('\n'),
    lines("x' ← clip[0,1](Π_2(3)(x' + 0.5·∇ₓL/‖∇ₓL‖₂,frame))", "init: x' = clip[0,1](x + 3·z/‖z‖₂), z ~ N(0, I)"),
  )
  t.is(first(explain(pipe(gradient(), sign, scale(-0.01), add, iterate(1)))), "x' ← x' − 0.01·sign(∇ₓL)")
})

test('masks, per-frame normalisation, a targeted loss and several body steps', (t) => {
  const masked = pipe(gradient(), sign, maskRegion(frames([0, 2])), scale(0.01), add, projectBall({ norm: 'linf', eps: 0.03 }), clip(0, 1))
  const local = pipe(gradient(), normalize({ scope: 'frame' }), maskRegion(box({ top: 10, left: 20, height: 30, width: 30 })), exponent(1.5), multiply)
  const attack = iterate(4, { loss: targeted(3), init: uniform({ norm: 'linf', eps: 0.03, region: frames([0, 2]) }), seed: 9 })([masked, local])
  t.is(
    explain(attack),
    lines(
      "x' ← clip[0,1](Π_∞(0.03)(x' + 0.01·M[frames{0,2}]⊙sign(∇ₓ(−L(x', t=3)))))    (step i mod 2 = 0)",
      "x' ← x' ⊙ 1.5^(M[box 30x30 @(10,20)]⊙(∇ₓ(−L(x', t=3))/‖∇ₓ(−L(x', t=3))‖₂,frame))    (step i mod 2 = 1)",
      'steps: 4',
      "init: x' = clip[0,1](x + M[frames{0,2}]⊙U(−0.03, 0.03))",
      'loss: cross-entropy, targeted (t=3)',
      'seed: 9',
    ),
  )
  // each constraint wraps the previous expression, in order
  const ordered = pipe(gradient(), sign, exponent(1.01), multiply, clip(0, 1), projectRatio({ norm: 'linf', eps: 1.04 }), iterate(1))
  t.is(first(explain(ordered)), "x' ← Π_ratio∞(1.04)(clip[0,1](x' ⊙ 1.01^sign(∇ₓL)))")
  // a compound direction is parenthesised inside a mask and a normalisation
  const nested = pipe(gradient(), sign, maskRegion(ring(2)), normalize(), scale(0.5), add, iterate(1, { init: uniform({ norm: 'l2', eps: 1, region: ring(2) }) }))
  t.is(
    explain(nested).split('\n').filter((_, i) => i !== 1 && i < 3).join('\n'),
    lines(
      "x' ← x' + 0.5·(M[ring 2]⊙sign(∇ₓL))/‖M[ring 2]⊙sign(∇ₓL)‖₂",
      "init: x' = clip[0,1](x + 1·z/‖z‖₂), z ~ M[ring 2]⊙N(0, I)",
    ),
  )
})

test('LaTeX', (t) => {
  t.is(
    first(explainLatex(attacks.multLinf())),
    "x' \\leftarrow \\mathrm{clip}_{[0,1]}\\big(\\Pi^{\\mathrm{ratio}}_{\\infty,1.04}(x' \\odot 1.01^{\\operatorname{sign}(\\nabla_x L)})\\big)",
  )
  t.is(
    explainLatex(attacks.addLinf()),
    lines(
      "x' \\leftarrow \\mathrm{clip}_{[0,1]}\\big(\\Pi_{\\infty,\\tfrac{4}{255}}(x' + \\tfrac{1}{255} \\cdot \\operatorname{sign}(\\nabla_x L))\\big)",
      '% steps: 5',
      "% init: x' = \\mathrm{clip}_{[0,1]}\\big(x + \\mathcal{U}(-\\tfrac{4}{255}, \\tfrac{4}{255})\\big)",
      '% loss: cross-entropy, untargeted',
      '% seed: 0',
    ),
  )
  t.is(
    first(explainLatex(attacks.multL2())),
    "x' \\leftarrow \\mathrm{clip}_{[0,1]}\\big(\\Pi^{\\mathrm{ratio},\\mathrm{log}}_{2,1.32^{\\sqrt{N}}}(x' \\odot 1.002^{\\sqrt{N} \\cdot \\frac{\\nabla_x L}{\\lVert \\nabla_x L \\rVert_{2}}})\\big)",
  )
  const steps = [pipe(gradient(), sign, maskRegion(frames([1])), exponent(2), multiply), pipe(gradient(), sign, scale(1 / 255), add)]
  t.deepEqual(explainLatex(iterate(3)(steps)).split('\n').slice(0, 2), [
    "x' \\leftarrow x' \\odot 2^{M_{\\text{frames\\{1\\}}} \\odot \\operatorname{sign}(\\nabla_x L)} \\quad (i \\bmod 2 = 0)",
    "x' \\leftarrow x' + \\tfrac{1}{255} \\cdot \\operatorname{sign}(\\nabla_x L) \\quad (i \\bmod 2 = 1)",
  ])
})

test('masked attacks, filled starts and region names', (t) => {
  t.is(
    explain(attacks.roa()),
    lines(
      "x' ← clip[0,1](x' + 70/255·M[rect 30x30 per frame]⊙sign(∇ₓL))",
      'steps: 5',
      "init: x' = M[rect 30x30 per frame]⊙0.5 + M[¬rect 30x30 per frame]⊙x",
      'loss: cross-entropy, untargeted',
      'seed: 0',
    ),
  )
  t.is(first(explain(attacks.multAf())), "x' ← clip[0,1](x' ⊙ 2^(M[ring 10]⊙sign(∇ₓL)))")
  t.is(first(explain(attacks.multSpa())), "x' ← clip[0,1](x' ⊙ 2^(M[100 pixels per frame]⊙sign(∇ₓL)))")
  t.is(
    first(explain(attacks.roa({ search: { method: 'gradient', topK: 4 }, placement: 'shared' }))),
    "x' ← clip[0,1](x' + 70/255·M[rect 30x30 searched (gradient, top 4, stride 2) shared]⊙sign(∇ₓL))",
  )
  const region = union(frames([0]), intersection(ring(2), complement(box({ top: 0, left: 0, height: 1, width: 1 }))))
  t.is(regionText(region), '(frames{0} ∪ (ring 2 ∩ ¬box 1x1 @(0,0)))')
})

// -------------------------------------------------------------------------------------------------
// momentum, schedules, the margin loss, per-sample targets, restarts
// -------------------------------------------------------------------------------------------------

const miFgsm = pipe(
  gradient(),
  momentum(1),
  sign,
  scale(2 / 255, { schedule: exponentialDecay(0.9) }),
  add,
  projectBall({ norm: 'linf', eps: 16 / 255 }),
  clip(0, 1),
  iterate(10, { loss: margin({ confidence: 5 }) }),
  withRestarts(4),
)

test('momentum, an exponential schedule, a capped margin and restarts', (t) => {
  t.is(
    explain(miFgsm),
    lines(
      "x' ← clip[0,1](Π_∞(16/255)(x' + 2/255·0.9^i·sign(m)))",
      'm ← 1·m + ∇ₓL/mean|∇ₓL|    (m = 0 at the start)',
      'steps: 10',
      "init: x' = x",
      'loss: margin min(max_{j≠y} z_j − z_y, 5), untargeted',
      'seed: 0',
      'restarts: 4 runs, each sample keeps its best (a success first, then the higher objective)',
    ),
  )
  t.is(
    explainLatex(miFgsm),
    lines(
      "x' \\leftarrow \\mathrm{clip}_{[0,1]}\\big(\\Pi_{\\infty,\\tfrac{16}{255}}(x' + \\tfrac{2}{255} \\cdot 0.9^{i} \\cdot \\operatorname{sign}(m))\\big)",
      'm \\leftarrow 1 \\cdot m + \\frac{\\nabla_x L}{\\operatorname{mean}\\lvert \\nabla_x L \\rvert} \\quad (m = 0 \\text{ at the start})',
      '% steps: 10',
      "% init: x' = x",
      '% loss: margin \\min(\\max_{j \\neq y} z_j - z_{y}, 5), untargeted',
      '% seed: 0',
      '% restarts: 4 runs, each sample keeps its best (a success first, then the higher objective)',
    ),
  )
})

test('a step-decay schedule goes into the exponent; nested momenta are numbered; per-sample targets', (t) => {
  const attack = pipe(
    gradient(),
    momentum(0.5),
    maskRegion(ring(2)),
    momentum(0.9),
    normalize(),
    exponent(1.01, { units: 'rms', schedule: stepDecay({ every: 3, factor: 0.5 }) }),
    multiply,
    iterate(6, { loss: targetedEach([3, 1, 4, 1, 5, 9, 2, 6, 5, 3]) }),
  )
  t.is(
    explain(attack),
    lines(
      "x' ← x' ⊙ 1.01^(0.5^⌊i/3⌋·√N·m₂/‖m₂‖₂)",
      "m₁ ← 0.5·m₁ + ∇ₓ(−L(x', tₙ))/mean|∇ₓ(−L(x', tₙ))|    (m₁ = 0 at the start)",
      'm₂ ← 0.9·m₂ + (M[ring 2]⊙m₁)/mean|M[ring 2]⊙m₁|    (m₂ = 0 at the start)',
      'steps: 6',
      "init: x' = x",
      'loss: cross-entropy, targeted per sample (tₙ = 3, 1, 4, 1, 5, 9, 2, 6, … (10 labels))',
      'seed: 0',
    ),
  )
  t.deepEqual(explainLatex(attack).split('\n').slice(0, 3), [
    "x' \\leftarrow x' \\odot 1.01^{0.5^{\\lfloor i/3 \\rfloor} \\cdot \\sqrt{N} \\cdot \\frac{m_{2}}{\\lVert m_{2} \\rVert_{2}}}",
    "m_{1} \\leftarrow 0.5 \\cdot m_{1} + \\frac{\\nabla_x(-L(x', t_n))}{\\operatorname{mean}\\lvert \\nabla_x(-L(x', t_n)) \\rvert} \\quad (m_{1} = 0 \\text{ at the start})",
    'm_{2} \\leftarrow 0.9 \\cdot m_{2} + \\frac{M_{\\text{ring 2}} \\odot m_{1}}{\\operatorname{mean}\\lvert M_{\\text{ring 2}} \\odot m_{1} \\rvert} \\quad (m_{2} = 0 \\text{ at the start})',
  ])
  t.is(explainLatex(attack).split('\n')[5], '% loss: cross-entropy, targeted per sample (t_n = 3, 1, 4, 1, 5, 9, 2, 6, … (10 labels))')
})

test('schedules on additive steps (negative and rms step sizes), and momentum inside one of several body steps', (t) => {
  const decayed = pipe(gradient(), sign, scale(-0.01, { schedule: stepDecay({ every: 2, factor: 1 / 7 }) }), add, iterate(1))
  t.is(first(explain(decayed)), "x' ← x' − 0.01·(1/7)^⌊i/2⌋·sign(∇ₓL)")
  t.is(first(explainLatex(decayed)), "x' \\leftarrow x' + -0.01 \\cdot (\\tfrac{1}{7})^{\\lfloor i/2 \\rfloor} \\cdot \\operatorname{sign}(\\nabla_x L)")
  const rms = pipe(gradient(), normalize(), scale(1 / 1227, { units: 'rms', schedule: exponentialDecay(0.5) }), add, iterate(1))
  t.is(first(explain(rms)), "x' ← x' + (1/1227)·√N·0.5^i·∇ₓL/‖∇ₓL‖₂")
  const steps = [pipe(gradient(), momentum(0.9), sign, scale(0.01), add), pipe(gradient(), sign, exponent(1.01), multiply)]
  t.deepEqual(explain(iterate(4, { loss: targeted(2) })(steps)).split('\n').slice(0, 3), [
    "x' ← x' + 0.01·sign(m)    (step i mod 2 = 0)",
    "m ← 0.9·m + ∇ₓ(−L(x', t=2))/mean|∇ₓ(−L(x', t=2))|    (m = 0 at the start)",
    "x' ← x' ⊙ 1.01^sign(∇ₓ(−L(x', t=2)))    (step i mod 2 = 1)",
  ])
})

test('targeted margins: towards one class and towards a class per sample', (t) => {
  const base = pipe(gradient(), sign, scale(1 / 255), add)
  const one = iterate(3, { loss: withTarget({ _tag: 'Targeted', label: 3 })(margin()) })(base)
  t.is(explain(one).split('\n')[3], 'loss: margin z_t − max_{j≠t} z_j, targeted (t=3)')
  t.is(first(explain(one)), "x' ← x' + 1/255·sign(∇ₓL)")
  t.is(explainLatex(one).split('\n')[3], '% loss: margin z_{t} - \\max_{j \\neq t} z_j, targeted (t=3)')
  const each = iterate(3, { loss: withTarget({ _tag: 'TargetedEach', labels: [1, 2] })(margin({ confidence: 0.5 })) })(base)
  t.is(explain(each).split('\n')[3], 'loss: margin min(z_tₙ − max_{j≠tₙ} z_j, 0.5), targeted per sample (tₙ = 1, 2)')
  t.is(explainLatex(each).split('\n')[3], '% loss: margin \\min(z_{t_n} - \\max_{j \\neq t_n} z_j, 0.5), targeted per sample (t_n = 1, 2)')
  // one restart is no restart: no line for it
  t.false(explain(withRestarts(1)(one)).includes('restarts'))
})
