/**
 * The command line against hostile and mistaken input: generated broken spec files, unreadable spec
 * paths, attacks that do not fit the model's clips (refused before the run folder exists), bad --out
 * folders, a missing backend, a damaged run folder, too many workers — each one clear `multav:` line
 * with exit 2 and no stack trace unless --debug asks for one. In-process through `main` where it can
 * be; a few real processes where the executable's stderr is the point.
 */
import test from 'ava'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import * as attacks from '../src/dsl/attacks.js'
import { encodeAttack, parseAttackJson } from '../src/dsl/codec.js'
import { box, targeted } from '../src/dsl/constructors.js'
import { debugWanted, reportError, UsageError } from '../src/cli/errors.js'
import { main } from '../src/cli/main.js'
import { loadAttackList } from '../src/eval/specs.js'

process.env['MULTAV_BACKEND'] = 'cpu'

let root = ''
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'multav-cli-hostile-'))
})
test.after.always(async () => {
  await chmod(join(root, 'readonly'), 0o755).catch(() => undefined)
  await rm(root, { recursive: true, force: true })
})

/** Runs the command line in this process, capturing what it prints. */
const cli = async (argv: ReadonlyArray<string>) => {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { log: (l) => void out.push(l), warn: (l) => void err.push(l), tty: false })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const STACK = /^\s+at /m

const spec = (a = attacks.multLinf()) => JSON.stringify(encodeAttack(a), null, 2)

// -------------------------------------------------------------------------------------------------
// broken spec files
// -------------------------------------------------------------------------------------------------

/** A JSON value that no field of an attack accepts in place of another's. */
const badValue = fc.oneof(fc.constant(null), fc.constant('x'), fc.constant(-1), fc.constant(1e308), fc.constant([]), fc.constant({}), fc.constant(true))

/** Replaces the `k`-th leaf (in a depth-first walk) of a JSON value. */
const replaceLeaf = (json: unknown, k: number, value: unknown): unknown => {
  let seen = 0
  const walk = (v: unknown): unknown => {
    if (v !== null && typeof v === 'object') return Array.isArray(v) ? v.map(walk) : Object.fromEntries(Object.entries(v).map(([key, x]) => [key, walk(x)]))
    return seen++ === k ? value : v
  }
  return walk(json)
}

const builtIn = fc.constantFrom(...Object.values(attacks.BUILT_IN)).map((make) => spec(make()))

