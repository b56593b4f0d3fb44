/** `npm run build` makes the package: ESM, CommonJS, types and the bin, with the public names. */
import test from 'ava'
import { execFile } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const PUBLIC = ['attacks', 'decodeAttack', 'encodeAttack', 'runAttack', 'explain', 'certify', 'verify', 'initBackend']
const PRIMITIVES = ['gradient', 'sign', 'normalize', 'scale', 'exponent', 'add', 'multiply', 'projectBall', 'projectRatio', 'clip', 'maskRegion', 'iterate']

test('the build exposes the public names as ESM and CommonJS, with types and an executable bin', async (t) => {
  await run(process.execPath, ['build.mjs'], { timeout: 240_000 })
  const esm = (await import(pathToFileURL(resolve('dist/index.js')).href)) as Record<string, unknown>
  const cjs = createRequire(import.meta.url)(resolve('dist/index.cjs')) as Record<string, unknown>
  for (const name of [...PUBLIC, ...PRIMITIVES]) {
    t.is(typeof esm[name], name === 'attacks' ? 'object' : 'function', `ESM ${name}`)
    t.is(typeof cjs[name], name === 'attacks' ? 'object' : 'function', `CJS ${name}`)
  }
  t.true(existsSync('dist/types/index.d.ts'))
  t.true(existsSync('dist/testing.js') && existsSync('dist/testing.cjs'))
  t.true((statSync('dist/cli.js').mode & 0o111) !== 0, 'dist/cli.js is executable')
  const { stdout } = await run(process.execPath, ['dist/cli.js', 'explain', 'add-linf'])
  t.regex(stdout, /^x' ← clip\[0,1\]\(Π_∞\(4\/255\)/)
})
