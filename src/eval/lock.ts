/**
 * An exclusive lock on a run folder: `lock.json` holding the owner's pid, host and start time, so two
 * runs (`eval --resume` twice, `merge --out`) never append to one folder.
 *
 * A few lines of our own rather than proper-lockfile: the lock is taken once per run, not contended,
 * so we need no retries or mtime heartbeats (proper-lockfile's staleness is by mtime, which a long run
 * would have to keep refreshing); what we do need — naming the owner in the message, and telling a
 * dead pid on this host from a lock held on another host — is easiest with the owner in the file.
 * The file is written to a private name and hard-linked into place, which fails if a lock exists and
 * never leaves a half-written lock behind.
 *
 * @since 0.1.0
 */
import { link, readFile, unlink, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'

/**
 * A problem with a run folder, its plan or merge's inputs that the user can fix (a folder in use or
 * holding another run, a torn or foreign rows file, missing or duplicated rows, a reserved attack
 * name): the CLI reports its one-line message as a usage error.
 */
export class RunFolderError extends Error {
  readonly _tag = 'RunFolderError'
  override readonly name = 'RunFolderError'
}

export const LOCK = 'lock.json'

export interface LockOwner {
  readonly pid: number
  readonly host: string
  /** ISO time the lock was taken. */
  readonly started: string
}

export interface Lock {
  readonly file: string
  /** Removes the lock if it is still ours. */
  readonly release: () => Promise<void>
}

/** The lock's owner, or undefined when the folder is not locked (an unreadable lock file is named). */
export const readLock = async (dir: string): Promise<LockOwner | undefined> => {
  const file = join(dir, LOCK)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new RunFolderError(`${file}: cannot read the lock (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
  }
  try {
    const o = JSON.parse(text) as LockOwner
    if (Number.isInteger(o.pid) && typeof o.host === 'string' && typeof o.started === 'string') return o
  } catch {
    // named below
  }
  throw new RunFolderError(`${file}: not a multav lock (expected {"pid", "host", "started"}); delete it if no multav run is using ${dir}`)
}

/**
 * The lock texts this process has placed or is placing. A lock naming our own pid whose text is not
 * one of these was left by an earlier process that had our pid (pid 1 in a restarted container).
 */
const ours = new Set<string>()

/** True when the owner is a process that no longer runs on this host (its lock can be taken over). */
export const isStale = (o: LockOwner, text?: string): boolean => {
  if (o.host !== hostname()) return false
  if (o.pid === process.pid) return text !== undefined && !ours.has(text)
  try {
    process.kill(o.pid, 0)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH' // EPERM: alive, another user's
  }
}

/** Why `dir` cannot be used while `o` holds it, as one line. */
export const lockedMessage = (dir: string, o: LockOwner): string =>
  o.host === hostname()
    ? `${dir}: in use by another multav run (pid ${o.pid}, since ${o.started}); wait for it to finish or choose another --out`
    : `${dir}: locked by pid ${o.pid} on host ${o.host} since ${o.started}; if no multav run there is using it, delete ${join(dir, LOCK)}`

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Removes a stale lock, but only the one that was judged stale: under an exclusive guard file, the lock
 * is unlinked only if it still holds `staleText`. Without the guard two runs that both saw the dead
 * owner could each remove the other's fresh lock and both go on. A guard left by a run killed in these
 * few lines is removed when its pid no longer runs.
 */
const removeStale = async (file: string, staleText: string): Promise<void> => {
  const guard = `${file}.takeover`
  try {
    await writeFile(guard, `${process.pid}\n`, { flag: 'wx' })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new RunFolderError(`${guard}: cannot create (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
    const pid = Number((await readFile(guard, 'utf8').catch(() => '')).trim())
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isStale({ pid, host: hostname(), started: '' })) await unlink(guard).catch(() => undefined)
    return // another run is taking over right now: the caller looks again
  }
  try {
    if ((await readFile(file, 'utf8').catch(() => undefined)) === staleText) await unlink(file).catch(() => undefined)
  } finally {
    await unlink(guard).catch(() => undefined)
  }
}

/** Takes the lock on `dir` (which must exist), taking over a stale one; throws RunFolderError if held. */
export const acquireLock = async (dir: string): Promise<Lock> => {
  const file = join(dir, LOCK)
  const me: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString() }
  // the token tells apart two locks taken by one process in the same millisecond
  const text = `${JSON.stringify({ ...me, token: Math.random().toString(36).slice(2) })}\n`
  ours.add(text)
  const own = join(dir, `.${LOCK}.${me.pid}.${Math.random().toString(36).slice(2)}`)
  await writeFile(own, text).catch((e: NodeJS.ErrnoException) => {
    throw new RunFolderError(`${dir}: cannot write the lock there (${e.code ?? e.message})`)
  })
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await place(own, file, text)
        break
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new RunFolderError(`${file}: cannot create the lock (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
      }
      if (attempt >= 20) throw new RunFolderError(`${file}: the lock keeps changing; is another multav run starting on ${dir}?`)
      const staleText = await readFile(file, 'utf8').catch(() => undefined)
      const owner = await readLock(dir)
      if (owner === undefined || staleText === undefined) continue // released meanwhile
      if (!isStale(owner, staleText)) {
        ours.delete(text)
        throw new RunFolderError(lockedMessage(dir, owner))
      }
      await removeStale(file, staleText) // a killed run's lock
      await sleep(5 + 10 * Math.random())
    }
  } catch (e) {
    ours.delete(text)
    throw e
  } finally {
    await unlink(own).catch(() => undefined)
  }
  return {
    file,
    release: async () => {
      const current = await readFile(file, 'utf8').catch(() => undefined)
      if (current === text) await unlink(file).catch(() => undefined)
      ours.delete(text)
    },
  }
}

/** Links the private file into place (fails if a lock exists); where hard links are not supported, an exclusive create. */
const place = async (own: string, file: string, text: string): Promise<void> => {
  try {
    await link(own, file)
  } catch (e) {
    if (!['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e
    await writeFile(file, text, { flag: 'wx' })
  }
}

/** Runs `f` holding the lock on `dir`. */
export const withLock = async <A>(dir: string, f: () => Promise<A>): Promise<A> => {
  const lock = await acquireLock(dir)
  try {
    return await f()
  } finally {
    await lock.release()
  }
}
