/**
 * The command line from one declaration: every declared option is in its command's usage with its
 * default and environment variable; values come from the flag, else the environment, else the default;
 * one validator per type gives one clear message; `multav list`; and errors map to exit codes by class
 * or kind. In-process through `main` (no child processes).
 */
import test from 'ava'
import * as E from 'fp-ts/lib/Either.js'
import { BackendUnavailableError } from '../src/backend/backend.js'
import { WasmHeapError } from '../src/backend/wasm-heap.js'
import { InputError, InternalError, UnavailableError } from '../src/core/errors.js'
import * as attacks from '../src/dsl/attacks.js'
import { targetedEach, withLoss } from '../src/dsl/constructors.js'
import { TAGS } from '../src/dsl/match.js'
import { evaluateChunk, evalRefusals } from '../src/eval/chunk.js'
import { RunFolderError } from '../src/eval/results.js'
import { learningRate } from '../src/models/train.js'
import { EXIT_CODES, reportError, UsageError, withContext } from '../src/cli/errors.js'
import { COMMANDS, main } from '../src/cli/main.js'
import { decodeOptions, defaultNote, enumeration, integer, list, number } from '../src/cli/options.js'
import { BACKEND_OPTIONS, checkFit } from '../src/cli/shared.js'

/** Runs the command line in this process, capturing what it prints. */
const cli = async (argv: ReadonlyArray<string>) => {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { log: (l) => void out.push(l), warn: (l) => void err.push(l), tty: false })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

test('every command has one usage listing each declared option with its default and environment variable', async (t) => {
  t.deepEqual(
    COMMANDS.map((c) => c.name),
    ['demo', 'explain', 'list', 'check', 'train', 'eval', 'reproduce', 'merge', 'attack', 'import', 'playground'],
  )
  for (const command of COMMANDS) {
    const help = await cli([command.name, '--help'])
    t.is(help.code, 0)
    t.true(help.out.startsWith(`usage: multav ${command.name} `), command.name)
    // the table's text is wrapped: compare with the whitespace squeezed
    const text = help.out.replace(/\s+/g, ' ')
    for (const [name, o] of Object.entries(command.options)) {
      t.true(text.includes(`--${name}`), `${command.name} --${name}`)
      t.true(command.synopsis.replace(/\s+/g, ' ').includes(`--${name}`), `${command.name} synopsis --${name}`)
      const note = defaultNote(o).replace(/\s+/g, ' ')
      t.true(text.includes(note), `${command.name} --${name}: ${note}`)
      if (o.default !== undefined && o.type !== 'boolean') t.true(note.includes(`default: ${o.show(o.default)}`), `${command.name} --${name}`)
      if (o.env !== undefined) t.true(note.includes(`env: ${o.env}`), `${command.name} --${name}`)
    }
  }
  const global = await cli(['--help'])
  for (const command of COMMANDS) t.true(global.out.includes(`  multav ${command.name} `), command.name)
  for (const name of ['MULTAV_BACKEND', 'MULTAV_THREADS', 'MULTAV_DEBUG', 'MULTAV_FFMPEG']) t.true(global.out.includes(name), name)
})

test('values come from the flag, else the environment variable (MULTAV_BACKEND), else the default', (t) => {
  const decode = (given: Record<string, string>, env: Record<string, string>) => decodeOptions(BACKEND_OPTIONS, given, env)
  t.deepEqual(decode({}, {}), E.right({ backend: 'auto' }))
  t.deepEqual(decode({}, { MULTAV_BACKEND: 'cpu' }), E.right({ backend: 'cpu' }))
  t.deepEqual(decode({}, { MULTAV_BACKEND: '' }), E.right({ backend: 'auto' }), 'an empty variable is unset')
  t.deepEqual(decode({ backend: 'wasm' }, { MULTAV_BACKEND: 'cpu' }), E.right({ backend: 'wasm' }), 'the flag wins')
  t.deepEqual(decode({}, { MULTAV_THREADS: '3' }), E.right({ backend: 'auto', threads: 3 }))
  t.deepEqual(decode({}, { MULTAV_BACKEND: 'gpu', MULTAV_THREADS: 'lots' }), E.left(['MULTAV_BACKEND must be one of auto, tensorflow, wasm, cpu, got "gpu"', 'MULTAV_THREADS must be a whole number from 1 to 8, got "lots"']))
  t.deepEqual(decode({ backend: 'gpu' }, {}), E.left(['--backend must be one of auto, tensorflow, wasm, cpu, got "gpu"']))
})

