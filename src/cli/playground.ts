/**
 * `multav playground`: serves the browser playground on http://localhost (a secure origin, so
 * WebGPU works there) until Ctrl-C.
 *
 * What it serves: `--dir DIR` as it is (a folder `node playground/build.mjs` wrote); else, in a
 * repository checkout, the playground freshly built with esbuild (into `--out DIR`, or a temporary
 * folder removed on exit); else (an installed package) the prebuilt static files the package ships
 * (dist/playground), copied to `--out DIR` first when given. The default model is served from the
 * package's models/default when the folder has none.
 *
 * The server is a static one and a careful one: GET and HEAD only; a path is decoded once and refused
 * if it holds `..`, a backslash, a NUL or a hidden (dot) segment; the file is resolved with its links
 * and must lie inside the served folder (a link that leads out is a 404); only regular files are
 * sent, with their MIME type (`.wasm` as application/wasm) and `nosniff`. Bound to 127.0.0.1 by
 * default, it also refuses a request whose Host is not a loopback name (a DNS-rebinding page cannot
 * read it).
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { cp, mkdtemp, realpath, rm, stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { InputError, UnavailableError } from '../core/errors.js'
import { defineCommand, type Io } from './command.js'
import { integer, string } from './options.js'

/** MIME types by extension (anything else is application/octet-stream). */
export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
}

/** A folder served under a URL prefix (`/` for the root; `/models/default/` for a mounted one). */
export interface Mount {
  readonly prefix: string
  readonly dir: string
}

export interface StaticOptions {
  readonly mounts: ReadonlyArray<Mount>
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 8080; 0: any free port. */
  readonly port?: number
}

export interface Serving {
  /** `http://localhost:<port>/` (or the host given, when it is not a loopback address). */
  readonly url: string
  readonly port: number
  readonly close: () => Promise<void>
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/i
const isLoopback = (host: string) => LOOPBACK.test(host)

/** The URL path as segments, or undefined when it must be refused (`..`, `.x`, `\`, NUL, bad escapes). */
export const safeSegments = (rawPath: string): string[] | undefined => {
  let path: string
  try {
    path = decodeURIComponent(rawPath)
  } catch {
    return undefined
  }
  if (!path.startsWith('/') || /[\\\0]/.test(path)) return undefined
  const segments = path.split('/').slice(1)
  // an empty segment is allowed only last (a folder's index: `/models/`)
  if (segments.some((s, i) => s.startsWith('.') || (s === '' && i !== segments.length - 1))) return undefined
  return segments
}

/** True when `file` (links resolved) lies inside `root` (links resolved). */
const inside = (root: string, file: string): boolean => {
  const rel = relative(root, file)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
}

const send = (res: ServerResponse, code: number, text: string, headers: Record<string, string> = {}) =>
  void res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...headers }).end(`${text}\n`)

/** The file a request names, resolved safely, or the response to give instead. */
const resolveRequest = async (
  mounts: ReadonlyArray<Mount & { readonly real: string }>,
  path: string,
): Promise<{ file: string; size: number } | { code: number; text: string; headers?: Record<string, string> }> => {
  const segments = safeSegments(path)
  if (segments === undefined) return { code: 404, text: 'not found' }
  const urlPath = `/${segments.join('/')}`
  // the longest prefix wins (a mount over the root's folder of the same name)
  const mount = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length).find((m) => urlPath.startsWith(m.prefix))
  if (!mount) return { code: 404, text: 'not found' }
  const rest = urlPath.slice(mount.prefix.length)
  let file = join(mount.real, ...rest.split('/').filter((s) => s !== ''))
  let real: string
  try {
    real = await realpath(file)
  } catch {
    return { code: 404, text: 'not found' }
  }
  if (!inside(mount.real, real)) return { code: 404, text: 'not found' }
  let info = await stat(real)
  if (info.isDirectory()) {
    if (!urlPath.endsWith('/')) return { code: 301, text: 'moved', headers: { location: `${urlPath}/` } }
    file = join(real, 'index.html')
    try {
      real = await realpath(file)
      info = await stat(real)
    } catch {
      return { code: 404, text: 'not found' }
    }
    if (!inside(mount.real, real)) return { code: 404, text: 'not found' }
  }
  if (!info.isFile()) return { code: 404, text: 'not found' }
  return { file: real, size: info.size }
}

/** Serves `mounts` over http until `close`; rejects when the port cannot be had. */
export const serveStatic = async (o: StaticOptions): Promise<Serving> => {
  const host = o.host ?? '127.0.0.1'
  const mounts = await Promise.all(
    o.mounts.map(async (m) => {
      const real = await realpath(m.dir).catch(() => {
        throw new InputError(`${m.dir}: no such folder to serve`)
      })
      if (!(await stat(real)).isDirectory()) throw new InputError(`${m.dir}: not a folder`)
      return { prefix: m.prefix.endsWith('/') ? m.prefix : `${m.prefix}/`, dir: m.dir, real }
    }),
  )
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'only GET and HEAD', { allow: 'GET, HEAD' })
    const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '')
    if (isLoopback(host) && !isLoopback(hostHeader)) return send(res, 403, 'this server answers only to localhost')
    const path = (req.url ?? '/').split(/[?#]/, 1)[0]!
    const found = await resolveRequest(mounts, path)
    if ('code' in found) return send(res, found.code, found.text, found.headers)
    res.writeHead(200, {
      'content-type': MIME_TYPES[extname(found.file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': String(found.size),
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-cache',
    })
    if (req.method === 'HEAD') return void res.end()
    createReadStream(found.file).on('error', () => res.destroy()).pipe(res)
  }
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => (res.headersSent ? res.destroy() : send(res, 500, 'internal error')))
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(
        e.code === 'EADDRINUSE'
          ? new InputError(`port ${o.port ?? 8080} on ${host} is in use: choose another with --port (0: any free one)`)
          : new UnavailableError(`cannot listen on ${host}:${o.port ?? 8080} (${e.code ?? e.message})`),
      ),
    )
    server.listen(o.port ?? 8080, host, () => ok())
  })
  const port = (server.address() as AddressInfo).port
  const shown = isLoopback(host) || host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shown}:${port}/`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok())
        server.closeAllConnections()
      }),
  }
}

/** This module's folder (the ESM bundle, the CommonJS one, or under tsx). */
const here = (): string => (typeof import.meta?.url === 'string' ? dirname(fileURLToPath(import.meta.url)) : __dirname)

/** The package's root: the nearest folder above this module whose package.json is multav's. */
export const packageRoot = (): string => {
  let dir = here()
  for (let up = 0; up < 6; up++, dir = resolve(dir, '..')) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'multav') return dir
  }
  throw new UnavailableError(`cannot find multav's package.json above ${here()}`)
}

