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

test.serial('the build exposes the public names as ESM and CommonJS, with types and an executable bin', async (t) => {
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
  t.is(typeof (esm['evaluation'] as Record<string, unknown>)['runEval'], 'function')
  t.true(existsSync('dist/eval-worker.js') && existsSync('dist/reproduce-worker.js'))
})

test.serial('the built bin runs an evaluation on two worker threads (the worker file beside the bundle)', async (t) => {
  const { mkdtemp, readFile, rm } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { initBackend } = await import('../src/interpreters/backend.js')
  const { r3d18 } = await import('../src/models/r3d.js')
  const { saveWeights } = await import('../src/models/weights.js')
  const { BENCHMARK_CLASSES } = await import('../src/data/benchmark.js')
  await initBackend('cpu')
  const dir = await mkdtemp(join(tmpdir(), 'multav-package-'))
  try {
    const net = r3d18({ layout: 'torchvision', classes: 6, widths: [2, 2, 2, 2], seed: 0 })
    await saveWeights(join(dir, 'model'), { ...net.variables, ...net.state }, {
      config: { architecture: 'r3d18', layout: 'torchvision', widths: [2, 2, 2, 2], classes: BENCHMARK_CLASSES, clip: { T: 8, H: 32, W: 32 } },
    })
    net.dispose()
    const args = ['eval', '--model', join(dir, 'model'), '--limit', '4', '--batch', '1', '--workers', '2', '--attacks', 'add-linf:steps=1', '--backend', 'cpu', '--pictures', '0']
    await run(process.execPath, ['dist/cli.js', ...args, '--out', join(dir, 'out')], { timeout: 240_000 })
    const results = JSON.parse(await readFile(join(dir, 'out', 'results.json'), 'utf8')) as { rows: unknown[]; meta: { workers: number } }
    t.is(results.rows.length, 4)
    t.is(results.meta.workers, 2)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
