// Bundles the browser pages: the playground (playground/main.ts) and, when asked, other page scripts
// (the browser tests'), self-contained (tfjs included), for platform 'browser', as ES modules with
// code splitting (each tfjs backend is its own chunk, loaded by initBackend when chosen). Copies
// playground/index.html, tfjs-backend-wasm's .wasm files and the default model (models/default:
// model.json and its shards, fetched by the page's `models.pretrained('default')`) beside them.
//
//   node playground/build.mjs [outdir]     (default docs/playground: static files, serve them over http,
//                                           e.g. `npx multav playground --dir docs/playground`)
import { build } from 'esbuild'
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Builds `entries` ({ name: path }) and the playground into `outdir`; resolves to esbuild's metafile.
 * `options.models: false` leaves the default model out (a server that serves models/default from
 * elsewhere, as `multav playground` can); `options.sourcemap: false` writes no .map files.
 */
export const buildWeb = async (outdir, entries = {}, options = {}) => {
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
    sourcemap: options.sourcemap ?? true,
    metafile: true,
    logLevel: 'warning',
    define: { __MULTAV_VERSION__: JSON.stringify(version) },
  })
  copyFileSync(join(root, 'playground/index.html'), join(outdir, 'index.html'))
  const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')
  for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join(outdir, f))
  if (options.models ?? true) {
    const from = join(root, 'models/default')
    const to = join(outdir, 'models/default')
    mkdirSync(to, { recursive: true })
    for (const f of readdirSync(from).filter((f) => f === 'model.json' || f.endsWith('.bin'))) copyFileSync(join(from, f), join(to, f))
  }
  return result.metafile
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(root, 'docs/playground'))
  await buildWeb(out)
  console.log(`built the playground into ${out} (serve it: npx multav playground --dir ${out})`)
}