/** Where the playground's static files come from, and what to do on exit. */
interface Source {
  readonly dir: string
  readonly how: string
  readonly cleanup: () => Promise<void>
}

const nothing = async () => undefined

/** The folder to serve, built or copied as the options ask (see the command's words). */
const prepare = async (o: { readonly dir?: string | undefined; readonly out?: string | undefined }, io: Io): Promise<Source> => {
  if (o.dir !== undefined) {
    if (!existsSync(join(o.dir, 'index.html'))) throw new InputError(`--dir ${o.dir}: no index.html there (build it: node playground/build.mjs ${o.dir})`)
    return { dir: o.dir, how: `serving ${o.dir} as it is`, cleanup: nothing }
  }
  const root = packageRoot()
  const builder = join(root, 'playground/build.mjs')
  if (existsSync(builder) && existsSync(join(root, 'node_modules/esbuild'))) {
    const out = o.out ?? (await mkdtemp(join(tmpdir(), 'multav-playground-')))
    io.warn(`building the playground into ${out} …`)
    // a computed specifier: the builder is a file of the repository, never bundled into the CLI
    const { buildWeb } = (await import(pathToFileURL(builder).href)) as { buildWeb: (outdir: string, entries?: object, options?: { models?: boolean }) => Promise<unknown> }
    // a folder of one's own (--out) gets the model too, so that it can be hosted anywhere as it is
    await buildWeb(out, {}, { models: o.out !== undefined })
    return { dir: out, how: `built from ${join(root, 'playground')}`, cleanup: o.out === undefined ? () => rm(out, { recursive: true, force: true }) : nothing }
  }
  const prebuilt = join(root, 'dist/playground')
  if (!existsSync(join(prebuilt, 'index.html')))
    throw new UnavailableError(`the playground's static files are not in this installation (${prebuilt}), and it cannot be built here (no playground/build.mjs with esbuild)`)
  if (o.out === undefined) return { dir: prebuilt, how: `serving the prebuilt ${prebuilt}`, cleanup: nothing }
  await cp(prebuilt, o.out, { recursive: true })
  return { dir: o.out, how: `copied the prebuilt playground to ${o.out}`, cleanup: nothing }
}

/** The default model's folder, mounted at /models/default/ when the served folder has none. */
const modelMount = (dir: string): Mount[] => {
  if (existsSync(join(dir, 'models/default/model.json'))) return []
  const models = join(packageRoot(), 'models/default')
  return existsSync(join(models, 'model.json')) ? [{ prefix: '/models/default/', dir: models }] : []
}

/** Resolves on the first SIGINT or SIGTERM. */
const interrupted = () =>
  new Promise<string>((ok) => {
    const on = (signal: string) => () => {
      process.removeListener('SIGINT', onInt)
      process.removeListener('SIGTERM', onTerm)
      ok(signal)
    }
    const onInt = on('SIGINT')
    const onTerm = on('SIGTERM')
    process.once('SIGINT', onInt)
    process.once('SIGTERM', onTerm)
  })

export const playgroundCommand = defineCommand({
  name: 'playground',
  options: {
    port: integer({ min: 0, max: 65535, default: 8080, metavar: 'N', description: 'the port to listen on (0: any free one)' }),
    host: string({ default: '127.0.0.1', metavar: 'ADDR', description: 'the address to listen on (another than a loopback one shows the page to your network)' }),
    out: string({ metavar: 'DIR', description: 'write the static files to DIR (built, or copied from the package) and serve them from there' }),
    dir: string({ metavar: 'DIR', description: 'serve DIR as it is (a folder node playground/build.mjs wrote)' }),
  },
  summary: 'serve the browser playground on http://localhost (pick or edit an attack, run it on the default model on WebGPU/WebGL, see the frames) until Ctrl-C',
  details:
    "In a repository checkout the playground is built first (esbuild); an installed package serves the static files it ships. Open the printed URL in a browser: the page picks the best backend it has (WebGPU → WebGL → wasm → cpu). Only files under the served folder are sent; with the default host only this machine can reach it.",
  run: async (v, _, { io }) => {
    if (v.out !== undefined && v.dir !== undefined) throw new InputError('give --out (write the files there) or --dir (serve a folder as it is), not both')
    const source = await prepare({ dir: v.dir, out: v.out }, io)
    let serving: Serving | undefined
    try {
      serving = await serveStatic({ mounts: [{ prefix: '/', dir: source.dir }, ...modelMount(source.dir)], host: v.host, port: v.port })
      io.warn(source.how)
      io.log(`multav playground: ${serving.url}  (Ctrl-C to stop)`)
      await interrupted()
      io.warn('stopped')
      return 0
    } finally {
      await serving?.close()
      await source.cleanup()
    }
  },
})
