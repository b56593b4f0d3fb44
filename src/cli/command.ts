/**
 * A command of the `multav` command line, declared once: its positional arguments, its options (see
 * options.ts), a summary and details in words, and what it runs. Its usage (synopsis, words, options
 * table with defaults and environment variables) and its argument checks are derived from that.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { UsageError } from './errors.js'
import { decodeOptions, optionsTable, synopsisOf, wrap, type Options, type Values } from './options.js'

export interface Io {
  readonly log: (line: string) => void
  readonly warn: (line: string) => void
  /** True when progress may redraw a bar (stderr is a terminal). */
  readonly tty: boolean
}

export interface Context {
  readonly io: Io
  /** The command line's arguments (after `multav`), for provenance. */
  readonly argv: ReadonlyArray<string>
}

/** The positional arguments a command takes: `usage` in its synopsis; `problem` says what is wrong with given ones. */
export interface Positionals {
  readonly usage: string
  readonly problem: (command: string, given: ReadonlyArray<string>) => string | undefined
}

export const noPositionals: Positionals = {
  usage: '',
  problem: (command, given) => (given.length > 0 ? `${command} takes no positional arguments, got "${given.join(' ')}"` : undefined),
}

/** Exactly one, e.g. an attack: `explain takes one attack (a spec file or …)`. */
export const onePositional = (usage: string, what: string): Positionals => ({
  usage,
  problem: (command, given) => (given.length === 1 ? undefined : `${command} takes one ${what}`),
})

/** At most one of `choices`. */
export const optionalChoice = (choices: ReadonlyArray<string>): Positionals => ({
  usage: `[${choices.join('|')}]`,
  problem: (command, given) =>
    given.length === 0 || (given.length === 1 && choices.includes(given[0]!)) ? undefined : `${command} takes at most one of ${choices.join(', ')}, got "${given.join(' ')}"`,
})

/** Any number; the command checks them. */
export const manyPositionals = (usage: string): Positionals => ({ usage, problem: () => undefined })

export interface CommandSpec<D extends Options> {
  readonly name: string
  readonly positionals?: Positionals
  readonly options: D
  /** One line: what the command does. */
  readonly summary: string
  /** More words: a text, wrapped in the usage (paragraphs separated by blank lines), or lines kept as they are. */
  readonly details?: string | ReadonlyArray<string>
  readonly run: (values: Values<D>, positionals: ReadonlyArray<string>, context: Context) => Promise<number>
}

export interface Command {
  readonly name: string
  readonly summary: string
  readonly options: Options
  /** `multav <name> <positionals> [options…]`, wrapped. */
  readonly synopsis: string
  /** The synopsis, the summary, the details and the options table (what `--help` prints after `usage: `). */
  readonly usage: string
  /** Checks the positionals and decodes the options (a UsageError listing every problem), then runs. */
  readonly execute: (given: Readonly<Record<string, string | boolean | undefined>>, positionals: ReadonlyArray<string>, context: Context) => Promise<number>
}

const WIDTH = 100
const INDENT = '    '

/** The synopsis: the command, its positionals, every option (`[--runs 50]`), wrapped at 100 columns. */
const synopsisOfCommand = (name: string, positionals: Positionals, options: Options): string => {
  const tokens = [positionals.usage, ...Object.entries(options).map(([n, o]) => synopsisOf(n, o))].filter((t) => t !== '')
  const lines: string[] = []
  let line = `multav ${name}`
  // the first token (the positionals, or the first option) stays on the command's line
  for (const [k, token] of tokens.entries()) {
    if (k > 0 && line.trim() !== '' && line.length + 1 + token.length > WIDTH) {
      lines.push(line)
      line = INDENT
    }
    line += line.trim() === '' ? token : ` ${token}`
  }
  return [...lines, line].join('\n')
}

export const defineCommand = <D extends Options>(spec: CommandSpec<D>): Command => {
  const positionals = spec.positionals ?? noPositionals
  const synopsis = synopsisOfCommand(spec.name, positionals, spec.options)
  const details =
    typeof spec.details === 'string' ? spec.details.split(/\n\s*\n/).flatMap((paragraph) => wrap(paragraph, WIDTH, INDENT)) : (spec.details ?? []).map((line) => `${INDENT}${line}`)
  const table = Object.keys(spec.options).length === 0 ? [] : [`${INDENT}options:`, ...optionsTable(spec.options, `${INDENT}  `)]
  return {
    name: spec.name,
    summary: spec.summary,
    options: spec.options,
    synopsis,
    usage: [synopsis, ...wrap(spec.summary, WIDTH, INDENT), ...details, ...table].join('\n'),
    execute: async (given, args, context) => {
      const positional = positionals.problem(spec.name, args)
      const decoded = decodeOptions(spec.options, given)
      const problems = [...(positional === undefined ? [] : [positional]), ...(E.isLeft(decoded) ? decoded.left : [])]
      if (problems.length > 0 || E.isLeft(decoded)) throw new UsageError(problems.join('\n'))
      return spec.run(decoded.right, args, context)
    },
  }
}
