/**
 * The code users read, as files the type check covers: every ```ts block of the README and docs/*.md
 * and every `@example` in the library's public doc comments, written to test/.code-blocks/ (one file
 * each, named after where it comes from). `npm test` runs this first, so `npm run typecheck` checks
 * them with the project's strict settings (tsconfig.json includes test/); test/code-blocks.test.ts
 * then checks the folder matches the docs and runs each block.
 *
 *   node --import tsx scripts/code-blocks.ts          # (re)write test/.code-blocks
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

export const CODE_BLOCKS_DIR = join('test', '.code-blocks')

export interface CodeBlock {
  /** Where it comes from: a markdown file or a source file. */
  readonly file: string
  /** The line of its opening fence or its `@example` tag (1-based). */
  readonly line: number
  readonly kind: 'docs' | 'example'
  readonly code: string
  /** Its file in CODE_BLOCKS_DIR. */
  readonly path: string
}

/** Internal modules (not reachable from the package's entries): their examples are for maintainers. */
const INTERNAL = [/^src\/cli\//, /^src\/testing\/check\//]

const walk = async (dir: string): Promise<string[]> =>
  (await Promise.all((await readdir(dir, { withFileTypes: true })).map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)])))).flat()

/** The ```ts blocks of a markdown text, with the line each opens on. */
export const markdownBlocks = (text: string): Array<{ line: number; code: string }> => {
  const out: Array<{ line: number; code: string }> = []
  const lines = text.split('\n')
  for (let k = 0; k < lines.length; k++) {
    if (lines[k]!.trim() !== '```ts') continue
    const end = lines.findIndex((l, j) => j > k && l.trim() === '```')
    out.push({ line: k + 1, code: lines.slice(k + 1, end).join('\n') })
    k = end
  }
  return out
}

/** The `@example` blocks of a source text: the lines after the tag up to the next tag, the comment's end or a blank line. */
export const exampleBlocks = (text: string): Array<{ line: number; code: string }> => {
  const out: Array<{ line: number; code: string }> = []
  const lines = text.split('\n')
  for (let k = 0; k < lines.length; k++) {
    if (!/^\s*\* @example\s*$/.test(lines[k]!)) continue
    const body: string[] = []
    let j = k + 1
    for (; j < lines.length && !/^\s*\*\//.test(lines[j]!) && !/^\s*\* @\w+/.test(lines[j]!); j++) body.push(lines[j]!.replace(/^\s*\* ?/, ''))
    // prose after a blank line ends the example
    const blank = body.findIndex((l) => l.trim() === '')
    out.push({ line: k + 1, code: (blank < 0 ? body : body.slice(0, blank)).join('\n') })
    k = j - 1
  }
  return out
}

const markdownFiles = async (): Promise<string[]> => [
  'README.md',
  join('examples', 'README.md'),
  ...(await readdir('docs')).filter((f) => f.endsWith('.md')).sort().map((f) => join('docs', f)),
]

const publicSources = async (): Promise<string[]> =>
  (await walk('src')).filter((f) => f.endsWith('.ts') && !INTERNAL.some((re) => re.test(f.split('\\').join('/')))).sort()

const named = (file: string, line: number, kind: CodeBlock['kind'], code: string): CodeBlock => ({
  file,
  line,
  kind,
  code,
  path: join(CODE_BLOCKS_DIR, `${kind}-${file.replace(/[^A-Za-z0-9]+/g, '-')}-${line}.ts`),
})

/** Every block, in a stable order (markdown files, then sources). */
export const codeBlocks = async (): Promise<CodeBlock[]> => {
  const docs = await Promise.all((await markdownFiles()).map(async (f) => markdownBlocks(await readFile(f, 'utf8')).map((b) => named(f, b.line, 'docs', b.code))))
  const examples = await Promise.all((await publicSources()).map(async (f) => exampleBlocks(await readFile(f, 'utf8')).map((b) => named(f, b.line, 'example', b.code))))
  return [...docs.flat(), ...examples.flat()]
}

/** A block as the file the type check reads: a module (so names do not clash), saying where it comes from. */
export const fileText = (b: CodeBlock): string => `// ${b.file}:${b.line}\nexport {}\n${b.code}\n`

/** A block that starts `// needs: …` (a file the repository does not hold, e.g. an exported model) is type-checked only. */
export const typeCheckOnly = (b: CodeBlock): boolean => /^\/\/ needs: /.test(b.code)

export const writeCodeBlocks = async (): Promise<CodeBlock[]> => {
  const blocks = await codeBlocks()
  await rm(CODE_BLOCKS_DIR, { recursive: true, force: true })
  await mkdir(CODE_BLOCKS_DIR, { recursive: true })
  await Promise.all(blocks.map((b) => writeFile(b.path, fileText(b))))
  return blocks
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const blocks = await writeCodeBlocks()
  console.log(`${blocks.length} code blocks (${blocks.filter((b) => b.kind === 'docs').length} from the docs, ${blocks.filter((b) => b.kind === 'example').length} @examples) in ${CODE_BLOCKS_DIR}`)
}
