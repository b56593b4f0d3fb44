/**
 * How the command line reports what went wrong, decided by the error's class or kind (errors as data,
 * src/core/errors.ts), never by its message text: bad input and an unavailable machine in one line
 * (exit 2), genuine bugs marked as internal errors (exit 70, sysexits' EX_SOFTWARE, so that it is
 * never read as `check`'s exit 1, a violated bound), and a stack trace only with `--debug` (or
 * MULTAV_DEBUG=1).
 */
import { accessSync, constants, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { isMultavError, MultavError, UnavailableError, type ErrorKind } from '../core/errors.js'
import { RunFolderError } from '../eval/results.js'
import { BackendUnavailableError } from '../backend/backend.js'
import { WasmHeapError } from '../backend/wasm-heap.js'
import { envFlag } from './options.js'

/** A mistake on the command line (an option, an argument): reported as `multav: <message>` with exit code 2. */
export class UsageError extends MultavError {
  override readonly name = 'UsageError'
  readonly kind = 'input' as const
}

/** The exit code of a bug in multav (sysexits.h's EX_SOFTWARE). */
export const INTERNAL_ERROR = 70

/** The exit code for each kind of error: the caller's input and the machine are the user's to fix (2); a bug is ours (70). */
export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = { input: 2, unavailable: 2, internal: INTERNAL_ERROR }

/** Library errors from before the kinds, by class: what kind of problem each one is. */
const KIND_BY_CLASS: ReadonlyArray<readonly [abstract new (...args: never[]) => Error, ErrorKind]> = [
  [RunFolderError, 'input'],
  [BackendUnavailableError, 'unavailable'],
  [WasmHeapError, 'unavailable'],
]

/** An error's kind: its own (a MultavError), its class's, or none (an error multav did not throw on purpose). */
export const kindOf = (e: unknown): ErrorKind | undefined => (isMultavError(e) ? e.kind : KIND_BY_CLASS.find(([c]) => e instanceof c)?.[1])

/** What the error report says, and the exit code. */
export interface Report {
  readonly lines: ReadonlyArray<string>
  readonly code: number
}

/** File-system failures in words, by errno code. */
const FS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a file is in the way (a part of the path is not a folder)',
  EEXIST: 'already exists',
  EISDIR: 'is a folder, not a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ELOOP: 'too many symbolic links (a link loop?)',
  ENAMETOOLONG: 'the name is too long',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
  EBUSY: 'busy',
  EIO: 'input/output error',
}

type Errno = Error & { readonly code: string; readonly syscall?: string; readonly path?: string; readonly dest?: string }

const isErrno = (e: unknown): e is Errno =>
  e instanceof Error && typeof (e as Errno).code === 'string' && /^E[A-Z]+$/.test((e as Errno).code)

/** `<path>: <reason> (<syscall>)`, e.g. `out/x: a file is in the way (a part of the path is not a folder) (mkdir)`. */
export const describeFsError = (e: Errno): string => {
  const reason = FS_REASONS[e.code] ?? e.code
  const where = e.path !== undefined ? `${e.path}: ` : ''
  return `${where}${reason}${e.syscall ? ` (${e.syscall})` : ''}`
}

/**
 * V8's RangeErrors for an allocation that does not fit (a --batch or clip too large for this machine's
 * memory): the user's to fix, not a bug. V8 gives them no code or class of their own, so this is the
 * one place where a message is matched.
 */
const isOutOfMemory = (e: unknown): boolean =>
  e instanceof RangeError && /Array buffer allocation failed|Invalid typed array length|Invalid array length|Array buffer allocation/.test(e.message)

/** Programming errors: never the user's input, so reported as internal errors. */
const isProgrammingError = (e: unknown): boolean =>
  !(e instanceof Error) || e instanceof TypeError || e instanceof ReferenceError || e instanceof RangeError || e instanceof SyntaxError

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** `multav: ` before a message (a list of problems, one a line, gets it once, on the first). */
const prefixed = (message: string): string[] => [`multav: ${message}`]

