/**
 * The playground, end to end, and what it stands on.
 *
 * In Node: the browser entry's weight loader (`models.pretrained` by URL) gives the Node loader's
 * weights bit for bit and refuses hostile folders with the Node loader's messages, making no tensor;
 * the editor's issue locator marks the codec's paths in the spec text; the ε/α sliders only ever
 * write specs that decode; the share hash round-trips; `multav playground`'s static server sends only
 * what is under its folder, with the right MIME types, and the command serves until Ctrl-C.
 *
 * In headless Chromium (Debian's, driven by playwright-core; skipped, saying so, where
 * /usr/bin/chromium is missing, and required under CI): the page loads with a clean console; a
 * malformed spec shows the codec's problem at its path, marked in the text; the sliders rewrite the
 * spec, the hash carries it and the download is it; Mult-L∞ on the default model runs on webgl and
 * what the page shows (labels, success, norms, ratio ≤ 1.04, verify) matches multav's runAttack on
 * cpu in Node for the same clip, weights and spec.
 */
import test, { type ExecutionContext } from 'ava'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import * as tf from '@tensorflow/tfjs-core'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildWeb } from '../playground/build.mjs'
import { locate, spansOf } from '../playground/json-spans.js'
import { knobsOf, positionOf, rangeOf, SLIDER_STEPS, valueAt, withKnob } from '../playground/knobs.js'
import { downloadName, fromHash, toHash } from '../playground/share.js'
import type { Shown } from '../playground/shown.js'
import { initBackend } from '../src/backend/backend.js'
import { loadModel as loadModelByUrl, pretrained as pretrainedByUrl } from '../src/browser/pretrained.js'
import type { Fetch } from '../src/browser/weights.js'
import { main } from '../src/cli/main.js'
import { serveStatic, type Serving } from '../src/cli/playground.js'
import { benchmark, BENCHMARK_CLASSES } from '../src/data/benchmark.js'
import * as attacks from '../src/dsl/attacks.js'
import { encodeAttack, formatIssues, parseAttackJsonIssues } from '../src/dsl/codec.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { pretrained } from '../src/models/pretrained.js'

const CHROMIUM = process.env['MULTAV_CHROMIUM'] ?? '/usr/bin/chromium'
const present = existsSync(CHROMIUM)
const required = process.env['CI'] !== undefined
if (!present) console.warn(`test/playground.test.ts: the browser tests are ${required ? 'required (CI) but' : 'skipped:'} no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`)
const inBrowser = present ? test.serial : required ? (title: string) => test.serial(title, (t) => t.fail(`no Chromium at ${CHROMIUM}, and CI requires the browser tests`)) : test.skip

const CLIP = { T: 8, H: 32, W: 32 } as const
const ALL: Readonly<Record<string, () => ReturnType<typeof attacks.multLinf>>> = { ...attacks.BUILT_IN, ...attacks.PORTED }

test.before(async () => {
  await initBackend('cpu')
})

// -------------------------------------------------------------------------------------------------
// the browser entry's weight loader, in Node (fetch over http, or a stub)
// -------------------------------------------------------------------------------------------------

test.serial("models.pretrained('default') by URL loads the Node loader's weights bit for bit, and leaves no tensor", async (t) => {
  const before = tf.memory().numTensors
  const serving = await serveStatic({ mounts: [{ prefix: '/', dir: 'models' }], port: 0 })
  try {
    const byUrl = await pretrainedByUrl('default', { url: `${serving.url}default` })
    const byFile = await pretrained('default')
    t.deepEqual(byUrl.info, byFile.info)
    const a = { ...byUrl.variables, ...byUrl.state }
    const b = { ...byFile.variables, ...byFile.state }
    t.deepEqual(Object.keys(a).sort(), Object.keys(b).sort())
    t.true(Object.keys(a).length > 60, `${Object.keys(a).length} weights`)
    for (const name of Object.keys(a)) t.deepEqual(a[name]!.dataSync(), b[name]!.dataSync(), name)
    // and the model answers as the Node one does
    const clip = benchmark({ split: 'test', count: 6, ...CLIP })
    const x = tf.tensor5d(clip.clips.data, [...clip.clips.shape])
    const [la, lb] = [byUrl.model(x), byFile.model(x)]
    t.deepEqual(la.dataSync(), lb.dataSync())
    tf.dispose([x, la, lb])
    byUrl.dispose()
    byFile.dispose()
  } finally {
    await serving.close()
  }
  t.is(tf.memory().numTensors, before)
})

