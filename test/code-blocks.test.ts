/**
 * The code users read runs as written: every TypeScript block in the README and docs and every
 * `@example` in the public doc comments imports only what a project that installs multav has
 * (`multav`, `multav/dsl`, `multav/testing`, `multav/browser`; inside this repository tsconfig.json's
 * `paths` map them to src/), type-checks under the project's strict settings, and exits 0 (a block that
 * starts `// needs: …` is type-checked only).
 *
 * The type check is `npm test`'s own: scripts/code-blocks.ts writes the blocks to test/.code-blocks/
 * before `npm run typecheck`, which covers test/. Here: that folder is what the docs hold now, and
 * each block runs in a fresh process. And typedoc builds the API reference with no warning.
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { promisify } from 'node:util'
import { CODE_BLOCKS_DIR, codeBlocks, fileText, typeCheckOnly, type CodeBlock } from '../scripts/code-blocks.js'

const run = promisify(execFile)
const ENTRIES = ['multav', 'multav/dsl', 'multav/testing', 'multav/browser']
const blocks = codeBlocks()

const importsOf = (code: string): string[] =>
  [...code.matchAll(/\bfrom\s+'([^']+)'|\bimport\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2] ?? m[3]!)

test('the docs and the public doc comments have code blocks, and they import only the package entries', async (t) => {
  const all = await blocks
  const docs = all.filter((b) => b.kind === 'docs')
  const examples = all.filter((b) => b.kind === 'example')
  t.true(docs.length >= 3, `found ${docs.length} docs blocks`)
  t.true(examples.length >= 10, `found ${examples.length} @examples`)
  for (const b of all) {
    const names = importsOf(b.code)
    // an example must say where its names come from
    if (b.kind === 'example') t.true(names.length > 0, `${b.file}:${b.line} imports nothing`)
    for (const name of names) t.true(ENTRIES.includes(name), `${b.file}:${b.line} imports "${name}"`)
  }
})

test('test/.code-blocks holds exactly the blocks the docs hold now (so the type check saw them)', async (t) => {
  const all = await blocks
  const present = await readdir(CODE_BLOCKS_DIR).catch(() => [] as string[])
  const stale = 'run `npm test` (or `node --import tsx scripts/code-blocks.ts`, then the type check) after editing the docs'
  t.deepEqual(present.sort(), all.map((b) => basename(b.path)).sort(), stale)
  for (const b of all) if (present.includes(basename(b.path))) t.is(await readFile(b.path, 'utf8'), fileText(b), `${b.path}: ${stale}`)
})

/** Runs the blocks in fresh processes, two at a time; what each printed on stderr when it failed. */
const runAll = async (todo: ReadonlyArray<CodeBlock>): Promise<Array<{ block: CodeBlock; error?: string }>> => {
  const results: Array<{ block: CodeBlock; error?: string }> = []
  const queue = [...todo]
  const worker = async () => {
    for (let b = queue.shift(); b !== undefined; b = queue.shift()) {
      const block = b
      const error = await run(process.execPath, ['--import', 'tsx', block.path], { timeout: 180_000 }).then(
        () => undefined,
        (e: { stderr?: string; message: string }) => (e.stderr || e.message).slice(-2000),
      )
      results.push(error === undefined ? { block } : { block, error })
    }
  }
  await Promise.all([worker(), worker()])
  return results
}

test.serial('every block runs as written', async (t) => {
  const todo = (await blocks).filter((b) => !typeCheckOnly(b))
  t.true(todo.length >= 20, `${todo.length} blocks to run`)
  for (const { block, error } of await runAll(todo)) t.is(error, undefined, `${block.file}:${block.line} failed:\n${error}`)
})

test('typedoc builds the API reference of the entries with no warning', async (t) => {
  // typedoc.json: treatWarningsAsErrors; `npm run docs:api` writes the pages to docs/api
  const r = await run('npx', ['typedoc', '--emit', 'none'], { timeout: 300_000 }).then(
    (o) => ({ ok: true, out: o.stdout + o.stderr }),
    (e: { stdout: string; stderr: string }) => ({ ok: false, out: e.stdout + e.stderr }),
  )
  t.true(r.ok, r.out.slice(-4000))
})
