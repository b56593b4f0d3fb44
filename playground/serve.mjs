// Serves a built playground (node playground/build.mjs [dir]) on http://localhost (WebGPU needs a
// secure origin, and localhost is one) with `multav playground --dir` (src/cli/playground.ts: the one
// static server, safe against paths that leave the folder), until Ctrl-C.
//
//   node playground/serve.mjs [dir] [port]      (default docs/playground, 8080)
import { tsImport } from 'tsx/esm/api'

const dir = process.argv[2] ?? 'docs/playground'
const port = process.argv[3] ?? '8080'
const { main } = await tsImport('../src/cli/main.ts', import.meta.url)
process.exitCode = await main(['playground', '--dir', dir, '--port', port])