const MANIFEST = JSON.parse(readFileSync('models/default/model.json', 'utf8')) as { config: Record<string, unknown>; weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[]; dtype: string }> }> }
const SHARD = new Uint8Array(readFileSync('models/default/group1-shard1of1.bin'))
const BASE = 'http://models.test/m/'

/** A fetch that serves `files` (by URL) and 404s the rest. */
const stub = (files: Readonly<Record<string, Uint8Array | string>>): Fetch => async (url) =>
  Object.hasOwn(files, url) ? new Response(files[url]!) : new Response('no', { status: 404, statusText: 'Not Found' })

/** The default model's folder with `edit` applied to its manifest and `shard` as its one shard. */
const folder = (edit: (m: typeof MANIFEST) => void, shard: Uint8Array = SHARD, shardName = 'group1-shard1of1.bin'): Fetch => {
  const m = JSON.parse(JSON.stringify(MANIFEST)) as typeof MANIFEST
  edit(m)
  return stub({ [`${BASE}model.json`]: JSON.stringify(m), [`${BASE}${shardName}`]: shard })
}

const HOSTILE: ReadonlyArray<readonly [string, Fetch, RegExp]> = [
  ['a shard path with ..', folder((m) => (m.weightsManifest[0]!.paths = ['../group1-shard1of1.bin'])), /paths\[0\]: "\.\.\/group1-shard1of1\.bin" must be a relative path inside the model folder/],
  ['a shard path with an encoded ..', folder((m) => (m.weightsManifest[0]!.paths = ['%2e%2e/x.bin'])), /must be a relative path inside the model folder/],
  ['an absolute shard URL', folder((m) => (m.weightsManifest[0]!.paths = ['https://elsewhere.test/x.bin'])), /must be a relative path inside the model folder/],
  ['a protocol-relative shard URL', folder((m) => (m.weightsManifest[0]!.paths = ['//elsewhere.test/x.bin'])), /must be a relative path inside the model folder/],
  ['a wrong shape', folder((m) => (m.weightsManifest[0]!.weights[0]!.shape = [3, 7, 7, 3, 9])), /weight stem\.0\.weight has shape \[3,7,7,3,9\], expected \[3, 7, 7, 3, 8\]/],
  ['a weight of no architecture', folder((m) => (m.weightsManifest[0]!.weights[0]!.name = '__proto__')), /weight __proto__ is not part of this architecture/],
  ['a missing weight', folder((m) => m.weightsManifest[0]!.weights.pop()), /missing weight /],
  ['float16', folder((m) => (m.weightsManifest[0]!.weights[1]!.dtype = 'float16')), /weight stem\.1\.weight has dtype "float16", expected float32/],
  ['a truncated shard', folder(() => undefined, SHARD.subarray(0, SHARD.length - 4)), /the shards hold 2095796 bytes but the weights need 2095800/],
  ['a longer shard', folder(() => undefined, new Uint8Array([...SHARD, 0, 0, 0, 0])), /group1-shard1of1\.bin": 2095804 bytes or more, but the weights need only 2095800 more/],
  ['a NaN', folder(() => undefined, (() => {
    const s = SHARD.slice()
    new DataView(s.buffer).setFloat32(4 * 10, NaN, true)
    return s
  })()), /group1-shard1of1\.bin: weight stem\.0\.weight holds NaN at element 10 \(weights must be finite\)/],
  ['one class', folder((m) => (m.config['classes'] = ['a'])), /config\.classes lists 1 class, expected at least two/],
  ['no model.json', stub({}), /model\.json: HTTP 404 Not Found/],
  ['a model.json that is not JSON', stub({ [`${BASE}model.json`]: '{"config": ' }), /model\.json: not valid JSON/],
  ['a model.json that is not UTF-8', stub({ [`${BASE}model.json`]: new Uint8Array([0x7b, 0xff, 0x7d]) }), /model\.json: not valid UTF-8 text/],
  ['a missing shard', folder(() => undefined, SHARD, 'elsewhere.bin'), /paths\[0\]: "group1-shard1of1\.bin": HTTP 404/],
]

test.serial('the browser loader refuses a hostile or broken model folder with one clear message, making no tensor', async (t) => {
  const before = tf.memory().numTensors
  // the untouched folder through the same stub loads (the refusals below are the edits' doing)
  const fine = await loadModelByUrl(BASE, { fetch: folder(() => undefined) })
  fine.dispose()
  t.is(tf.memory().numTensors, before)
  for (const [what, fetch, message] of HOSTILE) {
    const e = await t.throwsAsync(loadModelByUrl(BASE, { fetch }), { name: 'InputError' }, what)
    t.regex(e?.message ?? '', message, what)
    t.is(tf.memory().numTensors, before, `${what}: no tensor made`)
  }
  await t.throwsAsync(pretrainedByUrl('other' as 'default', { fetch: stub({}) }), { message: /unknown model "other", expected one of default/ })
  await t.throwsAsync(loadModelByUrl('not a url'), { message: /"not a url": not a URL \(and there is no page to resolve a relative one against: give an absolute URL\)/ })
})

// -------------------------------------------------------------------------------------------------
// the editor's issue locator, the sliders, the share hash (pure)
// -------------------------------------------------------------------------------------------------

/** The numeric leaves of a JSON value, as paths of keys and indices. */
const numericLeaves = (u: unknown, path: Array<string | number> = []): Array<Array<string | number>> =>
  Array.isArray(u)
    ? u.flatMap((v, i) => numericLeaves(v, [...path, i]))
    : typeof u === 'object' && u !== null
      ? Object.entries(u).flatMap(([k, v]) => numericLeaves(v, [...path, k]))
      : typeof u === 'number'
        ? [path]
        : []

const setAt = (u: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown => {
  const copy = JSON.parse(JSON.stringify(u)) as Record<string | number, unknown>
  let at = copy
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>
  at[path[path.length - 1]!] = value
  return copy
}

test('a number of any built-in spec set to a bad value: the codec names its path, and the locator marks that very value', (t) => {
  const names = Object.keys(ALL)
  let checked = 0
  fc.assert(
    fc.property(fc.constantFrom(...names), fc.nat(), fc.constantFrom<unknown>('x', -7, true, null, [], {}), fc.constantFrom(0, 2), (name, pick, bad, indent) => {
      const spec = encodeAttack(ALL[name]!())
      const leaves = numericLeaves(spec)
      const path = leaves[pick % leaves.length]!
      const text = JSON.stringify(setAt(spec, path, bad), null, indent)
      const parsed = parseAttackJsonIssues(text, { clip: CLIP })
      // -7 may be a valid value at some leaves (a seed): nothing to locate then
      if (E.isRight(parsed)) return true
      const expectedPath = path.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : `${p}.${k}`), 'attack')
      const own = parsed.left.find((i) => i.path === expectedPath)
      if (own === undefined) return true // the value is judged by its parent (e.g. a range of two numbers)
      const place = locate(text, own.path, { kind: own.kind })
      if (place === undefined) return false
      const marked = text.slice(place.start, place.end)
      const key = JSON.stringify(path[path.length - 1])
      const isContainer = typeof bad === 'object' && bad !== null
      checked++
      // a scalar: its field name and value; an object or array: its name
      return (typeof path[path.length - 1] === 'string' ? marked.startsWith(key) : true) && (isContainer || marked.endsWith(JSON.stringify(bad))) && place.line === text.slice(0, place.start).split('\n').length
    }),
    { numRuns: 300, seed: 42 },
  )
  t.true(checked > 100, `${checked} issues located`)
})

