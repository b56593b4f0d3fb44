// Builds the package: the library and multav/testing as ESM and CommonJS, the `multav` bin, and the
// type declarations (tsc). Dependencies stay external (one tfjs-core for the user's whole program).
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { chmodSync, rmSync } from 'node:fs'

rmSync('dist', { recursive: true, force: true })

const common = { bundle: true, platform: 'node', target: 'node20', packages: 'external', sourcemap: true, logLevel: 'warning' }
const entries = { index: 'src/index.ts', testing: 'src/testing/index.ts' }

for (const [name, entry] of Object.entries(entries)) {
  await build({ ...common, entryPoints: [entry], format: 'esm', outfile: `dist/${name}.js` })
  await build({ ...common, entryPoints: [entry], format: 'cjs', outfile: `dist/${name}.cjs` })
}
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
console.log('built dist/: index.{js,cjs}, testing.{js,cjs}, cli.js, eval-worker.js, reproduce-worker.js, types/')
