/**
 * `multav/dsl` (src/dsl.ts) loads no TensorFlow.js: no '@tensorflow/*' import is reachable from it
 * (esbuild's import graph of the entry), and importing it, as ESM or CommonJS, resolves and loads none
 * (child processes that record every module they resolve or load). The main entry exports all of it.
 * (test/package.test.ts checks the same of the built dist/dsl.js and dist/dsl.cjs, once installed.)
 * And implementation details stay out of the public entries.
 */
import test from 'ava'
import { build, type Metafile } from 'esbuild'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const ENTRY = 'src/dsl.ts'
const TFJS = /(^|\/)@tensorflow\//
/** The source folders the entry may reach: the algebra, the core, and the interpreters that are pure TS. */
const PURE = /^src\/(dsl\.ts$|dsl\/|core\/|interpreters\/(pretty|certify|regions|reference)(\.ts$|\/))/

/** The entry's import graph as esbuild bundles it (packages external; type-only imports are erased, as at run time). */
const graph = (async (): Promise<Metafile> => {
  const result = await build({ entryPoints: [ENTRY], bundle: true, packages: 'external', platform: 'neutral', format: 'esm', write: false, metafile: true, logLevel: 'silent' })
  return result.metafile
})()

/** `importer → imported` for every import of the graph that `bad` flags. */
const edges = (meta: Metafile, bad: (path: string) => boolean): string[] =>
  Object.entries(meta.inputs).flatMap(([from, input]) => input.imports.filter((i) => bad(i.path)).map((i) => `${from} → ${i.path}`))

test('no @tensorflow/* import and no Node built-in is reachable from src/dsl.ts', async (t) => {
  const meta = await graph
  t.deepEqual(edges(meta, (p) => TFJS.test(p)), [], 'imports of TensorFlow.js')
  // the algebra runs anywhere (a browser, a worker, an editor's extension)
  t.deepEqual(edges(meta, (p) => p.startsWith('node:')), [], 'imports of Node built-ins')
  t.deepEqual(Object.keys(meta.inputs).filter((f) => !PURE.test(f)), [], 'source files outside the pure layers')
  const packages = new Set(Object.values(meta.inputs).flatMap((i) => i.imports.filter((x) => x.external).map((x) => x.path.split('/')[0]!)))
  t.deepEqual([...packages].sort(), ['fp-ts', 'io-ts', 'pure-rand'])
})

/** A module-resolution hook that appends `specifier \t url` of every module resolved to $MULTAV_RESOLVED. */
const HOOKS = `import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context)
  appendFileSync(process.env.MULTAV_RESOLVED, specifier + '\\t' + r.url + '\\n')
  return r
}
`

/** Imports `specifier` (with tsx, so tsconfig's paths apply) in a fresh ESM process: every [specifier, url] resolved. */
const resolvedByImport = async (specifier: string): Promise<Array<[string, string]>> => {
  const dir = await mkdtemp(join(tmpdir(), 'multav-dsl-entry-'))
  try {
    const hooks = join(dir, 'hooks.mjs')
    const register = join(dir, 'register.mjs')
    const log = join(dir, 'resolved.txt')
    await writeFile(hooks, HOOKS)
    await writeFile(register, `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`)
    await writeFile(log, '')
    const code = `const m = await import(${JSON.stringify(specifier)}); if (typeof m.explain !== 'function') process.exit(3)`
    await run(process.execPath, ['--import', 'tsx', '--import', register, '--input-type=module', '-e', code], { env: { ...process.env, MULTAV_RESOLVED: log }, timeout: 60_000 })
    return (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '').map((l) => l.split('\t') as [string, string])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

test("import('multav/dsl') resolves to src/dsl.ts and resolves no TensorFlow.js module; import('multav') does (the check sees tfjs)", async (t) => {
  const [dsl, main] = await Promise.all([resolvedByImport('multav/dsl'), resolvedByImport('multav')])
  t.deepEqual(dsl.filter(([s]) => s === 'multav/dsl').map(([, url]) => url), [pathToFileURL(resolve(ENTRY)).href])
  t.deepEqual(dsl.filter(([s, url]) => TFJS.test(s) || TFJS.test(url)), [])
  t.true(main.some(([s]) => s === '@tensorflow/tfjs-core'), 'the main entry imports tfjs-core, and the hook records it')
})

test("require('multav/dsl') loads no TensorFlow.js module (CommonJS: require.cache after the require)", async (t) => {
  const code = `const m = require('multav/dsl'); if (typeof m.certify !== 'function') process.exit(3); console.log(JSON.stringify(Object.keys(require.cache)))`
  const { stdout } = await run(process.execPath, ['--require', 'tsx/cjs', '-e', code], { timeout: 60_000 })
  const loaded = JSON.parse(stdout) as string[]
  t.true(loaded.includes(resolve(ENTRY)), 'the entry is src/dsl.ts')
  t.deepEqual(loaded.filter((f) => /[\\/]@tensorflow[\\/]/.test(f)), [])
})

test('multav/dsl exports the algebra, codecs, explain and certify, and the main entry exports each of them, the same value', async (t) => {
  const dsl = (await import('multav/dsl')) as Record<string, unknown>
  const main = (await import('multav')) as Record<string, unknown>
  const functions = ['pipe', 'flow', 'match', 'fold', 'gradient', 'sign', 'momentum', 'scale', 'exponent', 'add', 'multiply', 'projectBall', 'projectRatio', 'clip', 'iterate', 'margin', 'targetedEach']
  for (const name of [...functions, 'decodeAttack', 'encodeAttack', 'parseAttackJson', 'validateAttack', 'explain', 'explainLatex', 'certify', 'verify', 'describeCertificate'])
    t.is(typeof dsl[name], 'function', name)
  t.is(typeof dsl['TAGS'], 'object')
  t.is(typeof (dsl['attacks'] as Record<string, unknown>)['multLinf'], 'function')
  for (const name of ['runAttack', 'initBackend', 'tf', 'models']) t.false(name in dsl, `${name} is not in multav/dsl`)
  t.deepEqual(Object.keys(dsl).filter((k) => main[k] !== dsl[k]), [], 'names of multav/dsl that multav lacks or binds to another value')
})

/** Names src/ exports for its own use (tests import them by their source path): none is public. */
const INTERNAL: Readonly<Record<string, ReadonlyArray<string>>> = {
  '': ['resolveThreads'],
  evaluation: ['chunkIds', 'shardChunks', 'parseShard', 'checkPlan', 'evaluateChunk', 'flippedOf', 'clipsNote', 'CSV_COLUMNS', 'multavVersion', 'modelJobs', 'reproduceAttacks', 'NETWORKS', 'FAMILIES', 'TWINS'],
  models: ['stageFrames', 'pretrainedDir', 'resolveModel', 'readSafetensors', 'learningRate', 'DENOISE_KINDS'],
  data: ['resetFfmpegCache', 'sampleIndices'],
  ops: ['filterCacheSize', 'conv3dGeometry'],
}

test('internals stay out of multav and its namespaces (models, data, ops, evaluation)', async (t) => {
  const main = (await import('multav')) as unknown as Record<string, Record<string, unknown>>
  for (const [space, names] of Object.entries(INTERNAL)) {
    const exported = space === '' ? main : main[space]!
    t.deepEqual(names.filter((n) => n in exported), [], space === '' ? 'multav' : `multav ${space}`)
  }
  t.is(typeof main['evaluation']!['runEval'], 'function')
  t.is(typeof main['models']!['r3d18'], 'function')
})