test('the locator: an unknown tag marks its _tag, a missing field its object, bad JSON the position JSON.parse names', (t) => {
  const text = JSON.stringify(encodeAttack(attacks.multLinf()), null, 2)
  /** The codec's issues for `edited` with the text each is marked at. */
  const marked = (edited: string) => {
    const parsed = parseAttackJsonIssues(edited, { clip: CLIP })
    return E.isLeft(parsed) ? parsed.left.map((i) => [i.path, ((l) => (l ? edited.slice(l.start, l.end) : undefined))(locate(edited, i.path, { kind: i.kind }))]) : []
  }
  t.deepEqual(marked(text.replace('"Sign"', '"Sgn"')), [['attack.body[0].update.factor.of', '"_tag": "Sgn"']])
  t.deepEqual(marked(text.replace(/\n {2}"steps": 5,/, '')), [['attack.steps', '{']])
  t.deepEqual(marked(text.replace('"lo": 0,', '')), [['attack.body[0].constraints[1].lo', '{']])
  t.deepEqual(marked(text.replace('"seed": 0', '"seed": 0, "extra": 1')), [['attack.extra', '"extra": 1']])
  t.deepEqual(marked(text.replace('"eps": 1.04', '"eps": [1.04]')).map(([, m]) => m), ['"eps"'])
  const broken = text.replace('"steps": 5,', '"steps": 5')
  const [[path, at]] = marked(broken) as [[string, string]]
  t.is(path, 'spec')
  t.is(at, '"', 'the next field name, where JSON.parse wanted a comma')
  t.is(spansOf(broken), undefined)
  // a field name holding a dot or a bracket still resolves (the longest name that fits)
  const odd = '{"a.b": {"c[0]": 1}, "a": {"b": 2}}'
  const place = locate(odd, 'attack.a.b.c[0]')!
  t.is(odd.slice(place.start, place.end), '"c[0]": 1')
  t.is(locate(odd, 'attack.a.b')!.line, 1)
})

