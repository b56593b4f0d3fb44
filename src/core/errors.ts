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

/**
 * A process-wide mark (`Symbol.for`), so that `instanceof` works across multav's entries: `multav`,
 * `multav/dsl` and `multav/testing` are separate bundles, each with its own copy of these classes.
 */
const BRAND = Symbol.for('multav.error.classes')

/** The `brand`s of the class chain of `ctor` that declare one. */
const brandsOf = (ctor: unknown): ReadonlyArray<string> => {
  const out: string[] = []
  for (let c = ctor; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c))
    if (Object.hasOwn(c, 'brand')) out.push((c as unknown as { readonly brand: string }).brand)
  return out
}

/** The base of every error multav throws on purpose. */
export abstract class MultavError extends Error {
  static readonly brand: string = 'MultavError'
  abstract readonly kind: ErrorKind
  readonly [BRAND]: ReadonlyArray<string> = brandsOf(this.constructor)

  /** True for an instance of this class from any copy of multav loaded in the process. */
  static override [Symbol.hasInstance](v: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, v)) return true
    if (!Object.hasOwn(this, 'brand') || typeof v !== 'object' || v === null) return false
    const brands = (v as { readonly [BRAND]?: unknown })[BRAND]
    return Array.isArray(brands) && brands.includes((this as unknown as { readonly brand: string }).brand)
  }
}

/** Bad input: what was wrong, where, what was expected, in `message`; `issues` when there are several. */
export class InputError extends MultavError {
  static override readonly brand: string = 'InputError'
  override readonly name: string = 'InputError'
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
  static override readonly brand: string = 'UnavailableError'
  override readonly name: string = 'UnavailableError'
  readonly kind = 'unavailable' as const
}

/** A broken invariant inside multav: a bug to report. */
export class InternalError extends MultavError {
  static override readonly brand: string = 'InternalError'
  override readonly name: string = 'InternalError'
  readonly kind = 'internal' as const
}

export const isMultavError = (e: unknown): e is MultavError => e instanceof MultavError

