/**
 * Multi-threaded wasm in Node. tfjs-backend-wasm 4.22.0 ships a threaded SIMD build (XNNPACK on a
 * pthreadpool) but never uses it in Node: its multithread flag is forced off there
 * (tensorflow/tfjs#3830), and its loader hands Emscripten `blob:` URLs, which Node's `Worker` refuses.
 * This registers the 'wasm' backend from that same build with file paths instead: the pthread worker's
 * source (shipped inside the package as a string) is written to a private temporary folder (mode
 * 0700, removed once the threads have started), and the worker loads the module's script from the
 * package itself. The build starts 8 pthread workers, hence at most 8 threads.
 *
 * The C side sizes its thread pool as min(requested, logical cores / 2) (it assumes two hardware
 * threads per core), so on a 2-vCPU machine it would never use a second thread; while the module
 * initialises, `os.cpus()` reports 2 × `threads` entries so that the request is honoured.
 *
 * Only XNNPACK kernels (conv2d, matMul, …) run on several threads; element-wise kernels stay on one.
 */
import * as tf from '@tensorflow/tfjs-core'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname, join } from 'node:path'

const WASM_PRIORITY = 2 // the stock registration's priority (above cpu, below tensorflow)
/** What `tf.registerBackend` takes. */
export type BackendFactory = NonNullable<ReturnType<typeof tf.findBackendFactory>>

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: ReadonlyArray<string>): (...a: number[]) => number
  tfjs?: unknown
  PThread: { runningWorkers: ReadonlyArray<{ unref(): void }>; unusedWorkers: ReadonlyArray<{ unref(): void }> }
}
type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>
interface WasmPackage {
  BackendWasm: new (module: EmscriptenModule) => tf.KernelBackend
  setThreadsCount(n: number): void
  getThreadsCount(): number
}

const requireHere = createRequire(typeof import.meta?.url === 'string' ? import.meta.url : __filename)

/** The threaded build's files inside the installed package. */
const threadedBuild = () => {
  const script = requireHere.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js')
  const dir = dirname(script)
  return {
    script,
    binary: join(dir, 'tfjs-backend-wasm-threaded-simd.wasm'),
    factory: requireHere(script) as Factory,
    workerSource: (requireHere(join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string }).wasmWorkerContents,
  }
}

/** Threads the build can start without spawning workers mid-initialisation (its PTHREAD_POOL_SIZE). */
export const WASM_MAX_THREADS = 8

/**
 * Writes the pthread worker's source into a fresh private folder; returns the file and a cleanup.
 * (A fixed name under the shared temp folder could be planted by another user of the machine.)
 */
const workerFile = async (source: string): Promise<{ file: string; remove: () => Promise<void> }> => {
  const dir = await mkdtemp(join(os.tmpdir(), 'multav-wasm-'))
  const file = join(dir, 'pthread-worker.cjs')
  // the package escapes newlines the same way before making its Blob: the source holds "\n" escapes
  // inside string literals that must stay escapes in the file
  await writeFile(file, source.replace(/\n/g, '\\n'), { mode: 0o600 })
  return { file, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** Runs `f` while `os.cpus()` reports at least `count` entries. */
const withLogicalCores = async <A>(count: number, f: () => Promise<A>): Promise<A> => {
  const real = os.cpus
  const cpus = real()
  if (cpus.length >= count || cpus.length === 0) return f()
  os.cpus = () => Array.from({ length: count }, (_, i) => cpus[i % cpus.length]!)
  try {
    return await f()
  } finally {
    os.cpus = real
  }
}

/**
 * Replaces the registered 'wasm' backend factory by one that loads the threaded build with `threads`
 * threads. Call before the wasm backend is first initialised. Returns the stock factory, so a caller
 * can put it back if the threaded one fails to initialise.
 */
export const registerThreadedWasm = async (threads: number): Promise<BackendFactory | undefined> => {
  const wasm = requireHere('@tensorflow/tfjs-backend-wasm') as WasmPackage
  if (!Number.isInteger(threads) || threads < 2 || threads > WASM_MAX_THREADS)
    throw new Error(`registerThreadedWasm: threads must be a whole number from 2 to ${WASM_MAX_THREADS}, got ${threads}`)
  const build = threadedBuild()
  const stock = tf.findBackendFactory('wasm') ?? undefined
  tf.removeBackend('wasm')
  tf.registerBackend(
    'wasm',
    () =>
      withLogicalCores(2 * threads, async () => {
        const worker = await workerFile(build.workerSource)
        // resolves once every pthread worker has loaded its script: the file can go afterwards
        const module = await build
          .factory({
            locateFile: (file: string) => (file.endsWith('.worker.js') ? worker.file : file.endsWith('.wasm') ? build.binary : join(dirname(build.script), file)),
            mainScriptUrlOrBlob: build.script,
          })
          .finally(worker.remove)
        // the bridge tfjs-backend-wasm's own init() installs (dist/backend_wasm.js)
        module.tfjs = {
          init: module.cwrap('init', null, []),
          initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
          getThreadsCount: module.cwrap('get_threads_count', 'number', []),
          registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
          disposeData: module.cwrap('dispose_data', null, ['number']),
          dispose: module.cwrap('dispose', null, []),
        }
        wasm.setThreadsCount(threads)
        const backend = new wasm.BackendWasm(module)
        // the pool's threads wait for work forever; unreferenced, they do not keep Node from exiting
        for (const w of [...module.PThread.runningWorkers, ...module.PThread.unusedWorkers]) w.unref()
        return backend
      }),
    WASM_PRIORITY,
  )
  return stock
}

/** Threads the initialised wasm backend runs XNNPACK kernels on (1 for the stock Node build). */
export const wasmThreads = (): number => {
  const wasm = requireHere('@tensorflow/tfjs-backend-wasm') as WasmPackage
  return tf.findBackend('wasm') ? Math.max(1, wasm.getThreadsCount()) : 1
}

export { WASM_PRIORITY }
