/**
 * The library's errors as data: each is a tagged class whose `kind` says whose problem it is, so
 * callers (the CLI among them) decide by kind, never by reading message text.
 *
 * - `input`: something the caller passed is wrong (a spec, a shape, a range, a label, a file);
 * - `unavailable`: the machine cannot do what was asked (a backend, memory, a tool like ffmpeg);
 * - `internal`: a bug in multav.
 *
 * @since 0.2.0
 */

export type ErrorKind = 'input' | 'unavailable' | 'internal'

/** The base of every error multav throws on purpose. */
export abstract class MultavError extends Error {
  abstract readonly kind: ErrorKind
}

/** Bad input: what was wrong, where, what was expected, in `message`; `issues` when there are several. */
export class InputError extends MultavError {
  override readonly name = 'InputError'
  readonly kind = 'input' as const
  constructor(
    message: string,
    readonly issues: ReadonlyArray<string> = [message],
  ) {
    super(message)
  }
}

/** The machine cannot do it (no such backend, out of memory, a missing tool). */
export class UnavailableError extends MultavError {
  override readonly name = 'UnavailableError'
  readonly kind = 'unavailable' as const
}

/** A broken invariant inside multav: a bug to report. */
export class InternalError extends MultavError {
  override readonly name = 'InternalError'
  readonly kind = 'internal' as const
}

export const isMultavError = (e: unknown): e is MultavError => e instanceof MultavError
