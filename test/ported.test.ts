/** The ported attacks (PGD, PGD-L2, FGSM, BIM, MI-FGSM): torchattacks' defaults, in the algebra, by name on the CLI. */
import test from 'ava'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as attacks from '../src/dsl/attacks.js'
import { gradient, named, sign } from '../src/dsl/constructors.js'
import { encodeAttack, validateAttack } from '../src/dsl/codec.js'
import { certify } from '../src/interpreters/certify.js'
import { explain } from '../src/interpreters/pretty.js'
import { runReference } from '../src/interpreters/reference.js'
import { builtInWith, loadAttack } from '../src/eval/specs.js'

const renamed = (name: string) => named(name)

test('pgd, bim and fgsm are Add-L∞ with torchattacks defaults; pgd-l2 is Add-L2 in absolute units', (t) => {
  t.deepEqual(attacks.pgd(), pipe(attacks.addLinf({ eps: 8 / 255, alpha: 2 / 255, steps: 10 }), renamed('pgd')))
  t.deepEqual(attacks.bim(), pipe(attacks.addLinf({ eps: 8 / 255, alpha: 2 / 255, steps: 10, randomStart: false }), renamed('bim')))
  t.deepEqual(attacks.fgsm({ eps: 0.03 }), pipe(attacks.addLinf({ eps: 0.03, alpha: 0.03, steps: 1, randomStart: false }), renamed('fgsm')))
  t.deepEqual(attacks.pgdL2(), pipe(attacks.addL2({ eps: 1, alpha: 0.2, steps: 10, units: 'absolute' }), renamed('pgd-l2')))
  // the certificate states the radius a porter gave, in absolute units
  t.deepEqual(certify(attacks.pgdL2()).ballL2, { abs: 1, rms: 0 })
  t.is(certify(attacks.pgd()).ballLinf, 8 / 255)
  for (const make of Object.values(attacks.PORTED)) t.deepEqual(validateAttack(make()), [])
})

test('mi-fgsm is the sign of a momentum (μ = 1) from the clean clip, and explain says so', (t) => {
  const a = attacks.miFgsm({ decay: 0.5 })
  t.like(encodeAttack(a), { name: 'mi-fgsm', steps: 10, init: { _tag: 'Clean' } })
  t.deepEqual(a.body[0]?.update, {
    _tag: 'Add',
    offset: { _tag: 'Scale', alpha: 2 / 255, units: 'absolute', schedule: { _tag: 'Constant' }, of: sign({ _tag: 'Momentum', decay: 0.5, of: gradient() }) },
  })
  t.regex(explain(a), /sign\(m\)/)
  t.is(certify(a).ballLinf, 8 / 255)
})

test('fgsm is one step: clip[0,1](x + ε·sign(g)) on the reference interpreter', (t) => {
  const x = { shape: [1, 1, 1, 2, 2] as const, data: Float32Array.from([0, 0.5, 0.99, 0.3]) }
  const g = Float32Array.from([1, -2, 3, 0])
  const out = runReference(attacks.fgsm({ eps: 0.1 }), () => g, x)
  const expected = [0.1, 0.4, 1, 0.3]
  expected.forEach((v, i) => t.true(Math.abs(out[i]! - v) < 1e-6, `value ${i}: ${out[i]} vs ${v}`))
  t.is(attacks.fgsm().steps, 1)
})

test('the CLI names them: loadAttack("pgd"), overrides like mi-fgsm:decay=0.5, and clear refusals', async (t) => {
  const pgd = await loadAttack('pgd')
  t.true(E.isRight(pgd) && pgd.right.name === 'pgd')
  const mi = builtInWith('mi-fgsm', { decay: 0.5, steps: 3 })
  t.true(E.isRight(mi))
  if (E.isRight(mi)) {
    t.is(mi.right.name, 'mi-fgsm decay=0.5 steps=3')
    t.deepEqual(mi.right, pipe(attacks.miFgsm({ decay: 0.5, steps: 3 }), renamed('mi-fgsm decay=0.5 steps=3')))
  }
  t.deepEqual(builtInWith('fgsm', { steps: 3 }), E.left(['fgsm: cannot override steps (it takes eps, seed)']))
  const unknown = await loadAttack('cw-l2')
  t.true(E.isLeft(unknown) && /not a built-in attack \(add-linf, .*mult-spa, pgd, pgd-l2, fgsm, bim, mi-fgsm\)/.test(unknown.left[0]!))
})
