/**
 * The library's error classes: kinds, names, and `instanceof` across separate copies of the module
 * (multav, multav/dsl and multav/testing are separate bundles, each with its own copy of the classes).
 */
import test from 'ava'
import { InputError, InternalError, MultavError, UnavailableError, isMultavError } from '../src/core/errors.js'
import { MissingFileError } from '../src/models/weights.js'

test('each class has its kind and name, and is an Error', (t) => {
  const cases = [
    [new InputError('bad spec'), 'input', 'InputError'],
    [new UnavailableError('no ffmpeg'), 'unavailable', 'UnavailableError'],
    [new InternalError('broken invariant'), 'internal', 'InternalError'],
    [new MissingFileError('gone'), 'input', 'MissingFileError'],
  ] as const
  for (const [e, kind, name] of cases) {
    t.is(e.kind, kind)
    t.is(e.name, name)
    t.true(e instanceof Error && e instanceof MultavError && isMultavError(e))
    t.is(String(e), `${name}: ${e.message}`)
  }
  t.true(new MissingFileError('gone') instanceof InputError)
  t.false(new InputError('x') instanceof MissingFileError)
  t.false(new InputError('x') instanceof UnavailableError)
  t.false(isMultavError(new Error('plain')))
  t.false(new Error('plain') instanceof InputError)
})

test('instanceof holds across two copies of the module, and only for the right class', async (t) => {
  // A query string makes the loader evaluate a second, separate copy of the module.
  const other = (await import(`../src/core/errors.js?copy=${Date.now()}`)) as typeof import('../src/core/errors.js')
  t.not(other.InputError, InputError)
  const foreign = new other.InputError('from the other copy')
  t.false(Function.prototype[Symbol.hasInstance].call(InputError, foreign))
  t.true(foreign instanceof InputError)
  t.true(foreign instanceof MultavError)
  t.false(foreign instanceof UnavailableError)
  t.false(foreign instanceof MissingFileError)
  t.true(new MissingFileError('gone') instanceof other.InputError)
  t.false(new InputError('x') instanceof other.UnavailableError)
  t.false({ kind: 'input', message: 'a look-alike' } instanceof InputError)
})
