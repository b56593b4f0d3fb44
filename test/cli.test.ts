/** The command line: --help on every command, unknown commands and options, and `multav check`. */
import test from 'ava'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { bin, inProcess } from './fixtures/cli.js'

const run = promisify(execFile)
const multav = (args: ReadonlyArray<string>) => bin(args)
const failure = (e: unknown) => e as { code: number; stdout: string; stderr: string }

// each command's own --help is checked in-process (test/cli-options.test.ts); here the bin itself, once
test('the bin prints the usage with every command on --help, exit code 0', async (t) => {
  const { stdout } = await multav(['--help'])
  for (const command of ['demo', 'explain', 'list', 'check', 'train', 'eval', 'reproduce', 'merge', 'attack', 'import', 'playground']) t.regex(stdout, new RegExp(`multav ${command} `))
  const { stdout: eval_ } = await multav(['eval', '--help'])
  t.regex(eval_, /^usage: multav eval /)
})

test('--version and version print the package\'s version; --help is stdout, exit 0', async (t) => {
  const { readFile } = await import('node:fs/promises')
  const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string }
  t.deepEqual(await multav(['--version']), { stdout: `${version}\n`, stderr: '' }, 'the bin')
  for (const args of [['version'], ['-V']]) t.deepEqual(await inProcess(args), { code: 0, stdout: `${version}\n`, stderr: '' }, args.join(' '))
  const help = await inProcess(['--help'])
  t.regex(help.stdout, /^multav — [^]*multav --version\n/)
  t.is(help.stderr, '')
})

test('an unknown command or option exits 2 and says which', async (t) => {
  // through the bin: the exit code and stderr
  const unknown = failure(await t.throwsAsync(multav(['frobnicate'])))
  t.is(unknown.code, 2)
  t.regex(unknown.stderr, /^multav: unknown command "frobnicate"/)
  const option = await inProcess(['explain', 'add-linf', '--steps', '3'])
  t.is(option.code, 2)
  t.regex(option.stderr, /Unknown option '--steps'/)
  // no command: the usage is the error, on stderr
  const none = await inProcess([])
  t.is(none.code, 2)
  t.is(none.stdout, '')
  t.regex(none.stderr, /^multav: no command given\n\nmultav — .*\n\nusage:\n  multav demo /s)
  const threads = await inProcess(['check', 'mult-linf', '--runs', '1', '--threads', '0'])
  t.is(threads.code, 2)
  t.regex(threads.stderr, /--threads must be a whole number from 1 to 8, got "0"/)
  // an environment fallback, read by the bin's process
  const env = failure(await t.throwsAsync(bin(['check', 'mult-linf', '--runs', '1'], { ...process.env, MULTAV_THREADS: 'lots' })))
  t.is(env.code, 2)
  t.regex(env.stderr, /MULTAV_THREADS must be a whole number from 1 to 8, got "lots"/)
})

test('multav check: a built-in passes (exit 0); bad input exits 2', async (t) => {
  const { stdout } = await multav(['check', 'mult-linf', '--runs', '3'])
  t.regex(stdout, /✓ respects its certificate \(3 runs\)/)
  t.regex(stdout, /✓ .*zero/)
  const runs = failure(await t.throwsAsync(multav(['check', 'mult-linf', '--runs', '0'])))
  t.is(runs.code, 2)
  t.regex(runs.stderr, /--runs must be an integer ≥ 1, got "0"/)
  const spec = failure(await t.throwsAsync(multav(['check', 'no-such.json'])))
  t.is(spec.code, 2)
  t.regex(spec.stderr, /no-such\.json: no such file, and not a built-in attack/)
})

test('multav check: an attack that breaks its certificate exits 1 with a counterexample', async (t) => {
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { pipe } = await import('fp-ts/lib/function.js')
  const { clip, exponent, gradient, iterate, multiply, sign } = await import('../src/dsl/constructors.js')
  const { encodeAttack } = await import('../src/dsl/codec.js')
  // α^sign(g) with α = 1e39 leaves float32: the smallest pixels underflow to 0, below the certified ratio bound
  const overflow = pipe(gradient(), sign, exponent(1e39), multiply, clip(0, 1), iterate(1, { name: 'overflow' }))
  const dir = await mkdtemp(join(tmpdir(), 'multav-cli-'))
  try {
    const file = join(dir, 'overflow.json')
    await writeFile(file, JSON.stringify(encodeAttack(overflow)))
    const found = failure(await t.throwsAsync(multav(['check', file, '--runs', '30', '--seed', '3'])))
    t.is(found.code, 1)
    t.regex(found.stdout, /✗ respects its certificate/)
    t.regex(found.stdout, /seed: 3, path: "[\d:]+"/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
