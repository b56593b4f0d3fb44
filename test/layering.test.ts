/**
 * The layers of src/ and the one rule between them: a file imports only its own layer and the layers
 * it is allowed to build on (the table `MAY_IMPORT`), so nothing imports upwards. Low → high:
 *
 *   core → dsl → ops, backend → interpreters (pretty, certify, reference, regions: pure TS; tensor,
 *   search: tfjs, on ops) → models, data → testing → eval → cli
 *
 * Nothing outside src/cli imports src/cli; src/core imports only itself; src/dsl only itself and core;
 * the pure interpreters only themselves, dsl and core. The pure layers load no TensorFlow.js and no
 * Node built-in. The browser entry (src/browser.ts and src/browser/, `multav/browser`) sits beside the
 * main entry, and nothing it reaches imports a Node built-in. Every import of every file under src/ is read with the TypeScript compiler API
 * (static, type-only, re-exports and dynamic `import()`), so a file no entry reaches is held to it too.
 */
import test, { type ExecutionContext } from 'ava'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, normalize, relative } from 'node:path'
import ts from 'typescript'

type Layer = 'core' | 'dsl' | 'ops' | 'backend' | 'pure' | 'interpreters' | 'models' | 'data' | 'testing' | 'eval' | 'cli' | 'entry' | 'dsl-entry' | 'browser-entry' | 'runtime'

