// Builds the package: the library, multav/dsl (the algebra alone: no TensorFlow.js) and multav/testing
// as ESM and CommonJS, the `multav` bin, and the type declarations (tsc) twice: dist/types/*.d.ts for
// `import` and dist/types-cjs/*.d.cts for `require` (a CommonJS program under `module: node16` cannot
// use ESM-only types: TS1479). Dependencies stay external (one tfjs-core for the user's whole program).
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

rmSync('dist', { recursive: true, force: true })

const { version } = JSON.parse(readFileSync('package.json', 'utf8'))
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  // the package's version, for code that reports it (`typeof __MULTAV_VERSION__` is 'undefined' under tsx)
  define: { __MULTAV_VERSION__: JSON.stringify(version) },
}
// the CommonJS bundles read import.meta only behind a typeof check (src/data/video.ts)
const cjs = { ...common, format: 'cjs', logOverride: { 'empty-import-meta': 'silent' } }
const entries = { index: 'src/index.ts', dsl: 'src/dsl.ts', testing: 'src/testing/index.ts' }

for (const [name, entry] of Object.entries(entries)) {
  await build({ ...common, entryPoints: [entry], format: 'esm', outfile: `dist/${name}.js` })
  await build({ ...cjs, entryPoints: [entry], outfile: `dist/${name}.cjs` })
}
// multav/browser (and the `browser` condition of `multav`): for bundlers that target browsers. No
// Node built-in is reachable from it (test/layering.test.ts); dependencies stay external like the
// others' (the user's bundler resolves tfjs's browser builds; the GPU backends are dynamic imports).
const browser = { ...common, platform: 'browser', target: 'es2022' }
await build({ ...browser, entryPoints: ['src/browser.ts'], format: 'esm', outfile: 'dist/browser.js' })
await build({ ...browser, entryPoints: ['src/browser.ts'], format: 'cjs', outfile: 'dist/browser.cjs', logOverride: { 'empty-import-meta': 'silent' } })
// the playground (everything bundled with tfjs, about 1 MB gzipped) for `multav playground` in an
// installed package; the command serves models/default beside it itself
const { buildWeb } = await import('./playground/build.mjs')
await buildWeb('dist/playground', {}, { models: false, sourcemap: false })

await build({
  ...common,
  entryPoints: ['src/cli/bin.ts'],
  format: 'esm',
  outfile: 'dist/cli.js',
  banner: { js: '#!/usr/bin/env node' },
})

// the evaluation's worker threads load this file beside the bundle that starts them (src/eval/run.ts)
await build({ ...common, entryPoints: ['src/eval/worker.ts'], format: 'esm', outfile: 'dist/eval-worker.js' })
// and `multav reproduce`'s pool threads this one (src/eval/reproduce.ts)
await build({ ...common, entryPoints: ['src/eval/reproduce-worker.ts'], format: 'esm', outfile: 'dist/reproduce-worker.js' })

chmodSync('dist/cli.js', 0o755)

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' })

/** Every file under `dir`. */
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))

// The CommonJS twin of each declaration: x.d.ts → x.d.cts, its relative './y.js' → './y.cjs' (which
// TypeScript resolves to y.d.cts), so that no CommonJS type ever reaches an ESM-format file.
const relativeJs = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.\.?\/[^'"]*)\.js\2/g
for (const file of walk('dist/types').filter((f) => f.endsWith('.d.ts'))) {
  const out = join('dist/types-cjs', relative('dist/types', file)).replace(/\.d\.ts$/, '.d.cts')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, readFileSync(file, 'utf8').replace(relativeJs, '$1$2$3.cjs$2'))
}
console.log('built dist/: index.{js,cjs}, dsl.{js,cjs}, testing.{js,cjs}, browser.{js,cjs}, playground/, cli.js, eval-worker.js, reproduce-worker.js, types/ (.d.ts), types-cjs/ (.d.cts)')