test('the ε and α sliders: every position writes a spec that decodes, with every ε (α) set; the default sits on a step', (t) => {
  let specs = 0
  for (const [name, make] of Object.entries(ALL)) {
    const spec = encodeAttack(make())
    const knobs = knobsOf(spec)
    if (['add-linf', 'add-l2', 'mult-linf', 'mult-l2', 'pgd', 'pgd-l2', 'fgsm', 'bim', 'mi-fgsm'].includes(name)) t.truthy(knobs.eps, `${name} has an ε`)
    t.truthy(knobs.alpha, `${name} has an α`)
    for (const knob of [knobs.eps, knobs.alpha].filter((k) => k !== undefined)) {
      t.is(valueAt(knob, positionOf(knob, knob.value)), knob.value, `${name}: the default is a slider position`)
      const { min, max } = rangeOf(knob)
      t.true(min > (knob.kind === 'factor' ? 1 : 0) && max > knob.value)
      fc.assert(
        fc.property(fc.integer({ min: 1, max: SLIDER_STEPS }), (k) => {
          const v = valueAt(knob, k)
          const edited = withKnob(spec, knob, v)
          const decoded = parseAttackJsonIssues(JSON.stringify(edited), { clip: CLIP })
          specs++
          const again = knobsOf(edited)
          const same = (knob === knobs.eps ? again.eps : again.alpha)!
          return E.isRight(decoded) && same.paths.length === knob.paths.length && same.paths.every((p) => numericAt(edited, p) === v)
        }),
        { numRuns: 25, seed: 7 },
      )
    }
  }
  t.true(specs > 500, `${specs} slider specs decoded`)
  // the spec is not touched
  const spec = encodeAttack(attacks.addLinf())
  const copy = JSON.stringify(spec)
  withKnob(spec, knobsOf(spec).eps!, 0.1)
  t.is(JSON.stringify(spec), copy)
})

const numericAt = (u: unknown, path: ReadonlyArray<string | number>): unknown => path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], u)

test('the share hash carries any spec text and the clips, and a download is named after the spec', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.uniqueArray(fc.integer({ min: 0, max: 5 })), (spec, clips) => {
      const back = fromHash(toHash({ spec, clips }), 6)
      let expected = spec
      try {
        expected = JSON.stringify(JSON.parse(spec))
      } catch {
        // kept as typed
      }
      return back.spec === expected && JSON.stringify(back.clips ?? []) === JSON.stringify(clips)
    }),
    { numRuns: 300, seed: 3 },
  )
  const text = JSON.stringify(encodeAttack(attacks.multLinf()), null, 2)
  t.deepEqual(JSON.parse(fromHash(toHash({ spec: text }), 6).spec!), JSON.parse(text))
  t.deepEqual(fromHash('#clips=9,1,x,1,2', 6).clips, [1, 2])
  t.is(downloadName(encodeAttack(attacks.multLinf())), 'mult-linf.json')
  t.is(downloadName({ name: '../../etc/passwd' }), 'etc-passwd.json')
  t.is(downloadName(undefined), 'attack.json')
})

