/**
 * `npm run build` makes the package: ESM, CommonJS, types for both and the bin, with the public names.
 * The packed tarball is what a user gets: publint and are-the-types-wrong find no problem in it, and
 * it installs, without the optional ffmpeg binary, into fresh ESM and CommonJS projects that run an attack
 * and type-check under every module resolution TypeScript offers; `multav/dsl` loads there without
 * TensorFlow.js.
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'

const run = promisify(execFile)
const PUBLIC = ['attacks', 'decodeAttack', 'encodeAttack', 'runAttack', 'explain', 'certify', 'verify', 'initBackend']
const PRIMITIVES = ['gradient', 'sign', 'normalize', 'scale', 'exponent', 'add', 'multiply', 'projectBall', 'projectRatio', 'clip', 'maskRegion', 'iterate']
/** What multav/dsl has (all of it also in multav), and what it must not have. */
const DSL = ['attacks', 'match', 'fold', 'decodeAttack', 'encodeAttack', 'parseAttackJson', 'validateAttack', 'explain', 'explainLatex', 'certify', 'verify', 'describeCertificate']
const NOT_DSL = ['runAttack', 'initBackend', 'tf', 'models', 'data', 'ops', 'evaluation']
/** An import or require of a TensorFlow.js package in a bundle's text. */
const TFJS_IMPORT = /(from\s*|import\s*\(\s*|require\s*\(\s*)["']@tensorflow\//

let building: Promise<unknown> | undefined
/** `node build.mjs`, once for all the tests here. */
const built = () => (building ??= run(process.execPath, ['build.mjs'], { timeout: 240_000 }))

/** The environment without what `npm test` sets for its own script (npm_config_local_prefix would point a child npm at this repo). */
const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_package_|npm_lifecycle_|npm_config_local_prefix$|init_cwd$)/i.test(k))),
  ...extra,
})

let packing: Promise<{ readonly dir: string; readonly tarball: string; readonly files: ReadonlyArray<string> }> | undefined
/** `npm pack` of the build into a temporary folder, once: the tarball and the paths in it. */
const packed = () =>
  (packing ??= (async () => {
    await built()
    const dir = await mkdtemp(join(tmpdir(), 'multav-pack-'))
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { env: childEnv(), timeout: 120_000 })
    const [info] = JSON.parse(stdout) as [{ filename: string; files: ReadonlyArray<{ path: string }> }]
    return { dir, tarball: join(dir, info.filename), files: info.files.map((f) => f.path) }
  })())

test.after.always(async () => {
  const pack = await packing?.catch(() => undefined)
  if (pack) await rm(pack.dir, { recursive: true, force: true })
})

