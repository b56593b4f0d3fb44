/** The examples run and print what they promise (so they never rot). */
import test from 'ava'
import { execFile } from 'node:child_process'
import * as E from 'fp-ts/lib/Either.js'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import { BUILT_IN } from '../src/dsl/attacks.js'
import { encodeAttack, parseAttackJson, validateAttack } from '../src/dsl/codec.js'
import { explain, explainLatex } from '../src/interpreters/pretty.js'
import { inProcess } from './fixtures/cli.js'

const run = promisify(execFile)

test('examples/alternating-mult.ts defines, runs, explains and property-tests a new variant', async (t) => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/alternating-mult.ts'], { timeout: 240_000 })
  t.regex(stdout, /M\[frames\{1,2\}\]/)
  t.regex(stdout, /certificate violations: 0/)
  t.regex(stdout, /properties hold: respectsCertificate, zeroIsFixed/)
  const clean = Number(/clean accuracy ([\d.]+)/.exec(stdout)?.[1])
  const attacked = Number(/accuracy under attack ([\d.]+)/.exec(stdout)?.[1])
  t.true(attacked < clean, `accuracy under attack ${attacked} < clean ${clean}`)
})

test('examples/mi-fgsm.ts builds MI-FGSM (momentum, a decaying step, restarts), prints its formula and spec, and runs it', async (t) => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/mi-fgsm.ts'], { timeout: 240_000 })
  t.regex(stdout, /sign\(m\)/)
  t.regex(stdout, /"restarts":3/)
  t.regex(stdout, /"schedule":\{"_tag":"Exponential","rate":0\.8\}/)
  const clean = Number(/clean accuracy ([\d.]+)/.exec(stdout)?.[1])
  const attacked = Number(/accuracy under attack ([\d.]+)/.exec(stdout)?.[1])
  t.true(attacked < clean, `accuracy under attack ${attacked} < clean ${clean}`)
  const runs = /best runs per clip: run 0 (\d+), run 1 (\d+), run 2 (\d+)/.exec(stdout)
  t.is(runs?.slice(1).reduce((a, b) => a + Number(b), 0), 64, 'every clip comes from one of the 3 runs')
})

test('every spec in examples/specs decodes, is named after its file, is written as encodeAttack writes it, and is listed in the README', async (t) => {
  const files = (await readdir('examples/specs')).filter((f) => f.endsWith('.json')).sort()
  const readme = await readFile('examples/README.md', 'utf8')
  t.true(files.length >= Object.keys(BUILT_IN).length + 4, files.join(', '))
  for (const file of files) {
    const text = await readFile(join('examples/specs', file), 'utf8')
    const decoded = parseAttackJson(text)
    if (E.isLeft(decoded)) {
      t.fail(`${file}: ${decoded.left.join('; ')}`)
      continue
    }
    const attack = decoded.right
    t.is(attack.name, basename(file, '.json'), file)
    t.deepEqual(encodeAttack(attack), JSON.parse(text), `${file}: no field the encoding would leave out (defaults) or reorder`)
    t.deepEqual(validateAttack(attack, { clip: { T: 16, H: 112, W: 112 } }), [], file)
    t.true(explain(attack).startsWith("x' ← ") && explainLatex(attack).startsWith("x' \\leftarrow "), file)
    if (!(attack.name in BUILT_IN)) t.true(readme.includes(`specs/${file}`), `examples/README.md lists specs/${file}`)
  }
})

test('the new primitives\' specs read as their formulas', async (t) => {
  const first = async (name: string) => {
    const decoded = parseAttackJson(await readFile(`examples/specs/${name}.json`, 'utf8'))
    return E.isRight(decoded) ? explain(decoded.right).split('\n') : decoded.left
  }
  t.deepEqual((await first('mi-fgsm-linf')).slice(0, 2), [
    "x' ← clip[0,1](Π_∞(4/255)(x' + 1/255·0.9^i·sign(m)))",
    'm ← 1·m + ∇ₓL/mean|∇ₓL|    (m = 0 at the start)',
  ])
  t.is((await first('margin-linf'))[3], 'loss: margin min(max_{j≠y} z_j − z_y, 10), untargeted')
  t.is((await first('add-linf-restarts'))[5], 'restarts: 5 runs, each sample keeps its best (a success first, then the higher objective)')
  t.is((await first('mult-linf-step-decay'))[0], "x' ← clip[0,1](Π_ratio∞(1.04)(x' ⊙ 1.02^(0.5^⌊i/4⌋·sign(∇ₓL))))")
})

test('multav explain prints the formula, the certificate and the cost; bad input exits 2', async (t) => {
  const { stdout } = await inProcess(['explain', 'examples/specs/mult-linf.json'])
  t.regex(stdout, /x' ← clip\[0,1\]\(Π_ratio∞\(1\.04\)\(x' ⊙ 1\.01\^sign\(∇ₓL\)\)\)/)
  t.regex(stdout, /cost: 5 gradient evaluations/)
  const mi = await inProcess(['explain', 'examples/specs/mi-fgsm-linf.json'])
  t.regex(mi.stdout, /^x' ← clip\[0,1\]\(Π_∞\(4\/255\)\(x' \+ 1\/255·0\.9\^i·sign\(m\)\)\)\nm ← 1·m \+ ∇ₓL\/mean\|∇ₓL\|/)
  const error = await inProcess(['explain', 'no-such-spec.json'])
  t.is(error.code, 2)
  t.regex(error.stderr, /no-such-spec\.json: no such file, and not a built-in attack/)
})

test('multav explain names every problem of a malformed spec and exits 2', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'multav-'))
  const file = join(dir, 'bad.json')
  const spec = JSON.parse(await readFile('examples/specs/mult-linf.json', 'utf8'))
  spec.steps = -3
  spec.body[0].constraints[0].eps = 0.9
  await writeFile(file, JSON.stringify(spec))
  const error = await inProcess(['explain', file])
  t.is(error.code, 2)
  t.is(
    error.stderr,
    [
      `multav: ${file}: attack.body[0].constraints[0].eps: expected a number > 1 (a ratio bound), got 0.9`,
      `${file}: attack.steps: expected an integer ≥ 1 (a step count), got -3`,
      '',
    ].join('\n'),
  )
  await rm(dir, { recursive: true })
})

test('multav train rejects bad arguments with exit code 2 before any work', async (t) => {
  const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [['--layout', 'vgg', '--out', 'x'], 'multav: --layout must be torchvision or hara, got "vgg"'],
    [['--widths', '8,16', '--out', 'x'], 'multav: --widths must be four positive integers like 8,16,32,64, got "8,16"'],
    [['--epochs', '0', '--out', 'x'], 'multav: --epochs must be an integer ≥ 1, got "0"'],
    [['--lr', 'zero', '--out', 'x'], 'multav: --lr must be a positive number, got "zero"'],
    [[], 'multav: train needs --out DIR (where the weights and checkpoints go)'],
    [['--adversarial', 'no-such-attack', '--out', 'x'], 'multav: no-such-attack: no such file, and not a built-in attack (add-linf, add-l2, mult-linf, mult-l2, roa, mult-roa, af, mult-af, spa, mult-spa, pgd, pgd-l2, fgsm, bim, mi-fgsm)'],
  ]
  for (const [args, message] of cases) {
    const error = await inProcess(['train', ...args])
    t.is(error.code, 2, args.join(' '))
    t.is(error.stderr.trim(), message)
  }
})
