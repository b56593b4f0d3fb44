/**
 * Resolving an attack reference from the command line: a built-in name or a JSON spec file.
 */
import { readFile } from 'node:fs/promises'
import * as E from 'fp-ts/lib/Either.js'
import * as attacks from '../dsl/attacks.js'
import { parseAttackJson } from '../dsl/codec.js'
import type { Attack } from '../dsl/types.js'

/** The paper's ten attacks by their CLI names, with their defaults. */
export const BUILT_IN = attacks.BUILT_IN

/** A built-in name, or a path to a JSON spec; Left holds one message per problem. */
export const loadAttack = async (ref: string): Promise<E.Either<ReadonlyArray<string>, Attack>> => {
  const builtIn = BUILT_IN[ref]
  if (builtIn) return E.right(builtIn())
  let text: string
  try {
    text = await readFile(ref, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return E.left([
      code === 'ENOENT'
        ? `${ref}: no such file, and not a built-in attack (${Object.keys(BUILT_IN).join(', ')})`
        : `${ref}: cannot read (${code ?? (e as Error).message})`,
    ])
  }
  return E.mapLeft((problems: ReadonlyArray<string>) => problems.map((p) => `${ref}: ${p}`))(parseAttackJson(text))
}
