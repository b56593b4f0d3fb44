// Serves a built playground (node playground/build.mjs [dir]) on http://localhost (WebGPU needs a
// secure origin, and localhost is one).   node playground/serve.mjs [dir] [port]
import { createServer } from 'node:http'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { extname, join, normalize, resolve } from 'node:path'

const dir = resolve(process.argv[2] ?? 'docs/playground')
const port = Number(process.argv[3] ?? 8080)
const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm', '.map': 'application/json', '.css': 'text/css' }
createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)).replace(/^(\.\.[/\\])+/, '')
  const file = join(dir, path.endsWith('/') ? join(path, 'index.html') : path)
  if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end()
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file))
}).listen(port, '127.0.0.1', () => console.log(`multav playground: http://localhost:${port}/`))