// -------------------------------------------------------------------------------------------------
// multav playground: the static server and the command
// -------------------------------------------------------------------------------------------------

/** A raw GET (the path sent as is, no client normalisation) with an optional Host; resolves to status, type and body. */
const get = (port: number, path: string, o: { host?: string; method?: string } = {}) =>
  new Promise<{ status: number; type: string; body: string; location?: string }>((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: { host: o.host ?? `localhost:${port}` } }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => ok({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body, ...(res.headers.location ? { location: res.headers.location } : {}) }))
    })
    req.on('error', fail)
    req.end()
  })

test.serial('the static server sends only files under its folders, with their MIME types, and answers only to localhost', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'multav-static-'))
  const outside = await mkdtemp(join(tmpdir(), 'multav-outside-'))
  let serving: Serving | undefined
  try {
    await mkdir(join(root, 'site/sub'), { recursive: true })
    await writeFile(join(root, 'site/index.html'), '<p>hi</p>')
    await writeFile(join(root, 'site/a.wasm'), new Uint8Array([0, 97, 115, 109]))
    await writeFile(join(root, 'site/a.js'), 'export {}')
    await writeFile(join(root, 'site/.secret'), 'hidden')
    await writeFile(join(root, 'site/sub/index.html'), 'sub')
    await writeFile(join(root, 'secret.txt'), 'not served')
    await writeFile(join(outside, 'passwd'), 'outside')
    await symlink(join(outside, 'passwd'), join(root, 'site/link'))
    await symlink(outside, join(root, 'site/dirlink'))
    await mkdir(join(root, 'model'))
    await writeFile(join(root, 'model/model.json'), '{}')
    serving = await serveStatic({ mounts: [{ prefix: '/', dir: join(root, 'site') }, { prefix: '/models/default/', dir: join(root, 'model') }], port: 0 })
    const port = serving.port
    t.regex(serving.url, /^http:\/\/localhost:\d+\/$/)
    const index = await get(port, '/')
    t.is(index.status, 200)
    t.is(index.type, 'text/html; charset=utf-8')
    t.is(index.body, '<p>hi</p>')
    t.is((await get(port, '/a.wasm')).type, 'application/wasm')
    t.is((await get(port, '/a.js')).type, 'text/javascript; charset=utf-8')
    t.is((await get(port, '/a.js?v=1#x')).status, 200)
    t.is((await get(port, '/models/default/model.json')).body, '{}', 'a mounted folder')
    const sub = await get(port, '/sub')
    t.is(sub.status, 301)
    t.is(sub.location, '/sub/')
    t.is((await get(port, '/sub/')).body, 'sub')
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/sub/../../secret.txt', '/..%2fsecret.txt', '/..%5csecret.txt', '/link', '/dirlink/passwd', '/.secret', '/%00', '/%zz', '/models/default/../../secret.txt', '/nothing'])
      t.is((await get(port, path)).status, 404, path)
    t.is((await get(port, '/', { method: 'POST' })).status, 405)
    t.is((await get(port, '/', { method: 'HEAD' })).body, '')
    t.is((await get(port, '/', { host: 'evil.example:80' })).status, 403, 'a DNS-rebinding Host is refused')
    t.is((await get(port, '/', { host: '127.0.0.1' })).status, 200)
  } finally {
    await serving?.close()
    await rm(root, { recursive: true, force: true })
    await rm(outside, { recursive: true, force: true })
  }
})