const DEBUG_HINT = 'run the same command with --debug (or MULTAV_DEBUG=1) for the stack trace'

const internal = (e: unknown, stack: ReadonlyArray<string>, debug: boolean): Report => ({
  lines: [`multav: internal error: ${messageOf(e)}`, ...(debug ? stack : [`multav: this is a bug in multav; please report it with the output of the same command run with --debug`])],
  code: INTERNAL_ERROR,
})

/**
 * The report for an error a command threw: by kind, bad input and an unavailable machine in one line
 * (exit 2) and an internal error as a bug to report (exit 70); file-system failures in one line (2);
 * V8's out-of-memory RangeError with advice (2); a programming error (TypeError, RangeError, …) as an
 * internal error (70); any other error (one multav did not classify) with a hint to rerun with --debug
 * (2). With `debug`, the stack follows.
 */
export const reportError = (e: unknown, debug: boolean): Report => {
  const stack = debug && e instanceof Error && e.stack !== undefined ? [e.stack] : []
  const kind = kindOf(e)
  if (kind === 'internal') return internal(e, stack, debug)
  if (kind !== undefined) return { lines: [...prefixed(messageOf(e)), ...stack], code: EXIT_CODES[kind] }
  if (isErrno(e)) return { lines: [`multav: ${describeFsError(e)}`, ...stack], code: 2 }
  if (isOutOfMemory(e)) return { lines: [`multav: out of memory (${messageOf(e)}); use a smaller --batch, fewer --workers or smaller clips`, ...stack], code: 2 }
  if (isProgrammingError(e)) return internal(e, stack, debug)
  return { lines: [...prefixed(messageOf(e)), ...(debug ? stack : [`multav: ${DEBUG_HINT}`])], code: 2 }
}

/**
 * An error from a library call, with `prefix` (`--model DIR: `) before its message and its kind kept;
 * a programming error or an internal one is passed on unchanged (a bug stays a bug).
 */
export const withContext = (prefix: string) => (e: unknown): never => {
  if (isProgrammingError(e) || kindOf(e) === 'internal' || isOutOfMemory(e)) throw e
  const message = `${prefix}${isErrno(e) ? describeFsError(e) : messageOf(e)}`
  throw kindOf(e) === 'unavailable' ? new UnavailableError(message) : new UsageError(message)
}

/** True when `--debug` or MULTAV_DEBUG=1 asks for stack traces. */
export const debugWanted = (flag: boolean, env: string | undefined = process.env['MULTAV_DEBUG']): boolean => flag || envFlag(env)

/**
 * Checks an output folder before any work starts: not empty, not a file, no file among its parents,
 * and the nearest existing parent writable. Creates nothing. `flag` names the option (`--out`).
 */
export const checkOutFolder = (dir: string, flag = '--out'): void => {
  if (dir.trim() === '') throw new UsageError(`${flag} must be a folder path, got ${JSON.stringify(dir)}`)
  for (let at = resolve(dir); ; at = dirname(at)) {
    const kind = pathKind(at)
    if (kind === 'missing') {
      if (dirname(at) === at) return
      continue
    }
    if (kind !== 'folder') throw new UsageError(`${flag} ${dir}: ${at === resolve(dir) ? 'is' : `${at} is`} a file, not a folder`)
    try {
      accessSync(at, constants.W_OK)
    } catch (e) {
      throw new UsageError(`${flag} ${dir}: cannot write in ${at} (${isErrno(e) ? (FS_REASONS[e.code] ?? e.code) : messageOf(e)})`)
    }
    return
  }
}

const pathKind = (path: string): 'missing' | 'folder' | 'other' => {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'other'
  } catch (e) {
    // ENOTDIR: a parent is a file, found further up
    if (isErrno(e) && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return 'missing'
    throw new UsageError(`${path}: ${isErrno(e) ? (FS_REASONS[e.code] ?? e.code) : messageOf(e)}`)
  }
}
