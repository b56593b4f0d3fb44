/**
 * Writing a model folder as one step: its files go into a fresh folder beside the destination
 * (`.<name>.tmp-<pid>-<random>`), which is checked and then renamed into place, so the destination
 * either does not exist or holds a complete folder. An existing non-empty destination is refused
 * (never merged into or overwritten); an empty folder is replaced.
 *
 * @since 0.3.0
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { InputError } from '../../core/errors.js'
import { reasonOf } from '../weights.js'

/** Refuses a destination that exists and is not an empty folder (before any work). */
export const checkDestination = async (out: string): Promise<void> => {
  if (out.trim() === '') throw new InputError(`the model folder's path is empty`)
  const s = await stat(out).catch((e: unknown) => {
    if (reasonOf(e) === 'ENOENT') return undefined
    throw new InputError(`${out}: cannot use it as the model folder (${reasonOf(e)})`)
  })
  if (s === undefined) return
  if (!s.isDirectory()) throw new InputError(`${out}: exists and is not a folder; choose a new folder for the model`)
  if ((await readdir(out)).length > 0) throw new InputError(`${out}: exists and is not empty; choose a new folder for the model (multav never writes into an existing one)`)
}

/**
 * Makes the folder `out`: `fill(tmp)` writes the files into a temporary folder beside it and
 * `check(tmp)` (e.g. loading the model) must pass before the rename; on any failure the temporary
 * folder is removed and `out` is left as it was.
 */
export const writeFolderAtomically = async <A>(out: string, fill: (tmp: string) => Promise<void>, check: (tmp: string) => Promise<A>): Promise<A> => {
  await checkDestination(out)
  const target = resolve(out)
  await mkdir(dirname(target), { recursive: true }).catch((e: unknown) => {
    throw new InputError(`${out}: cannot make its parent folder (${reasonOf(e)})`)
  })
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  await mkdir(tmp).catch((e: unknown) => {
    throw new InputError(`${out}: cannot write beside it (${reasonOf(e)})`)
  })
  try {
    await fill(tmp)
    const checked = await check(tmp)
    // an empty folder at `out` (allowed) is replaced; a non-empty one made meanwhile makes rename fail
    await rmdir(target).catch(() => undefined)
    await rename(tmp, target).catch((e: unknown) => {
      throw new InputError(`${out}: cannot move the finished folder into place (${reasonOf(e) === 'ENOTEMPTY' || reasonOf(e) === 'EEXIST' ? 'it was filled by something else meanwhile' : reasonOf(e)})`)
    })
    return checked
  } catch (e) {
    await rm(tmp, { recursive: true, force: true })
    throw e
  }
}
