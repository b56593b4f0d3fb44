/** The examples run and print what they promise (so they never rot). */
import test from 'ava'
import { execFile } from 'node:child_process'
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
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'explain', 'examples/specs/mult-linf.json'])
  t.regex(stdout, /x' ← clip\[0,1\]\(Π_ratio∞\(1\.04\)\(x' ⊙ 1\.01\^sign\(∇ₓL\)\)\)/)
  t.regex(stdout, /cost: 5 gradient evaluations/)
  const error = await t.throwsAsync(run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'explain', 'no-such-spec.json']))
  t.is((error as unknown as { code: number }).code, 2)
  t.regex((error as unknown as { stderr: string }).stderr, /no-such-spec\.json: no such file, and not a built-in attack/)
})
