/** The examples run and print what they promise (so they never rot). */
import test from 'ava'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

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

test('multav explain prints the formula, the certificate and the cost; bad input exits 2', async (t) => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'explain', 'examples/specs/mult-linf.json'])
  t.regex(stdout, /x' ← clip\[0,1\]\(Π_ratio∞\(1\.04\)\(x' ⊙ 1\.01\^sign\(∇ₓL\)\)\)/)
  t.regex(stdout, /cost: 5 gradient evaluations/)
  const error = await t.throwsAsync(run(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'explain', 'no-such-spec.json']))
  t.is((error as unknown as { code: number }).code, 2)
  t.regex((error as unknown as { stderr: string }).stderr, /no-such-spec\.json: no such file, and not a built-in attack/)
})

test('multav explain names every problem of a malformed spec and exits 2', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'multav-'))
  const file = join(dir, 'bad.json')
  const spec = JSON.parse(await readFile('examples/specs/mult-linf.json', 'utf8'))
  spec.steps = -3
  spec.body[0].constraints[0].eps = 0.9
  await writeFile(file, JSON.stringify(spec))
  const error = await t.throwsAsync(run(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'explain', file]))
  t.is((error as unknown as { code: number }).code, 2)
  t.is(
    (error as unknown as { stderr: string }).stderr,
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
    [['--adversarial', 'no-such-attack', '--out', 'x'], 'multav: no-such-attack: no such file, and not a built-in attack (add-linf, add-l2, mult-linf, mult-l2, roa, mult-roa, af, mult-af, spa, mult-spa)'],
  ]
  for (const [args, message] of cases) {
    const error = await t.throwsAsync(run(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'train', ...args]))
    t.is((error as unknown as { code: number }).code, 2, args.join(' '))
    t.is((error as unknown as { stderr: string }).stderr.trim(), message)
  }
})
