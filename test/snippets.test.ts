/**
 * Every TypeScript block in the README and docs runs as written: it imports only what a project that
 * installs multav has (`multav`, `multav/dsl`, `multav/testing`, `multav/browser`; inside this repository tsconfig.json's `paths` map
 * them to src/), type-checks under the project's strict settings, and exits 0 (a block that starts
 * `// needs: …` is type-checked only).
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const DIR = join('test', '.snippets')

interface Snippet {
  readonly file: string
  readonly line: number
  readonly code: string
}

/** The ```ts blocks of a markdown file, with the line each starts on. */
const snippetsOf = (file: string, text: string): Snippet[] => {
  const out: Snippet[] = []
  const lines = text.split('\n')
  for (let k = 0; k < lines.length; k++) {
    if (lines[k]!.trim() !== '```ts') continue
    const end = lines.findIndex((l, j) => j > k && l.trim() === '```')
    out.push({ file, line: k + 1, code: lines.slice(k + 1, end).join('\n') })
    k = end
  }
  return out
}

const markdownFiles = async (): Promise<string[]> => [
  'README.md',
  join('examples', 'README.md'),
  ...(await readdir('docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f)),
]

const imports = (code: string): string[] => [...code.matchAll(/\bfrom\s+'([^']+)'|\bimport\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2] ?? m[3]!)

const snippets = (async () => (await Promise.all((await markdownFiles()).map(async (f) => snippetsOf(f, await readFile(f, 'utf8'))))).flat())()

test('the docs have TypeScript blocks, and they import only the package entries (multav, multav/dsl, multav/testing, multav/browser)', async (t) => {
  const all = await snippets
  t.true(all.length >= 3, `found ${all.length} blocks`)
  for (const s of all) for (const name of imports(s.code)) t.true(['multav', 'multav/dsl', 'multav/testing', 'multav/browser'].includes(name), `${s.file}:${s.line} imports "${name}"`)
})

test.serial('every TypeScript block type-checks and runs as written', async (t) => {
  const all = await snippets
  await rm(DIR, { recursive: true, force: true })
  await mkdir(DIR, { recursive: true })
  const files = all.map((s, k) => ({ ...s, path: join(DIR, `${s.file.replace(/[^A-Za-z0-9]+/g, '-')}-${s.line}-${k}.ts`) }))
  for (const f of files) await writeFile(f.path, `// ${f.file}:${f.line}\nexport {}\n${f.code}\n`)
  await writeFile(join(DIR, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true, rootDir: '../..' }, include: ['./*.ts'] }))
  try {
    await run('npx', ['tsc', '-p', join(DIR, 'tsconfig.json')], { timeout: 180_000 }).catch((e: { stdout: string }) => {
      t.fail(`type errors:\n${e.stdout}`)
    })
    // a block that starts `// needs: …` (a file the repository does not hold, e.g. an exported model) is type-checked only
    for (const f of files.filter((e) => !/^\/\/ needs: /.test(e.code))) {
      const r = await run(process.execPath, ['--import', 'tsx', f.path], { timeout: 180_000 }).then(
        () => undefined,
        (e: { stderr: string }) => e.stderr,
      )
      t.is(r, undefined, `${f.file}:${f.line} failed:\n${r}`)
    }
  } finally {
    await rm(DIR, { recursive: true, force: true })
  }
})