/** Text (or bytes) of a spec file that is not a valid attack. */
const brokenSpec: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  // cut short anywhere
  fc.tuple(builtIn, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true })).map(([text, at]) => text.slice(0, Math.floor(at * text.length))),
  // one field of the wrong type or out of range
  fc.tuple(builtIn, fc.nat(60), badValue).map(([text, k, v]) => JSON.stringify(replaceLeaf(JSON.parse(text), k, v))),
  // a byte-order mark before something broken
  fc.tuple(builtIn, fc.nat(200)).map(([text, k]) => `\uFEFF${text.slice(0, k)}`),
  // JSON that is not an attack
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
  // deep nesting
  fc.integer({ min: 100, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  // arbitrary bytes, also invalid UTF-8
  fc.uint8Array({ maxLength: 64 }),
)

test('≥ 60 generated broken spec files through `multav explain`: exit 2, each line names the file, no stack trace', async (t) => {
  const dir = join(root, 'specs')
  await mkdir(dir)
  let n = 0
  await fc.assert(
    fc.asyncProperty(brokenSpec, async (content) => {
      const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8')
      fc.pre(E.isLeft(parseAttackJson(text))) // a mutation that happens to stay valid is not a case
      const file = join(dir, `broken-${n++}.json`)
      await writeFile(file, content)
      const r = await cli(['explain', file])
      const lines = r.err.split('\n')
      // the first problem after `multav: `, the others one a line
      return r.code === 2 && r.out === '' && !STACK.test(r.err) && lines.every((l, k) => l.startsWith(`${k === 0 ? 'multav: ' : ''}${file}: `))
    }),
    { numRuns: 60, seed: 16 },
  )
  t.true(n >= 60)
})

test('unreadable spec paths name the file: a folder, a link loop, a FIFO, a missing file; a BOM is skipped', async (t) => {
  const folder = join(root, 'a-folder.json')
  const loop = join(root, 'loop.json')
  const fifo = join(root, 'fifo.json')
  await mkdir(folder)
  await symlink(loop, loop)
  execFileSync('mkfifo', [fifo])
  const cases: ReadonlyArray<[string, string]> = [
    [folder, `multav: ${folder}: is a folder, not a spec file`],
    [loop, `multav: ${loop}: cannot read it (too many symbolic links (a link loop?))`],
    [fifo, `multav: ${fifo}: not a regular file (a FIFO, socket or device), so not a spec file`],
  ]
  for (const [file, message] of cases) {
    // reading a FIFO would block for ever: give up after 5 s rather than hang the suite
    const r = await Promise.race([cli(['explain', file]), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${file}: hung`)), 5000).unref())])
    t.is(r.code, 2, file)
    t.is(r.err, message)
  }
  const missing = await cli(['explain', join(root, 'nope.json')])
  t.regex(missing.err, /^multav: .*nope\.json: no such file, and not a built-in attack/)
  // a spec with a byte-order mark, as some editors write it, in an --attacks list of specs
  const bom = join(root, 'bom.json')
  await writeFile(bom, `\uFEFF[${spec(attacks.addLinf())}]`)
  const listed = await loadAttackList(bom)
  t.deepEqual(E.isRight(listed) ? listed.right.map((a) => a.name) : listed.left, ['add-linf'])
  t.is((await cli(['explain', bom])).code, 2) // explain takes one attack, not an array
})

// -------------------------------------------------------------------------------------------------
// attacks that do not fit the model's clips (defect 5)
// -------------------------------------------------------------------------------------------------

test('eval: attacks that do not fit the 8x32x32 clips or 6 classes are all named, and no run folder is created; the corrected command then runs', async (t) => {
  const write = async (name: string, attack: object) => {
    const file = join(root, `${name}.json`)
    await writeFile(file, JSON.stringify(encodeAttack(attack as never)))
    return file
  }
  const rect = await write('rect-40x30', { ...attacks.roa({ height: 40, width: 30 }), name: 'rect-40x30' })
  const below = await write('box-below', { ...attacks.roa(), name: 'box-below', init: { _tag: 'Fill', value: 0.5, region: box({ top: 40, left: 0, height: 4, width: 4 }) } })
  const target = await write('target-99', { ...attacks.addLinf(), name: 'target-99', loss: targeted(99) })
  const out = join(root, 'misfit-run')
  const base = ['eval', '--limit', '1', '--batch', '1', '--workers', '1', '--pictures', '0', '--out', out]
  const r = await cli([...base, '--attacks', `roa:height=40,spa:perFrame=5000,af:width=20,${rect},${below},${target}`])
  t.is(r.code, 2, r.err)
  t.false(STACK.test(r.err))
  t.false(existsSync(out), 'no run folder for a run that cannot start')
  const on = `on the model's 8x32x32 clips`
  for (const line of [
    `multav: --attacks "roa height=40" ${on}: attack.init.region: Rect 40x30 does not fit the clip's 32x32 frames`,
    `--attacks "spa perFrame=5000" ${on}: attack.body[0].update.offset.of.region: Pixels 5000 per frame is more than the clip's 32x32 = 1024 pixels`,
    `--attacks "af width=20" ${on}: attack.body[0].update.offset.of.region: Ring width 20 is more than half of the clip's 32x32 frames`,
    `--attacks "rect-40x30" ${on}: attack.init.region: Rect 40x30 does not fit the clip's 32x32 frames`,
    `--attacks "box-below" ${on}: attack.init.region: Box rows 40..44 lie outside the clip's 32 rows`,
    `--attacks "target-99" ${on}: attack.loss.target.label: target class 99 is not one of the model's 6 classes (0–5)`,
  ])
    t.true(r.err.split('\n').includes(line), `${line}\nin\n${r.err}`)
  // the same --out, fixed attacks and too many workers: capped at the cores with a warning, and it runs
  const fixed = await cli([...base, '--attacks', 'add-linf:steps=1', '--workers', '1000'])
  t.is(fixed.code, 0, fixed.err)
  t.true(fixed.err.includes(`multav: --workers 1000 is more than this machine's ${availableParallelism()} cores; using ${availableParallelism()}`), fixed.err)
  const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { rows: unknown[]; meta: { workers: number } }
  t.is(results.rows.length, 1) // one clip under add-linf (with its clean prediction)
  t.is(results.meta.workers, availableParallelism())
})

test('attack, train --adversarial and check refuse misfits before any work or folder', async (t) => {
  const out = join(root, 'misfit-attack')
  const attack = await cli(['attack', '--video', join(root, 'no-video'), '--attack', 'roa:height=40', '--out', out])
  t.is(attack.code, 2)
  t.true(attack.err.startsWith(`multav: --attack "roa height=40" on the model's 8x32x32 clips: attack.init.region: Rect 40x30 does not fit`), attack.err)
  const trained = await cli(['train', '--adversarial', 'spa:perFrame=5000', '--epochs', '1', '--out', out])
  t.is(trained.code, 2)
  t.true(trained.err.startsWith(`multav: --adversarial "spa perFrame=5000" on the model's 8x32x32 clips: attack.init.region: Pixels 5000 per frame`), trained.err)
  t.false(existsSync(out))
  // check's linear models have 2 classes: a target of 3 is bad input (2), not a failed property (1)
  const file = join(root, 'target-3.json')
  await writeFile(file, JSON.stringify(encodeAttack({ ...attacks.multLinf(), loss: targeted(3) })))
  const checked = await cli(['check', file, '--runs', '2'])
  t.is(checked.code, 2, checked.out)
  t.is(checked.err, "multav: runCheck: the attack cannot run on the check's 2-class linear models: attack.loss.target.label: target class 3 is not one of the model's 2 classes (0–1)")
})

// -------------------------------------------------------------------------------------------------
// ordinary mistakes: one line, exit 2
// -------------------------------------------------------------------------------------------------

test('bad --out folders are refused in one line before any work: under a file, a file, empty, read-only', async (t) => {
  const file = join(root, 'a-file')
  await writeFile(file, 'not a folder')
  const eval_ = (out: string) => cli(['eval', '--limit', '1', '--attacks', 'add-linf:steps=1', '--out', out])
  const cases: ReadonlyArray<[string, string]> = [
    [join(file, 'sub'), `multav: --out ${join(file, 'sub')}: ${file} is a file, not a folder`],
    [file, `multav: --out ${file}: is a file, not a folder`],
    ['', 'multav: --out must be a folder path, got ""'],
  ]
  for (const [out, message] of cases) {
    const r = await eval_(out)
    t.is(r.code, 2, out)
    t.is(r.err, message)
    t.is(r.out, '', 'refused before the model is loaded')
  }
  for (const command of [['demo'], ['train'], ['reproduce', '--quick'], ['merge', 'x']]) {
    const r = await cli([...command, '--out', file])
    t.is(r.err, `multav: --out ${file}: is a file, not a folder`, command[0])
  }
  // root writes anywhere it is not refused by the file system itself
  if (process.getuid?.() !== 0) {
    const readonly = join(root, 'readonly')
    await mkdir(readonly)
    await chmod(readonly, 0o555)
    const r = await eval_(join(readonly, 'run'))
    t.is(r.code, 2)
    t.is(r.err, `multav: --out ${join(readonly, 'run')}: cannot write in ${readonly} (permission denied)`)
  }
})

test('reportError: bad input in one line (2); other errors with a hint (2); bugs as internal errors (70); stacks only with --debug', (t) => {
  t.deepEqual(reportError(new UsageError('--batch must be an integer ≥ 1, got "0"'), false), { lines: ['multav: --batch must be an integer ≥ 1, got "0"'], code: 2 })
  const fs = Object.assign(new Error("EACCES: permission denied, mkdir '/x/y'"), { code: 'EACCES', syscall: 'mkdir', path: '/x/y' })
  t.deepEqual(reportError(fs, false), { lines: ['multav: /x/y: permission denied (mkdir)'], code: 2 })
  t.deepEqual(reportError(new Error('model.json: config.classes must list at least two class names'), false), {
    lines: ['multav: model.json: config.classes must list at least two class names', 'multav: run the same command with --debug (or MULTAV_DEBUG=1) for the stack trace'],
    code: 2,
  })
  let allocation: unknown
  try {
    new Float32Array(2 ** 40)
  } catch (e) {
    allocation = e
  }
  t.like(reportError(allocation, false), { code: 2, lines: [`multav: out of memory (${(allocation as Error).message}); use a smaller --batch, fewer --workers or smaller clips`] })
  const bug = reportError(new TypeError("Cannot read properties of undefined (reading 'shape')"), false)
  t.is(bug.code, 70)
  t.deepEqual(bug.lines, ["multav: internal error: Cannot read properties of undefined (reading 'shape')", 'multav: this is a bug in multav; please report it with the output of the same command run with --debug'])
  t.deepEqual([debugWanted(false, undefined), debugWanted(false, '0'), debugWanted(false, '1'), debugWanted(true, undefined)], [false, false, true, true])
  const debug = reportError(new TypeError('boom'), true)
  t.is(debug.lines[0], 'multav: internal error: boom')
  t.regex(debug.lines[1]!, /^TypeError: boom\n\s+at /)
})

// -------------------------------------------------------------------------------------------------
// the real executable's stderr
// -------------------------------------------------------------------------------------------------

const multav = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], { env: { ...process.env, MULTAV_BACKEND: 'cpu', ...env } }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  )

/** stderr without tfjs's banner about tfjs-node. */
const ours = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('multav: ')).join('\n')

test('the executable: a missing tensorflow backend and a damaged run folder are one line each, no stack; --debug shows it', async (t) => {
  const damaged = join(root, 'damaged')
  await mkdir(damaged)
  await writeFile(join(damaged, 'run.json'), '{"model": "default", "cla')
  const [tensorflow, truncated, debug] = await Promise.all([
    multav(['demo', '--backend', 'tensorflow', '--out', join(root, 'demo')]),
    multav(['eval', '--limit', '1', '--batch', '1', '--workers', '1', '--attacks', 'add-linf:steps=1', '--pictures', '0', '--out', damaged, '--resume']),
    multav(['--debug', 'demo', '--backend', 'tensorflow', '--out', join(root, 'demo')]),
  ])
  t.is(tensorflow.code, 2)
  t.false(STACK.test(tensorflow.stderr), tensorflow.stderr)
  t.is(ours(tensorflow.stderr), "multav: initBackend(tensorflow): backend 'tensorflow' is not available (install @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node 4.22.0): neither is installed")
  t.is(truncated.code, 2)
  t.false(STACK.test(truncated.stderr), truncated.stderr)
  t.is(ours(truncated.stderr).split('\n').length, 1, truncated.stderr)
  t.regex(ours(truncated.stderr), /^multav: .*damaged\/run\.json: not valid JSON/)
  t.is(debug.code, 2)
  t.regex(debug.stderr, /BackendUnavailableError: initBackend\(tensorflow\)[^\n]*\n\s+at /)
})