/** A file's layer, by its path under the repository root (the first match wins). */
const LAYERS: ReadonlyArray<readonly [RegExp, Layer]> = [
  [/^src\/index\.ts$/, 'entry'],
  [/^src\/dsl\.ts$/, 'dsl-entry'],
  // what both the main and the browser entry export
  [/^src\/runtime\.ts$/, 'runtime'],
  // multav/browser: the entry and the subsets of models and data it re-exports
  [/^src\/browser(\.ts$|\/)/, 'browser-entry'],
  [/^src\/core\//, 'core'],
  [/^src\/dsl\//, 'dsl'],
  [/^src\/ops\//, 'ops'],
  [/^src\/backend\//, 'backend'],
  // the interpreters that read attack values without tensors (multav/dsl exports pretty and certify)
  [/^src\/interpreters\/(pretty|certify|reference|regions)(\.ts$|\/)/, 'pure'],
  [/^src\/interpreters\//, 'interpreters'],
  [/^src\/models\//, 'models'],
  [/^src\/data\//, 'data'],
  [/^src\/testing\//, 'testing'],
  [/^src\/eval\//, 'eval'],
  [/^src\/cli\//, 'cli'],
]

const BELOW_MODELS: ReadonlyArray<Layer> = ['interpreters', 'pure', 'dsl', 'core', 'ops']

/** The layers each layer may import (its own included). Same-rank neighbours (ops/backend, models/data) do not import each other. */
const MAY_IMPORT: Readonly<Record<Layer, ReadonlyArray<Layer>>> = {
  core: ['core'],
  dsl: ['dsl', 'core'],
  ops: ['ops', 'core'],
  // starting backends is plumbing below every tensor user; choosing one is the application's call
  backend: ['backend', 'core'],
  pure: ['pure', 'dsl', 'core'],
  interpreters: ['interpreters', 'pure', 'dsl', 'core', 'ops'],
  models: ['models', ...BELOW_MODELS],
  data: ['data', 'core'],
  testing: ['testing', 'models', 'data', 'backend', ...BELOW_MODELS],
  eval: ['eval', 'testing', 'models', 'data', 'backend', ...BELOW_MODELS],
  cli: ['cli', 'eval', 'testing', 'models', 'data', 'backend', ...BELOW_MODELS],
  // the main entry: everything but the command line
  entry: ['runtime', 'dsl-entry', 'eval', 'testing', 'models', 'data', 'backend', ...BELOW_MODELS],
  'dsl-entry': ['pure', 'dsl', 'core'],
  runtime: ['dsl-entry', ...BELOW_MODELS],
  // the browser entry: what runs in a page (test below: it reaches no Node built-in)
  'browser-entry': ['browser-entry', 'runtime', 'dsl-entry', 'models', 'data', 'backend', ...BELOW_MODELS],
}

/** The layers that run anywhere: no TensorFlow.js and no Node built-in (their type-only imports included). */
const PURE_LAYERS: ReadonlySet<Layer> = new Set(['core', 'dsl', 'pure', 'dsl-entry'])

/**
 * Edges the table refuses but that are right, each with its reason: `from → to` exactly as printed
 * (`to` a source file, or a package for the purity rule). Keep this short.
 */
const ALLOWED: Readonly<Record<string, string>> = {
  // core/model.ts is the type of what multav attacks: a function of tfjs tensors; it loads no tfjs
  'src/core/model.ts → @tensorflow/tfjs-core (type)': 'the Model type names tf.Tensor5D → tf.Tensor2D; erased at run time',
  // starting wasm registers a correct gradient for tfjs's own Conv3D kernel, made of ops.conv3d
  'src/backend/conv3d-gradient.ts → src/ops/conv3d.ts': "initBackend registers ops.conv3d's math as tfjs's Conv3D gradient on wasm, so tfjs models get correct gradients",
}

interface Import {
  readonly specifier: string
  /** Erased at run time: `import type`, `export type`, every named binding `type`, or an `import('x')` type. */
  readonly typeOnly: boolean
}

/** Every module a file names: imports, re-exports, dynamic `import()` and `import('x')` types. */
const importsOf = (file: string): Import[] => {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS)
  const out: Import[] = []
  const allTypes = (elements: ts.NodeArray<ts.ImportSpecifier | ts.ExportSpecifier>) => elements.length > 0 && elements.every((e) => e.isTypeOnly)
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause
      const bindings = clause?.namedBindings
      const typeOnly = clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && bindings !== undefined && ts.isNamedImports(bindings) && allTypes(bindings.elements)))
      out.push({ specifier: node.moduleSpecifier.text, typeOnly })
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause
      out.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly || (clause !== undefined && ts.isNamedExports(clause) && allTypes(clause.elements)) })
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined && ts.isStringLiteralLike(node.arguments[0])) {
      out.push({ specifier: node.arguments[0].text, typeOnly: false })
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push({ specifier: node.argument.literal.text, typeOnly: true })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return out
}

/** Every .ts file under `dir`, relative to the repository root with '/' separators. */
const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []))
const posix = (p: string) => p.split('\\').join('/')

const isFile = (p: string) => statSync(p, { throwIfNoEntry: false })?.isFile() === true
/** The source file a relative specifier names ('./x.js' is x.ts; './x' may be x.ts or x/index.ts), or undefined. */
const resolveRelative = (from: string, specifier: string): string | undefined => {
  const base = normalize(join(dirname(from), specifier))
  return [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')].map(posix).find(isFile)
}

const layerOf = (file: string): Layer | undefined => LAYERS.find(([re]) => re.test(file))?.[1]
const NODE_BUILTINS = new Set(builtinModules)
const isNodeBuiltin = (specifier: string) => specifier.startsWith('node:') || NODE_BUILTINS.has(specifier.split('/')[0]!)

interface Edge {
  readonly from: string
  readonly to: string
  readonly typeOnly: boolean
  /** The target's layer (a source file) or undefined (a package). */
  readonly layer?: Layer | undefined
}

/** The whole import graph of src/, and the relative imports that name no file. */
const graph = (() => {
  const edges: Edge[] = []
  const unresolved: string[] = []
  for (const file of walk('src').map(posix).sort())
    for (const i of importsOf(file)) {
      if (!i.specifier.startsWith('.')) {
        edges.push({ from: file, to: i.specifier, typeOnly: i.typeOnly })
        continue
      }
      const to = resolveRelative(file, i.specifier)
      if (to === undefined) unresolved.push(`${file} → ${i.specifier}`)
      else edges.push({ from: file, to: posix(relative('.', to)), typeOnly: i.typeOnly, layer: layerOf(to) })
    }
  return { edges, unresolved }
})()

const show = (e: Edge) => `${e.from} → ${e.to}${e.typeOnly ? ' (type)' : ''}`
/** The offending edges, as `from → to (why)`, less the allowed ones. */
const offending = (why: (e: Edge) => string | undefined): string[] =>
  graph.edges.flatMap((e) => {
    const reason = why(e)
    return reason === undefined || show(e) in ALLOWED ? [] : [`${show(e)}  (${reason})`]
  })
/** Passes when `lines` is empty; fails listing each of them otherwise. */
const none = (t: ExecutionContext, what: string, lines: ReadonlyArray<string>) =>
  lines.length === 0 ? t.pass() : t.fail(`${lines.length} ${what}:\n${lines.join('\n')}`)

test('every file under src/ has a layer, and every relative import names a file', (t) => {
  t.true(graph.edges.length > 200, `${graph.edges.length} imports read`)
  t.deepEqual(walk('src').map(posix).filter((f) => layerOf(f) === undefined), [], 'files with no layer (add the folder to LAYERS)')
  t.deepEqual(graph.unresolved, [])
})

test('no file imports a layer above its own or a same-rank neighbour (MAY_IMPORT)', (t) => {
  const bad = offending((e) => {
    const from = layerOf(e.from)!
    return e.layer !== undefined && !MAY_IMPORT[from].includes(e.layer) ? `${from} may not import ${e.layer}` : undefined
  })
  none(t, 'upward imports', bad)
})

test('nothing outside src/cli imports src/cli', (t) => {
  none(t, 'imports of the CLI', offending((e) => (e.layer === 'cli' && !e.from.startsWith('src/cli/') ? 'the CLI is the top' : undefined)))
})

test('src/core, src/dsl, the pure interpreters and src/dsl.ts import no TensorFlow.js and no Node built-in', (t) => {
  const bad = offending((e) => {
    if (e.layer !== undefined || !PURE_LAYERS.has(layerOf(e.from)!)) return undefined
    if (/^@tensorflow\//.test(e.to)) return 'TensorFlow.js in a pure layer'
    return isNodeBuiltin(e.to) ? 'a Node built-in in a pure layer' : undefined
  })
  none(t, 'impure imports', bad)
})

test('every allowed exception is still needed', (t) => {
  const seen = new Set(graph.edges.map(show))
  t.deepEqual(Object.keys(ALLOWED).filter((edge) => !seen.has(edge)), [])
})

/**
 * The algebra is read through rule tables only (`match`, `fold`, `Rules` in src/dsl/match.ts): a
 * comparison or a `switch` on `_tag` elsewhere would run an unknown variant as another one.
 */
const TAG_DISPATCH = /\._tag\s*[!=]==|[!=]==\s*\w+\._tag\b|switch\s*\([^)]*\b_tag\)|\[[\w.]*\._tag\]/

test('no file outside src/dsl/match.ts dispatches on _tag by hand', (t) => {
  const hits = walk('src')
    .filter((f) => f.endsWith('.ts') && posix(f) !== 'src/dsl/match.ts')
    .flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) => (TAG_DISPATCH.test(line) ? [`${posix(f)}:${i + 1}: ${line.trim()}`] : [])),
    )
  none(t, 'hand-written dispatch on _tag', hits)
  // the pattern finds what it is meant to find
  for (const line of ["u._tag === 'Add' ? a : b", "if ('Clip' !== c._tag) x()", 'switch (d._tag) {', 'RULES[node._tag](node)'])
    t.true(TAG_DISPATCH.test(line), line)
})

/** Packages that only work in Node (files, processes, threads). */
const NODE_ONLY_PACKAGES = /^(write-file-atomic|piscina|pngjs|cli-progress|@ffmpeg-installer\/|@tensorflow\/tfjs-node)/

test('the browser entry (src/browser.ts) reaches no Node built-in and no Node-only package', (t) => {
  const seen = new Set<string>()
  const bad: string[] = []
  const visit = (file: string, via: ReadonlyArray<string>): void => {
    if (seen.has(file)) return
    seen.add(file)
    for (const e of graph.edges.filter((e) => e.from === file && !e.typeOnly)) {
      if (e.layer !== undefined) visit(e.to, [...via, e.to])
      else if (isNodeBuiltin(e.to) || NODE_ONLY_PACKAGES.test(e.to)) bad.push(`${[...via, e.to].join(' → ')}`)
    }
  }
  visit('src/browser.ts', ['src/browser.ts'])
  t.true(seen.size > 40, `${seen.size} files reached`)
  t.true(seen.has('src/interpreters/tensor/run.ts') && seen.has('src/models/r3d.ts') && seen.has('src/backend/rank5.ts'))
  none(t, 'Node-only imports reached from the browser entry', bad)
})
