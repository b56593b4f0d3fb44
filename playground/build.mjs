// Bundles the browser pages: the playground (playground/main.ts) and, when asked, other page scripts
// (the browser test's), self-contained (tfjs included), for platform 'browser', as ES modules with
// code splitting (each tfjs backend is its own chunk, loaded by initBackend when chosen). Copies
// playground/index.html and tfjs-backend-wasm's .wasm files beside them.
//
//   node playground/build.mjs [outdir]     (default docs/playground: static files, serve them over http)
import { build } from 'esbuild'
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Builds `entries` ({ name: path }) and the playground into `outdir`; resolves to esbuild's metafile. */
export const buildWeb = async (outdir, entries = {}) => {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  mkdirSync(outdir, { recursive: true })
  const result = await build({
    absWorkingDir: root,
    entryPoints: { playground: 'playground/main.ts', ...entries },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    splitting: true,
    target: 'es2022',
    outdir,
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    define: { __MULTAV_VERSION__: JSON.stringify(version) },
  })
  copyFileSync(join(root, 'playground/index.html'), join(outdir, 'index.html'))
  const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')
  for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join(outdir, f))
  return result.metafile
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(root, 'docs/playground'))
  await buildWeb(out)
  console.log(`built the playground into ${out} (serve it over http, e.g. \`npx multav playground\` is not there yet: \`python3 -m http.server -d ${out}\`)`)
}
