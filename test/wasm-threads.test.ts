/** Multi-threaded wasm: the thread count's sources and checks, and that threads change no result. */
import test from 'ava'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { resolveThreads } from '../src/backend/backend.js'

const run = promisify(execFile)

test('resolveThreads: the option, then MULTAV_THREADS, then the default; bad values are named', (t) => {
  t.is(resolveThreads(3, '2'), 3)
  t.is(resolveThreads(undefined, '2'), 2)
  const byDefault = resolveThreads(undefined, undefined)
  t.true(byDefault >= 1 && byDefault <= 4)
  t.is(resolveThreads(undefined, ''), byDefault)
  t.throws(() => resolveThreads(0), { message: 'threads must be a whole number from 1 to 8, got 0' })
  t.throws(() => resolveThreads(1.5), { message: 'threads must be a whole number from 1 to 8, got 1.5' })
  t.throws(() => resolveThreads(undefined, 'many'), { message: 'MULTAV_THREADS must be a whole number from 1 to 8, got "many"' })
  t.throws(() => resolveThreads(undefined, '9'), { message: 'MULTAV_THREADS must be a whole number from 1 to 8, got "9"' })
})

const probe = async (threads: number) => {
  // a fresh process per thread count (fixed at the backend's first initialisation); the timeout
  // also checks that the pool's idle threads do not keep the process alive
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/fixtures/threads-probe.ts'], {
    env: { ...process.env, MULTAV_THREADS: String(threads) },
    timeout: 60_000,
  })
  return JSON.parse(stdout) as { backend: string; threads: number; dx: number[] }
}

test('wasm on 2 threads runs 2 threads, exits by itself, and gives the same conv3d gradient as 1 thread', async (t) => {
  const [one, two] = await Promise.all([probe(1), probe(2)])
  t.is(one.backend, 'wasm')
  t.is(one.threads, 1)
  t.is(two.backend, 'wasm')
  t.is(two.threads, 2)
  t.is(two.dx.length, 4 * 12 * 12 * 8)
  t.true(one.dx.some((v) => v !== 0))
  // XNNPACK splits the output into tiles; each value is computed by the same code either way
  t.deepEqual(two.dx, one.dx)
})