test.serial('the build exposes the public names as ESM and CommonJS, with types and an executable bin', async (t) => {
  await built()
  const esm = (await import(pathToFileURL(resolve('dist/index.js')).href)) as Record<string, unknown>
  const cjs = createRequire(import.meta.url)(resolve('dist/index.cjs')) as Record<string, unknown>
  for (const name of [...PUBLIC, ...PRIMITIVES]) {
    t.is(typeof esm[name], name === 'attacks' ? 'object' : 'function', `ESM ${name}`)
    t.is(typeof cjs[name], name === 'attacks' ? 'object' : 'function', `CJS ${name}`)
  }
  t.true(existsSync('dist/types/index.d.ts') && existsSync('dist/types-cjs/index.d.cts'))
  // the CommonJS declarations only ever import CommonJS declarations
  const cts = await readFile('dist/types-cjs/index.d.cts', 'utf8')
  t.regex(cts, /from '\.\/runtime\.cjs'/)
  t.notRegex(cts, /from '\.\.?\/[^']*\.js'/)
  const runtime = await readFile('dist/types-cjs/runtime.d.cts', 'utf8')
  t.regex(runtime, /from '\.\/dsl\.cjs'/)
  t.notRegex(runtime, /from '\.\.?\/[^']*\.js'/)
  t.regex(await readFile('dist/types-cjs/dsl.d.cts', 'utf8'), /from '\.\/dsl\/index\.cjs'/)
  t.true(existsSync('dist/testing.js') && existsSync('dist/testing.cjs'))
  // multav/dsl: the algebra, codecs, explain and certify, and no TensorFlow.js in either bundle
  const dslEsm = (await import(pathToFileURL(resolve('dist/dsl.js')).href)) as Record<string, unknown>
  const dslCjs = createRequire(import.meta.url)(resolve('dist/dsl.cjs')) as Record<string, unknown>
  for (const name of [...DSL, ...PRIMITIVES]) {
    t.is(typeof dslEsm[name], name === 'attacks' ? 'object' : 'function', `ESM multav/dsl ${name}`)
    t.is(typeof dslCjs[name], name === 'attacks' ? 'object' : 'function', `CJS multav/dsl ${name}`)
  }
  for (const name of NOT_DSL) t.false(name in dslEsm || name in dslCjs, `${name} is not in multav/dsl`)
  t.deepEqual(Object.keys(dslEsm).filter((k) => !(k in esm)), [], 'names of multav/dsl that multav lacks')
  t.true(TFJS_IMPORT.test(await readFile('dist/index.js', 'utf8')), 'the main bundle imports tfjs (so the pattern finds one)')
  for (const file of ['dist/dsl.js', 'dist/dsl.cjs']) t.notRegex(await readFile(file, 'utf8'), TFJS_IMPORT, `${file} imports TensorFlow.js`)
  t.true((statSync('dist/cli.js').mode & 0o111) !== 0, 'dist/cli.js is executable')
  const { stdout } = await run(process.execPath, ['dist/cli.js', 'explain', 'add-linf'])
  t.regex(stdout, /^x' ← clip\[0,1\]\(Π_∞\(4\/255\)/)
  t.is(typeof (esm['evaluation'] as Record<string, unknown>)['runEval'], 'function')
  t.true(existsSync('dist/eval-worker.js') && existsSync('dist/reproduce-worker.js'))
})

test.serial('the built bin runs an evaluation on two worker threads (the worker file beside the bundle)', async (t) => {
  await built()
  const { initBackend } = await import('../src/backend/backend.js')
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

interface AttwReport {
  readonly analysis: {
    readonly problems: ReadonlyArray<unknown>
    readonly entrypoints: Record<string, { readonly resolutions: Record<string, { readonly resolution?: { readonly fileName: string } }> }>
  }
}

test.serial('the tarball ships docs and LICENSE, and publint and are-the-types-wrong find no problem: CommonJS and ESM types for each entry', async (t) => {
  const { tarball, files } = await packed()
  for (const file of ['LICENSE', 'README.md', 'docs/eval.md', 'docs/correctness.md', 'docs/pictures/add-vs-mult-linf.svg', 'docs/pictures/reproduce-table.svg', 'dist/types-cjs/testing/index.d.cts', 'dist/types/testing/index.d.ts', 'dist/dsl.js', 'dist/dsl.cjs', 'dist/types/dsl.d.ts', 'dist/types-cjs/dsl.d.cts'])
    t.true(files.includes(file), `${file} is in the tarball`)
  t.deepEqual(files.filter((f) => /^(src|test|scratch|bench)\//.test(f)), [])
  // the ffmpeg binary (an install script, 70 MB) is an optional peer: only those who ask get it
  const manifest = JSON.parse(await readFile('package.json', 'utf8')) as Record<string, Record<string, unknown> | undefined>
  t.is(manifest['optionalDependencies'], undefined)
  t.deepEqual(manifest['peerDependenciesMeta']?.['@ffmpeg-installer/ffmpeg'], { optional: true })

  // attw exits 1 on a problem; its JSON report says which
  const attw = await run(resolve('node_modules/.bin/attw'), [tarball, '--format', 'json'], { timeout: 120_000 }).catch((e: { stdout?: string }) => e)
  const report = JSON.parse(attw.stdout ?? '') as AttwReport
  t.deepEqual(report.analysis.problems, [])
  const types = (entry: string) => Object.fromEntries(Object.entries(report.analysis.entrypoints[entry]!.resolutions).map(([kind, r]) => [kind, r.resolution?.fileName]))
  const at = (path: string) => `/node_modules/multav/dist/${path}`
  t.deepEqual(types('.'), { node10: at('types-cjs/index.d.cts'), 'node16-cjs': at('types-cjs/index.d.cts'), 'node16-esm': at('types/index.d.ts'), bundler: at('types/index.d.ts') })
  t.deepEqual(types('./dsl'), { node10: at('types-cjs/dsl.d.cts'), 'node16-cjs': at('types-cjs/dsl.d.cts'), 'node16-esm': at('types/dsl.d.ts'), bundler: at('types/dsl.d.ts') })
  t.deepEqual(types('./testing'), {
    node10: at('types-cjs/testing/index.d.cts'),
    'node16-cjs': at('types-cjs/testing/index.d.cts'),
    'node16-esm': at('types/testing/index.d.ts'),
    bundler: at('types/testing/index.d.ts'),
  })

  const bytes = await readFile(tarball)
  const lint = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }, level: 'warning', strict: true })
  t.deepEqual(lint.messages.map((m) => `${m.code}: ${formatMessage(m, lint.pkg)}`), [])
})

/** The user's program: a one-step attack on a random tiny model, printing what it did and the tensors left. */
const PROGRAM = `const main = async () => {
  await initBackend('cpu')
  const net = models.tinyMlp(2 * 4 * 4 * 3, 8, 3, 1)
  const x = tf.tensor5d(Float32Array.from({ length: 96 }, (_, i) => ((i * 37) % 96) / 96), [1, 2, 4, 4, 3])
  const result = await runAttack(attacks.addLinf({ steps: 1 }), net.model, x, [0])
  const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(result.adversarial, x))).dataSync()[0])
  tf.dispose([x, result.adversarial])
  net.dispose()
  const formula = explain(attacks.addLinf()).split('\\n')[0]
  console.log(JSON.stringify({ backend: tf.getBackend(), moved, clips: fc.sample(clipArb(), 2).length, tensors: tf.memory().numTensors, formula, ballLinf: certify(attacks.addLinf()).ballLinf }))
}
void main()
`
const IMPORTS = `import { attacks, initBackend, models, runAttack, tf } from 'multav'\nimport { certify, explain } from 'multav/dsl'\nimport { clipArb, fc } from 'multav/testing'\n`
const REQUIRES = `const { attacks, initBackend, models, runAttack, tf } = require('multav')\nconst { certify, explain } = require('multav/dsl')\nconst { clipArb, fc } = require('multav/testing')\n`

/**
 * A program that uses multav/dsl alone and reports whether any TensorFlow.js module was resolved (ESM:
 * a resolve hook registered first) or loaded (CommonJS: require.cache).
 */
const DSL_ALONE = `const spec = parseAttackJson(JSON.stringify(encodeAttack(attacks.multLinf())))
const attack = spec._tag === 'Right' ? spec.right : undefined
const formula = explain(attack).split('\\n')[0]
const ratio = certify(attack).ratioLinf
`
const HOOK = `import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context)
  if (/@tensorflow\\//.test(specifier + r.url)) appendFileSync(process.env.TFJS_LOG, r.url + '\\n')
  return r
}
`
const DSL_ESM = `import { readFileSync } from 'node:fs'
import { register } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOK)}))
const { attacks, certify, encodeAttack, explain, parseAttackJson } = await import('multav/dsl')
${DSL_ALONE}console.log(JSON.stringify({ formula, ratio, tfjs: readFileSync(process.env.TFJS_LOG, 'utf8').split('\\n').filter(Boolean) }))
`
const DSL_CJS = `const { attacks, certify, encodeAttack, explain, parseAttackJson } = require('multav/dsl')
${DSL_ALONE}console.log(JSON.stringify({ formula, ratio, tfjs: Object.keys(require.cache).filter((f) => /[\\\\/]@tensorflow[\\\\/]/.test(f)) }))
`

/** A tsconfig that type-checks program.ts as a user's strict project would (their own dependencies' declarations skipped). */
const tsconfig = (module: string, moduleResolution: string) =>
  JSON.stringify({ compilerOptions: { module, moduleResolution, target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] }, files: ['program.ts'] })

test.serial('the tarball installs into fresh ESM and CommonJS projects: they attack, and type-check under node16, bundler and node10', async (t) => {
  const { dir, tarball } = await packed()
  const root = join(dir, 'user')
  const [esm, cjs] = [join(root, 'esm'), join(root, 'cjs')]
  await mkdir(esm, { recursive: true })
  await mkdir(cjs, { recursive: true })
  // one install in the parent folder serves both projects (Node and TypeScript look upwards)
  await writeFile(join(root, 'package.json'), JSON.stringify({ private: true }))
  await writeFile(join(esm, 'package.json'), JSON.stringify({ type: 'module' }))
  await writeFile(join(cjs, 'package.json'), JSON.stringify({ type: 'commonjs' }))
  const typesNode = (JSON.parse(await readFile('package.json', 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['@types/node']!
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, `@types/node@${typesNode}`], { cwd: root, env: childEnv(), timeout: 180_000 })
  t.false(existsSync(join(root, 'node_modules', '@ffmpeg-installer')), 'the ffmpeg binary is opt-in')

  await writeFile(join(esm, 'program.mjs'), IMPORTS + PROGRAM)
  await writeFile(join(cjs, 'program.cjs'), REQUIRES + PROGRAM)
  const outputs = await Promise.all([join(esm, 'program.mjs'), join(cjs, 'program.cjs')].map((f) => run(process.execPath, [f], { cwd: root, timeout: 60_000 })))
  const [fromEsm, fromCjs] = outputs.map((o) => JSON.parse(o.stdout) as { backend: string; moved: number; clips: number; tensors: number; formula: string; ballLinf: number })
  t.deepEqual(fromCjs, fromEsm, 'the CommonJS and ESM builds compute the same')
  t.like(fromEsm, { backend: 'cpu', clips: 2, tensors: 0, formula: "x' ← clip[0,1](Π_∞(4/255)(x' + 1/255·sign(∇ₓL)))", ballLinf: 4 / 255 })
  t.true(fromEsm!.moved > 0 && fromEsm!.moved <= 4 / 255 + 1e-6, `moved ${fromEsm!.moved}`)

  // multav/dsl alone: the same answers from ESM and CommonJS, and no TensorFlow.js module resolved or loaded
  await writeFile(join(esm, 'dsl.mjs'), DSL_ESM)
  await writeFile(join(cjs, 'dsl.cjs'), DSL_CJS)
  await writeFile(join(root, 'tfjs.log'), '')
  const dsl = await Promise.all([join(esm, 'dsl.mjs'), join(cjs, 'dsl.cjs')].map((f) => run(process.execPath, [f], { cwd: root, env: childEnv({ TFJS_LOG: join(root, 'tfjs.log') }), timeout: 60_000 })))
  const [dslEsm, dslCjs] = dsl.map((o) => JSON.parse(o.stdout) as { formula: string; ratio: number; tfjs: string[] })
  t.deepEqual(dslEsm, { formula: "x' ← clip[0,1](Π_ratio∞(1.04)(x' ⊙ 1.01^sign(∇ₓL)))", ratio: 1.04, tfjs: [] })
  t.deepEqual(dslCjs, dslEsm)

  const bin = await run(join(root, 'node_modules', '.bin', 'multav'), ['explain', 'add-linf'], { cwd: root, timeout: 60_000 })
  t.regex(bin.stdout, /^x' ← clip\[0,1\]\(Π_∞\(4\/255\)/)

  // no ffmpeg on PATH, no MULTAV_FFMPEG and the optional package not installed: the error names all three ways
  await writeFile(join(cjs, 'clip.avi'), 'not a video')
  await writeFile(join(cjs, 'video.cjs'), `require('multav').data.loadVideo(${JSON.stringify(join(cjs, 'clip.avi'))}).then(() => console.log('decoded'), (e) => console.log(e.message))\n`)
  const video = await run(process.execPath, [join(cjs, 'video.cjs')], { cwd: root, env: { PATH: join(root, 'no-such-bin') }, timeout: 60_000 })
  t.is(
    video.stdout.trim(),
    'ffmpeg not found: install it (e.g. `apt-get install ffmpeg`, `brew install ffmpeg`), or `npm install @ffmpeg-installer/ffmpeg`, or set MULTAV_FFMPEG to the path of an ffmpeg binary',
  )

  // the same program in TypeScript, importing multav and multav/testing, under each resolution
  for (const project of [esm, cjs]) await writeFile(join(project, 'program.ts'), IMPORTS + PROGRAM)
  await writeFile(join(esm, 'tsconfig.json'), tsconfig('node16', 'node16'))
  await writeFile(join(cjs, 'tsconfig.json'), tsconfig('node16', 'node16'))
  await writeFile(join(esm, 'tsconfig.bundler.json'), tsconfig('esnext', 'bundler'))
  await writeFile(join(cjs, 'tsconfig.node10.json'), tsconfig('commonjs', 'node'))
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const check = (config: string) =>
    run(process.execPath, [tsc, '-p', config], { timeout: 120_000 }).then(
      () => '',
      (e: { stdout?: string }) => e.stdout ?? String(e),
    )
  const configs = { 'node16 ESM': join(esm, 'tsconfig.json'), 'node16 CommonJS': join(cjs, 'tsconfig.json'), bundler: join(esm, 'tsconfig.bundler.json'), node10: join(cjs, 'tsconfig.node10.json') }
  const errors: Record<string, string> = {}
  for (const pair of [['node16 ESM', 'node16 CommonJS'], ['bundler', 'node10']] as const)
    await Promise.all(pair.map(async (name) => (errors[name] = await check(configs[name]))))
  t.deepEqual(errors, { 'node16 ESM': '', 'node16 CommonJS': '', bundler: '', node10: '' })
})

/** The pnpm the test installs with (from the npm registry, through npx), pinned. */
const PNPM = 'pnpm@9.15.9'

test.serial('pnpm add of the tarball works (no install script fails) and the strict, unhoisted layout runs an attack and the bin', async (t) => {
  const { dir, tarball } = await packed()
  const root = join(dir, 'pnpm-user')
  await mkdir(root, { recursive: true })
  await writeFile(join(root, 'package.json'), JSON.stringify({ private: true, type: 'module' }))
  await run('npx', ['--yes', PNPM, 'add', tarball], { cwd: root, env: childEnv(), timeout: 240_000 })
  // pnpm links only the direct dependency: fp-ts or tfjs-core imported by a user would fail here, which is why multav re-exports pipe and tf
  t.false(existsSync(join(root, 'node_modules', '@tensorflow')), 'pnpm hoists nothing beside multav')
  await writeFile(join(root, 'program.mjs'), IMPORTS + PROGRAM)
  const out = JSON.parse((await run(process.execPath, [join(root, 'program.mjs')], { cwd: root, timeout: 60_000 })).stdout) as { backend: string; clips: number; tensors: number }
  t.like(out, { backend: 'cpu', clips: 2, tensors: 0 })
  const bin = await run(join(root, 'node_modules', '.bin', 'multav'), ['explain', 'add-linf'], { cwd: root, timeout: 60_000 })
  t.regex(bin.stdout, /^x' ← clip\[0,1\]\(Π_∞\(4\/255\)/)
})