/** `multav playground …` through main(), its output collected. */
const cli = async (args: ReadonlyArray<string>) => {
  const out: string[] = []
  const err: string[] = []
  const code = await main(['playground', ...args], { log: (l) => out.push(l), warn: (l) => err.push(l), tty: false })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

test.serial('multav playground: bad options are usage errors (exit 2), a port in use is named', async (t) => {
  const both = await cli(['--out', 'a', '--dir', 'b'])
  t.is(both.code, 2)
  t.regex(both.err, /give --out \(write the files there\) or --dir \(serve a folder as it is\), not both/)
  const none = await cli(['--dir', join(tmpdir(), 'multav-no-such-folder')])
  t.is(none.code, 2)
  t.regex(none.err, /no index\.html there \(build it: node playground\/build\.mjs/)
  const port = await cli(['--port', '70000'])
  t.is(port.code, 2)
  t.regex(port.err, /--port must be a whole number from 0 to 65535, got "70000"/)
  const dir = await mkdtemp(join(tmpdir(), 'multav-inuse-'))
  const taken = await serveStatic({ mounts: [{ prefix: '/', dir }], port: 0 })
  try {
    await writeFile(join(dir, 'index.html'), 'x')
    const busy = await cli(['--dir', dir, '--port', String(taken.port)])
    t.is(busy.code, 2)
    t.regex(busy.err, new RegExp(`port ${taken.port} on 127\\.0\\.0\\.1 is in use: choose another with --port`))
  } finally {
    await taken.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test.serial('multav playground serves a folder on localhost, prints the URL, and stops on Ctrl-C (exit 0)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'multav-serve-'))
  await writeFile(join(dir, 'index.html'), '<title>pg</title>')
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'playground', '--dir', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  try {
    let out = ''
    const url = await new Promise<string>((ok, fail) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString()
        const m = /multav playground: (http:\/\/localhost:\d+\/) {2}\(Ctrl-C to stop\)/.exec(out)
        if (m) ok(m[1]!)
      })
      child.on('exit', (code) => fail(new Error(`exited ${code}: ${out}`)))
    })
    const page = await fetch(url)
    t.is(await page.text(), '<title>pg</title>')
    // the default model is mounted beside a folder that has none
    const model = await fetch(`${url}models/default/model.json`)
    t.is(model.status, 200)
    t.is((await model.json() as { format: string }).format, 'multav-weights')
    const exited = new Promise<number | null>((ok) => child.on('exit', ok))
    child.kill('SIGINT')
    t.is(await exited, 0)
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
})

// -------------------------------------------------------------------------------------------------
// the page, in Chromium
// -------------------------------------------------------------------------------------------------

let site = ''
let serving: Serving | undefined
let browser: Browser | undefined

const ready = async () => {
  if (serving) return serving
  site = await mkdtemp(join(tmpdir(), 'multav-playground-'))
  await buildWeb(site, {}, { sourcemap: false })
  serving = await serveStatic({ mounts: [{ prefix: '/', dir: site }], port: 0 })
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--no-sandbox'] })
  return serving
}

test.after.always(async () => {
  await browser?.close()
  await serving?.close()
  if (site) await rm(site, { recursive: true, force: true })
})

/** A page of the playground with its console and page errors collected. */
const open = async (path: string): Promise<{ page: Page; lines: string[] }> => {
  const { url } = await ready()
  const page = await browser!.newPage({ acceptDownloads: true })
  const lines: string[] = []
  page.on('console', (m) => lines.push(`${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`))
  await page.goto(`${url.replace(/\/$/, '')}${path}`)
  return { page, lines }
}

/** Console lines that tell of a shader that did not compile, a WebGPU validation error, or any error or warning. */
const troubles = (lines: ReadonlyArray<string>) => lines.filter((l) => /^(error|pageerror|warning):|shader|WGSL|compil|validation|GL_INVALID|Initialization of backend/i.test(l))

const textOf = (page: Page, selector: string) => page.$eval(selector, (e) => (e as unknown as { textContent: string }).textContent)
const issuesOn = (page: Page) => page.$$eval('#issues li', (items) => items.map((li) => [(li as unknown as { textContent: string }).textContent, (li as unknown as { dataset: { line?: string } }).dataset.line ?? '']))
const marksOn = (page: Page) => page.$$eval('#backdrop mark', (items) => items.map((m) => (m as unknown as { textContent: string }).textContent))

inBrowser('the page loads with a clean console; a malformed spec shows the codec\'s problem at its path, marked; the sliders, the hash and the download carry the spec', async (t) => {
  const { page, lines } = await open('/')
  await page.waitForFunction(() => (globalThis as unknown as { document: { getElementById: (id: string) => { textContent: string } } }).document.getElementById('formula').textContent.length > 0)
  const options = await page.$$eval('#attack option', (os) => os.map((o) => (o as unknown as { value: string }).value))
  t.deepEqual(options, [...Object.keys(attacks.BUILT_IN), ...Object.keys(attacks.PORTED), 'custom'])
  t.regex(await textOf(page, '#formula'), /Π_ratio∞\(1\.04\)/)
  t.regex(await textOf(page, '#certificate'), /ratio bound: max\(x'\/x, x\/x'\) ≤ 1\.04/)

  // a malformed spec: the codec's line under the editor, its line number beside it, the value marked
  const spec = JSON.parse(await page.inputValue('#spec')) as Record<string, unknown>
  const text = JSON.stringify({ ...spec, steps: -1 }, null, 2)
  await page.fill('#spec', text)
  const line = text.split('\n').findIndex((l) => l.includes('"steps"')) + 1
  t.deepEqual(await issuesOn(page), [['attack.steps: expected an integer ≥ 1 (a step count), got -1', `line ${line}`]])
  t.deepEqual(await marksOn(page), ['"steps": -1'])
  t.is(await textOf(page, '#formula'), '(fix the spec)')
  // a deeper one, and a bad JSON text
  const deep = JSON.stringify(encodeAttack(attacks.multLinf()), null, 2).replace('"eps": 1.04', '"eps": 0.9')
  await page.fill('#spec', deep)
  const expectedDeep = formatIssues((parseAttackJsonIssues(deep, { clip: CLIP }) as E.Left<never>).left)
  t.deepEqual((await issuesOn(page)).map(([l]) => l), [...expectedDeep])
  t.regex(expectedDeep[0]!, /^attack\.body\[0\]\.constraints\[0\]\.eps: /)
  t.deepEqual(await marksOn(page), ['"eps": 0.9'])
  await page.fill('#spec', '{"_tag": "Attack",')
  t.regex((await issuesOn(page))[0]?.[0] ?? '', /^spec: not valid JSON/)
  t.is((await marksOn(page)).length, 1)
  // a click on Run with a bad spec says so and runs nothing
  await page.click('#run')
  t.regex(await textOf(page, '#status'), /the spec has problems/)

  // the sliders rewrite every ε of the spec; the hash carries it; the download is it
  await page.selectOption('#attack', 'add-linf')
  const addLinf = encodeAttack(attacks.addLinf())
  const knob = knobsOf(addLinf).eps!
  await page.$eval('#eps', (e) => {
    const input = e as unknown as { value: string; dispatchEvent: (ev: unknown) => void }
    input.value = '100'
    input.dispatchEvent(new Event('input'))
  })
  const edited = JSON.parse(await page.inputValue('#spec')) as unknown
  t.deepEqual(edited, withKnob(addLinf, knob, valueAt(knob, 100)))
  t.is(await textOf(page, '#eps-value'), `${Number((8 / 255).toPrecision(4))} (8.00/255)`)
  t.regex(await textOf(page, '#formula'), /Π_∞\(0\.031/)
  t.is(await page.inputValue('#attack'), 'custom')
  const hash = await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash)
  t.deepEqual(JSON.parse(fromHash(hash, 6).spec!), edited)
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')])
  t.is(download.suggestedFilename(), 'add-linf.json')
  t.deepEqual(JSON.parse(readFileSync((await download.path())!, 'utf8')), edited)
  // the shared link opens the same spec
  const again = await browser!.newPage()
  await again.goto(`${serving!.url}${hash}`)
  t.deepEqual(JSON.parse(await again.inputValue('#spec')), edited)
  t.deepEqual(await again.$$eval('#issues li', (l) => l.length), 0)
  await again.close()
  await page.close()
  t.deepEqual(troubles(lines), [], 'the console tells of no error')
})

inBrowser('Mult-L∞ on the default model runs on webgl; the page shows what runAttack on cpu in Node gives for the same clip, weights and spec', async (t) => {
  // one clip the attack fools, in 2 steps of factor 1.03 (1.03² > 1.04: the ratio projection binds)
  const CLIP_INDEX = 1
  const spec = encodeAttack(attacks.multLinf({ steps: 2, alpha: 1.03 }))
  const { page, lines } = await open(`/?backend=webgl&autorun=1${toHash({ spec: JSON.stringify(spec), clips: [CLIP_INDEX] })}`)

  // the same in Node, on cpu, meanwhile
  const node = (async () => {
    const before = tf.memory().numTensors
    const attack = parseAttackJsonIssues(JSON.stringify(spec), { clip: CLIP })
    if (E.isLeft(attack)) throw new Error(formatIssues(attack.left).join('\n'))
    const net = await pretrained('default')
    const bench = benchmark({ split: 'test', count: 6, ...CLIP })
    const size = CLIP.T * CLIP.H * CLIP.W * 3
    const x = tf.tensor5d(bench.clips.data.slice(CLIP_INDEX * size, (CLIP_INDEX + 1) * size), [1, CLIP.T, CLIP.H, CLIP.W, 3])
    const r = await runAttack(attack.right, net.model, x, [bench.labels[CLIP_INDEX]!])
    tf.dispose([x, r.adversarial])
    net.dispose()
    return { r, label: bench.labels[CLIP_INDEX]!, leaked: tf.memory().numTensors - before }
  })()

  await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]', { timeout: 150_000 })
  const status = await textOf(page, '#status')
  const shown = (await page.evaluate(() => (globalThis as { multavPlayground?: unknown }).multavPlayground)) as Shown
  const cells = await page.$$eval('#report tr[data-clip] td', (tds) => tds.map((td) => [(td as unknown as { textContent: string }).textContent, (td as unknown as { dataset: { value?: string } }).dataset.value ?? '']))
  const verifyText = await textOf(page, '#verify')
  const backendText = await textOf(page, '#backend-shown')
  const frames = await page.$$eval('#frames canvas', (c) => c.length)
  await page.close()
  const { r, label, leaked } = await node

  t.regex(status, /^done on webgl: 1 clip, 2 steps in [\d.]+ s$/)
  t.is(backendText, 'backend: webgl')
  t.is(shown.backend, 'webgl')
  t.is(shown.tensorsLeft, 0, 'no tensor left in the page')
  t.is(leaked, 0, 'no tensor left in Node')
  t.is(frames, 3 * CLIP.T, 'clean, adversarial and difference rows of every frame')
  t.deepEqual(troubles(lines), [], 'the console tells of no shader or WebGPU error')

  const [clip, truth, clean, adversarial, success, linf, l2, ratio] = cells as Array<[string, string]>
  const names = BENCHMARK_CLASSES
  t.is(clip![0], String(CLIP_INDEX))
  t.is(truth![0], String(names[label]))
  t.is(clean![0], String(names[r.cleanPredictions[0]!]))
  t.is(adversarial![0], String(names[r.predictions[0]!]))
  t.is(success![0], r.success[0] ? 'yes' : 'no')
  t.true(r.success[0], 'the clip chosen is one the attack fools (so the labels say something)')
  /** The shown text within its rounding of Node's value, and the full value within 1e-4 of it. */
  const close = (tt: ExecutionContext, [text, full]: [string, string], value: number, digits: number, what: string) => {
    tt.true(Math.abs(Number(text) - value) <= 0.5 * 10 ** -digits + 1e-4, `${what}: shown ${text}, Node ${value}`)
    tt.true(Math.abs(Number(full) - value) <= 1e-4, `${what}: ${full} in the page, ${value} in Node`)
  }
  close(t, linf!, r.sanity.linf[0]!, 5, '‖δ‖∞')
  close(t, l2!, r.sanity.l2[0]!, 4, '‖δ‖₂')
  close(t, ratio!, r.sanity.ratioLinf[0]!, 5, 'ratio')
  t.true(Number(ratio![1]) <= 1.04 * (1 + 1e-6), `the shown ratio ${ratio![1]} ≤ 1.04`)
  t.true(Number(ratio![0]) <= 1.04, `the shown ratio text ${ratio![0]}`)
  t.true(Number(ratio![1]) > 1.039, 'the bound is reached (the projection was at work)')
  t.is(verifyText, 'verify: the output meets every bound of the certificate')
  t.log(status)
})
