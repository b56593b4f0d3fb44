/**
 * The `multav` command line. Exit codes: 0 ok, 1 a finding (e.g. a violated bound), 2 bad input,
 * 70 an internal error (a bug in multav), 130 stopped by Ctrl-C (the work done so far is saved; resume
 * with --resume). No stack trace is printed unless --debug (or MULTAV_DEBUG=1) asks for one.
 *
 * Every command is declared once (src/cli/command.ts, options.ts): its options' parser configuration,
 * typed values, defaults, environment fallbacks and usage all come from that declaration.
 */
import { parseArgs } from 'node:util'
import { multavVersion } from '../eval/results.js'
import { attackCommand } from './attack.js'
import { checkCommand } from './check.js'
import type { Command, Io } from './command.js'
import { demoCommand } from './demo.js'
import { debugWanted, reportError } from './errors.js'
import { evalCommand } from './eval.js'
import { explainCommand } from './explain.js'
import { listCommand } from './list.js'
import { mergeCommand } from './merge.js'
import { boolean, optionsTable, parserOptions, wrap } from './options.js'
import { importCommand } from './import.js'
import { playgroundCommand } from './playground.js'
import { reproduceCommand } from './reproduce.js'
import { trainCommand } from './train.js'

export type { Io } from './command.js'

/** The commands, in the order the usage lists them. */
export const COMMANDS: ReadonlyArray<Command> = [demoCommand, explainCommand, listCommand, checkCommand, trainCommand, evalCommand, reproduceCommand, mergeCommand, attackCommand, importCommand, playgroundCommand]

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  help: boolean({ short: 'h', description: "the command's usage, every option with its default" }),
  debug: boolean({ env: 'MULTAV_DEBUG', description: 'print the stack trace of an error (without it an error is one line); also before the command' }),
} as const

/** The environment variables multav reads, beyond the options' fallbacks (listed with their options). */
const ENVIRONMENT: ReadonlyArray<readonly [string, string]> = [
  ['MULTAV_BACKEND', '--backend when not given: auto, tensorflow, wasm or cpu'],
  ['MULTAV_THREADS', "--threads when not given: wasm's threads per backend, 1 to 8"],
  ['MULTAV_DEBUG', '--debug when set to anything but 0, false, no, off'],
  ['MULTAV_FFMPEG', 'the ffmpeg binary to read and write videos with (default: ffmpeg on PATH, else @ffmpeg-installer/ffmpeg)'],
]

const INDENT = '      '

export const USAGE = [
  'multav — adversarial attacks on video models as typed values (MultAV, AVSS 2021)',
  '',
  'usage:',
  ...COMMANDS.flatMap((c) => [`  ${c.synopsis.split('\n').join('\n  ')}`, ...wrap(c.summary, 100, INDENT)]),
  '  multav <command> --help',
  "      the command's words and every option with its default and environment variable",
  '  multav --version',
  '',
  'options of every command:',
  ...optionsTable(GLOBAL_OPTIONS, '  '),
  '',
  'environment:',
  ...ENVIRONMENT.flatMap(([name, text]) => wrap(text, 100, ' '.repeat(20), `  ${name}`.padEnd(20))),
  '',
  ...wrap(
    'exit codes: 0 ok, 1 a finding (a violated bound), 2 bad input (or a machine that cannot do it: no backend, no ffmpeg), 70 an internal error (a bug: please report it with the --debug output), 130 stopped by Ctrl-C (resume with --resume).',
    100,
    '',
  ),
].join('\n')

const stdio: Io = {
  log: (line) => process.stdout.write(`${line}\n`),
  warn: (line) => process.stderr.write(`${line}\n`),
  tty: process.stderr.isTTY === true,
}

/** `--debug` before the command (`multav --debug eval …`) is taken off; after it, it is a command option. */
const leadingDebug = (argv: ReadonlyArray<string>): { readonly debug: boolean; readonly argv: ReadonlyArray<string> } =>
  argv[0] === '--debug' ? { debug: true, argv: argv.slice(1) } : { debug: false, argv }

const byName: ReadonlyMap<string, Command> = new Map(COMMANDS.map((c) => [c.name, c]))

export const main = async (args: ReadonlyArray<string>, io: Io = stdio): Promise<number> => {
  const fail = (message: string): number => {
    io.warn(`multav: ${message}`)
    return 2
  }
  const { debug: leading, argv } = leadingDebug(args)
  const [name, ...rest] = argv
  // with no command, usage is the error message (stderr, exit 2); asked for, it is the output
  if (name === undefined) return fail(`no command given\n\n${USAGE}`)
  if (name === 'help' || name === '--help' || name === '-h') {
    io.log(USAGE)
    return 0
  }
  if (name === 'version' || name === '--version' || name === '-V') {
    io.log(multavVersion())
    return 0
  }
  const command = byName.get(name)
  if (!command) return fail(`unknown command "${name}"\n\n${USAGE}`)
  let parsed
  try {
    parsed = parseArgs({ args: [...rest], allowPositionals: true, options: { ...parserOptions(command.options), ...parserOptions(GLOBAL_OPTIONS) } })
  } catch (e) {
    return fail(`${(e as Error).message}\n\nusage: ${command.synopsis}\n(multav ${command.name} --help: every option, with its default)`)
  }
  const { help, debug, ...given } = parsed.values
  if (help === true) {
    io.log(`usage: ${command.usage}`)
    return 0
  }
  try {
    // no option is declared `multiple`, so every value is a string or a boolean
    return await command.execute(given as Record<string, string | boolean | undefined>, parsed.positionals, { io, argv })
  } catch (e) {
    const report = reportError(e, debugWanted(leading || debug === true))
    report.lines.forEach((line) => io.warn(line))
    return report.code
  }
}
