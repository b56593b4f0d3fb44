/**
 * The API reference: typedoc builds it from the doc comments of the entries (multav, multav/dsl,
 * multav/testing, multav/browser) with no warning (a broken {@link}, a stray tag, a formula read as a
 * link all fail), and every `@example` in the library's doc comments type-checks under the
 * project's strict settings and runs as written (one that starts `// needs: …` is type-checked
 * only), importing only what a user of the package has.
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const DIR = join('test', '.examples')

/** Internal modules (not reachable from the package's entries): their examples are for maintainers. */
const INTERNAL = [/^src\/cli\//, /^src\/testing\/check\//]

interface Example {
  readonly file: string
  readonly line: number
  readonly code: string
}

const walk = async (dir: string): Promise<string[]> =>
  (await Promise.all((await readdir(dir, { withFileTypes: true })).map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)])))).flat()

/** The `@example` blocks of a file's doc comments: the lines after the tag up to the next tag or the comment's end. */
const examplesOf = (file: string, text: string): Example[] => {
  const out: Example[] = []
  const lines = text.split('\n')
  for (let k = 0; k < lines.length; k++) {
    if (!/^\s*\* @example\s*$/.test(lines[k]!)) continue
    const body: string[] = []
    let j = k + 1
    for (; j < lines.length && !/^\s*\*\//.test(lines[j]!) && !/^\s*\* @\w+/.test(lines[j]!); j++) body.push(lines[j]!.replace(/^\s*\* ?/, ''))
    // prose after a blank line ends the example
    const blank = body.findIndex((l) => l.trim() === '')
    out.push({ file, line: k + 1, code: (blank < 0 ? body : body.slice(0, blank)).join('\n') })
    k = j - 1
  }
  return out
}

const examples = (async () => {
  const files = (await walk('src')).filter((f) => f.endsWith('.ts') && !INTERNAL.some((re) => re.test(f.split('\\').join('/'))))
  return (await Promise.all(files.map(async (f) => examplesOf(f, await readFile(f, 'utf8'))))).flat()
})()

const ENTRIES = new Set(['multav', 'multav/dsl', 'multav/testing', 'multav/browser'])

test('the public doc comments have examples, and they import only the package entries', async (t) => {
  const all = await examples
  t.true(all.length >= 10, `found ${all.length} examples`)
  for (const e of all) {
    const names = [...e.code.matchAll(/\bfrom\s+'([^']+)'/g)].map((m) => m[1]!)
    t.true(names.length > 0, `${e.file}:${e.line} imports nothing: an example must say where its names come from`)
    for (const name of names) t.true(ENTRIES.has(name), `${e.file}:${e.line} imports "${name}"`)
  }
})

test.serial('every @example type-checks and runs as written', async (t) => {
  const all = await examples
  await rm(DIR, { recursive: true, force: true })
  await mkdir(DIR, { recursive: true })
  const files = all.map((e, k) => ({ ...e, path: join(DIR, `${e.file.replace(/[^A-Za-z0-9]+/g, '-')}-${e.line}-${k}.ts`) }))
  for (const f of files) await writeFile(f.path, `// ${f.file}:${f.line}\nexport {}\n${f.code}\n`)
  await writeFile(join(DIR, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true, rootDir: '../..' }, include: ['./*.ts'] }))
  try {
    await run('npx', ['tsc', '-p', join(DIR, 'tsconfig.json')], { timeout: 180_000 }).catch((e: { stdout: string }) => {
      t.fail(`type errors:\n${e.stdout}`)
    })
    // an example that starts `// needs: …` (a file the repository does not hold) is type-checked only
    for (const f of files.filter((e) => !/^\/\/ needs: /.test(e.code))) {
      await run(process.execPath, ['--import', 'tsx', f.path], { timeout: 120_000 }).then(
        () => t.pass(),
        (e: { stderr: string }) => t.fail(`${f.file}:${f.line} failed:\n${e.stderr.slice(-2000)}`),
      )
    }
  } finally {
    await rm(DIR, { recursive: true, force: true })
  }
})

test('typedoc builds the API reference of the entries with no warning', async (t) => {
  // typedoc.json: treatWarningsAsErrors; `npm run docs:api` writes the pages to docs/api
  const r = await run('npx', ['typedoc', '--emit', 'none'], { timeout: 300_000 }).then(
    (o) => ({ ok: true, out: o.stdout + o.stderr }),
    (e: { stdout: string; stderr: string }) => ({ ok: false, out: e.stdout + e.stderr }),
  )
  t.true(r.ok, r.out.slice(-4000))
})