test.serial('MULTAV_BACKEND reaches the command: a bad one is named, before any work', async (t) => {
  const before = process.env['MULTAV_BACKEND']
  process.env['MULTAV_BACKEND'] = 'gpu'
  try {
    const r = await cli(['check', 'mult-linf', '--runs', '1'])
    t.is(r.code, 2)
    t.is(r.err, 'multav: MULTAV_BACKEND must be one of auto, tensorflow, wasm, cpu, got "gpu"')
    t.is(r.out, '')
  } finally {
    if (before === undefined) delete process.env['MULTAV_BACKEND']
    else process.env['MULTAV_BACKEND'] = before
  }
})

test('one validator per type: a bad integer, number, choice or list gets one clear message naming the flag', async (t) => {
  const runs = integer({ min: 1, description: '' })
  for (const bad of ['abc', '', ' 3', '1.5', '1e3', '0x10', '0', '-2', '99999999999999999999'])
    t.deepEqual(runs.decode(bad, '--runs'), E.left(`--runs must be an integer ≥ 1, got "${bad}"`), bad)
  t.deepEqual(runs.decode('+7', '--runs'), E.right(7))
  t.deepEqual(integer({ min: 1, max: 8, description: '' }).decode('9', 'MULTAV_THREADS'), E.left('MULTAV_THREADS must be a whole number from 1 to 8, got "9"'))
  t.deepEqual(number({ positive: true, description: '' }).decode('0', '--lr'), E.left('--lr must be a positive number, got "0"'))
  t.deepEqual(number({ positive: true, description: '' }).decode('5e-3', '--lr'), E.right(0.005))
  t.deepEqual(enumeration(['test', 'train'], { description: '' }).decode('dev', '--split'), E.left('--split must be test or train, got "dev"'))
  const widths = list({ read: (s) => (/^\d+$/.test(s) ? Number(s) : undefined), text: 'positive integers', length: 4, example: '8,16,32,64' }, { description: '' })
  t.deepEqual(widths.decode('8,16', '--widths'), E.left('--widths must be four positive integers like 8,16,32,64, got "8,16"'))
  t.deepEqual(widths.decode('1, 2,3,4', '--widths'), E.right([1, 2, 3, 4]))
  // through the command line, for each command's integers
  for (const [argv, message] of [
    [['check', 'mult-linf', '--runs', 'abc'], '--runs must be an integer ≥ 1, got "abc"'],
    [['check', 'mult-linf', '--seed', '1.5'], '--seed must be an integer ≥ 0, got "1.5"'],
    [['eval', '--batch', '0'], '--batch must be an integer ≥ 1, got "0"'],
    [['eval', '--pictures', 'x'], '--pictures must be an integer ≥ 0, got "x"'],
    [['reproduce', '--workers', '0'], '--workers must be an integer ≥ 1, got "0"'],
    [['train', '--epochs', 'ten', '--out', 'x'], '--epochs must be an integer ≥ 1, got "ten"'],
    [['demo', '--threads', '9'], '--threads must be a whole number from 1 to 8, got "9"'],
  ] as const) {
    const r = await cli(argv)
    t.is(r.code, 2, argv.join(' '))
    t.is(r.err, `multav: ${message}`, argv.join(' '))
  }
  // every problem at once, one a line
  const both = await cli(['eval', '--batch', '0', '--limit=-1', 'extra'])
  t.is(both.err, 'multav: eval takes no positional arguments, got "extra"\n--limit must be an integer ≥ 1, got "-1"\n--batch must be an integer ≥ 1, got "0"')
})

