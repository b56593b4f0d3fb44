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
  frames,
  intersection,
  ring,
  union,
  gradient,
  iterate,
  maskRegion,
  multiply,
  normalize,
  projectBall,
  projectRatio,
  scale,
  sign,
  targeted,
  uniform,
} from '../src/dsl/constructors.js'
import { explain, explainLatex, regionText } from '../src/interpreters/pretty.js'

test('the four built-ins read as the paper writes them', (t) => {
  t.is(
    explain(attacks.addLinf()),
    [
      "x' ← clip[0,1](Π_∞(4/255)(x' + 1/255·sign(∇ₓL)))",
      'steps: 5',
      "init: x' = clip[0,1](x + U(−4/255, 4/255))",
      'loss: cross-entropy with the true label, ascended (untargeted)',
      'seed: 0',
    ].join('\n'),
  )
  t.is(explain(attacks.addL2()).split('\n')[0], "x' ← clip[0,1](Π_2(0.13·√N)(x' + (1/1227)·√N·∇ₓL/‖∇ₓL‖₂))")
  t.is(explain(attacks.addL2()).split('\n')[2], "init: x' = clip[0,1](x + 0.13·√N·z/‖z‖₂, z ~ N(0, I))")
  t.is(explain(attacks.multLinf()).split('\n')[0], "x' ← clip[0,1](Π_ratio∞(1.04)(x' ⊙ 1.01^sign(∇ₓL)))")
  t.is(explain(attacks.multLinf()).split('\n')[2], "init: x' = x")
  t.is(
    explain(attacks.multL2()).split('\n')[0],
    "x' ← clip[0,1](Π_ratio2,log(1.32 per value)(x' ⊙ 1.002^((∇ₓL/‖∇ₓL‖₂)·√N)))",
  )
})

test('overrides show in the formula; ratios stay decimal, pixel levels become k/255', (t) => {
  t.is(explain(attacks.addLinf({ eps: 8 / 255, alpha: 2 / 255, steps: 10 })).split('\n').slice(0, 2).join('\n'),
    "x' ← clip[0,1](Π_∞(8/255)(x' + 2/255·sign(∇ₓL)))\nsteps: 10")
  t.is(explain(attacks.multLinf({ eps: 1.2, alpha: 1.05 })).split('\n')[0], "x' ← clip[0,1](Π_ratio∞(1.2)(x' ⊙ 1.05^sign(∇ₓL)))")
  t.is(explain(attacks.multL2({ reading: 'deviation', units: 'absolute', eps: 3 })).split('\n')[0],
    "x' ← clip[0,1](Π_ratio2,deviation(3)(x' ⊙ 1.002^(∇ₓL/‖∇ₓL‖₂)))")
})

test('masks, per-frame normalisation, targeted losses and several steps', (t) => {
  const first = pipe(gradient(), sign, maskRegion(frames([0, 2])), scale(0.01), add, projectBall({ norm: 'linf', eps: 0.03 }), clip(0, 1))
  const second = pipe(gradient(), normalize({ scope: 'frame' }), maskRegion(box({ top: 1, left: 2, height: 3, width: 4 })), exponent(1.5), multiply)
  const attack = iterate(4, { loss: targeted(3), init: uniform({ norm: 'linf', eps: 0.03, region: frames([0, 2]) }), seed: 9 })([first, second])
  t.is(
    explain(attack),
    [
      "x' ← clip[0,1](Π_∞(0.03)(x' + 0.01·M[frames{0,2}]⊙sign(∇ₓ(−L(x', t=3)))))    step i ≡ 0 (mod 2)",
      "x' ← x' ⊙ 1.5^(M[box 3x4 @(1,2)]⊙∇ₓ(−L(x', t=3))/‖∇ₓ(−L(x', t=3))‖₂,frame)    step i ≡ 1 (mod 2)",
      'steps: 4',
      "init: x' = clip[0,1](x + M[frames{0,2}]⊙(U(−0.03, 0.03)))",
      'loss: cross-entropy with class 3, descended (targeted)',
      'seed: 9',
    ].join('\n'),
  )
})

test('LaTeX', (t) => {
  t.is(
    explainLatex(attacks.multLinf()).split('\n')[0],
    "x' \\leftarrow \\mathrm{clip}_{[0,1]}\\big(\\Pi^{\\mathrm{ratio}}_{\\infty,1.04}\\big(x' \\odot 1.01^{\\operatorname{sign}(\\nabla_x L)}\\big)\\big)",
  )
  t.is(
    explainLatex(attacks.addLinf()).split('\n')[0],
    "x' \\leftarrow \\mathrm{clip}_{[0,1]}\\big(\\Pi_{\\infty,\\tfrac{4}{255}}\\big(x' + \\tfrac{1}{255} \\cdot \\operatorname{sign}(\\nabla_x L)\\big)\\big)",
  )
  t.is(explainLatex(attacks.addLinf()).split('\n')[1], '% steps: 5')
})

test('masked attacks and regions', (t) => {
  t.is(explain(attacks.roa()).split('\n')[0], "x' ← clip[0,1](x' + 70/255·M[rect 30x30 per frame]⊙sign(∇ₓL))")
  t.is(explain(attacks.roa()).split('\n')[2], "init: x' = M[rect 30x30 per frame]⊙0.5 + M[¬rect 30x30 per frame]⊙x")
  t.is(explain(attacks.multAf()).split('\n')[0], "x' ← clip[0,1](x' ⊙ 2^(M[ring 10]⊙sign(∇ₓL)))")
  t.is(explain(attacks.multSpa()).split('\n')[0], "x' ← clip[0,1](x' ⊙ 2^(M[100 pixels per frame]⊙sign(∇ₓL)))")
  t.is(
    explain(attacks.roa({ search: { method: 'gradient', topK: 4 }, placement: 'shared' })).split('\n')[0],
    "x' ← clip[0,1](x' + 70/255·M[rect 30x30 searched (gradient, top 4, stride 2) shared]⊙sign(∇ₓL))",
  )
  const region = union(frames([0]), intersection(ring(2), complement(box({ top: 0, left: 0, height: 1, width: 1 }))))
  t.is(regionText(region), '(frames{0} ∪ (ring 2 ∩ ¬box 1x1 @(0,0)))')
})