test('multav list prints the ten built-ins and the ported attacks with their formulas, the regions and the shipped models; --json too', async (t) => {
  const r = await cli(['list'])
  t.is(r.code, 0, r.err)
  for (const name of [...Object.keys(attacks.BUILT_IN), ...Object.keys(attacks.PORTED)]) t.regex(r.out, new RegExp(`^  ${name} +x' ← `, 'm'), name)
  t.is(Object.keys(attacks.BUILT_IN).length, 10)
  for (const tag of TAGS.Region) t.regex(r.out, new RegExp(`^  ${tag} +\\{`, 'm'), tag)
  t.regex(r.out, /^ {2}default +3D ResNet-18 \(torchvision, widths 8-16-32-64\), 8x32x32 clips, 6 classes/m)
  const json = await cli(['list', '--json'])
  const listed = JSON.parse(json.out) as { attacks: { name: string; source: string }[]; regions: { tag: string }[]; models: { name: string }[] }
  t.deepEqual(listed.attacks.filter((a) => a.source === 'paper').map((a) => a.name), Object.keys(attacks.BUILT_IN))
  t.deepEqual(listed.attacks.filter((a) => a.source === 'ported').map((a) => a.name), ['pgd', 'pgd-l2', 'fgsm', 'bim', 'mi-fgsm'])
  t.deepEqual(listed.regions.map((a) => a.tag), [...TAGS.Region])
  t.deepEqual(listed.models.map((a) => a.name), ['default'])
  const only = await cli(['list', 'attacks', '--json'])
  t.deepEqual(Object.keys(JSON.parse(only.out)), ['attacks'])
  t.is((await cli(['list', 'nothing'])).code, 2)
})

test('errors map to exit codes by class and kind, never by message', (t) => {
  t.deepEqual(EXIT_CODES, { input: 2, unavailable: 2, internal: 70 })
  const cases: ReadonlyArray<readonly [unknown, number]> = [
    [new UsageError('--x must be …'), 2],
    [new InputError('model.json: config.classes must list at least two'), 2],
    [new UnavailableError('ffmpeg not found'), 2],
    [new RunFolderError('out/run.json: not valid JSON'), 2],
    [new BackendUnavailableError("backend 'tensorflow' is not available"), 2],
    [new WasmHeapError(2 ** 32, 2 ** 31, 2 ** 30), 2],
  ]
  for (const [e, code] of cases) {
    const report = reportError(e, false)
    t.deepEqual(report, { lines: [`multav: ${(e as Error).message}`], code }, (e as Error).name)
  }
  const internal = reportError(new InternalError('the tape lost a gradient'), false)
  t.is(internal.code, 70)
  t.deepEqual(internal.lines, ['multav: internal error: the tape lost a gradient', 'multav: this is a bug in multav; please report it with the output of the same command run with --debug'])
  // a message that merely reads like a user error is no user error: the class decides
  t.is(reportError(new TypeError('--batch must be an integer'), false).code, 70)
  // withContext keeps the kind and lets bugs through unchanged
  t.throws(() => withContext('--model m: ')(new InputError('m: not a model folder')), { instanceOf: UsageError, message: '--model m: m: not a model folder' })
  t.throws(() => withContext('--video v: ')(new UnavailableError('ffmpeg not found')), { instanceOf: UnavailableError, message: '--video v: ffmpeg not found' })
  const bug = new TypeError('x is undefined')
  t.is(t.throws(() => withContext('p: ')(bug)), bug)
})

test('an evaluation refuses per-sample targets (TargetedEach) up front: they fit one batch, an evaluation runs many', async (t) => {
  const each = withLoss(targetedEach([1, 2]))({ ...attacks.addLinf(), name: 'each' })
  t.deepEqual(evalRefusals(attacks.addLinf()), [])
  t.is(evalRefusals(each).length, 1)
  t.deepEqual(evalRefusals(withLoss(targetedEach([3]))(attacks.addLinf()), 1), [])
  const refused = t.throws(() => checkFit([attacks.addLinf(), each], { T: 8, H: 32, W: 32 }, 6, '--attacks'), { instanceOf: UsageError })
  t.regex(refused!.message, /^--attacks "each" on the model's 8x32x32 clips: attack\.loss\.target: TargetedEach gives one target per sample of one batch \(2 labels\), and an evaluation attacks many batches/)
  // the library refuses it too, before any tensor is made
  const chunk = { index: 0, ids: [0], labels: [0], clips: { shape: [1, 1, 1, 1, 3] as const, data: new Float32Array(3) } }
  await t.throwsAsync(evaluateChunk(() => undefined as never, [each], chunk), { instanceOf: InputError, message: /^evaluateChunk: attack "each": attack\.loss\.target: TargetedEach/ })
})

test('the learning-rate schedules, as a table', (t) => {
  t.is(learningRate({ _tag: 'Constant', lr: 0.1 }, 7, 10), 0.1)
  t.is(learningRate({ _tag: 'Step', lr: 0.1, every: 3, factor: 0.5 }, 7, 10), 0.1 * 0.25)
  t.is(learningRate({ _tag: 'Cosine', lr: 0.1 }, 5, 10), 0.05)
})
