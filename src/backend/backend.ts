/**
 * Choosing the TensorFlow.js backend is the application's call: importing multav selects nothing.
 *
 * Preference for 'auto': 'tensorflow' (@tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node, when
 * installed; optional peer dependencies), then 'wasm' (SIMD; multi-threaded, see wasm-threads.ts),
 * then 'cpu'. 'webgl' and 'webgpu' are the browser's GPU backends (gpu.ts; in a browser use
 * `multav/browser`, whose 'auto' prefers them): asked for in Node, 'webgl' is reported unavailable
 * (no canvas) and 'webgpu' runs where a WebGPU binding has set `navigator.gpu` or the optional peer
 * `webgpu` (Dawn's Node binding) is installed, and finds an adapter (node-webgpu.ts).
 *
 * wasm threads: `threads` option, else `MULTAV_THREADS`, else the machine's cores (at most 4) on the
 * main thread and 1 inside a worker thread (a pool of workers already uses the cores).
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { availableParallelism } from 'node:os'
import { isMainThread } from 'node:worker_threads'
import { registerConv3dGradient } from './conv3d-gradient.js'
import { BackendUnavailableError, loadGpuBackend } from './gpu.js'
import { installNodeWebGpu } from './node-webgpu.js'
import { guardWasmHeap } from './wasm-heap.js'
import { patchWasmIdentity } from './wasm-identity.js'
import { patchWasmTile } from './wasm-tile.js'
import { registerThreadedWasm, WASM_MAX_THREADS, WASM_PRIORITY, type BackendFactory } from './wasm-threads.js'

export type BackendName = 'tensorflow' | 'wasm' | 'cpu' | 'webgl' | 'webgpu'
export type BackendChoice = 'auto' | BackendName

/** The choices the command line and MULTAV_BACKEND take in Node ('webgl' and 'webgpu' are for browsers). */
export const BACKEND_CHOICES: ReadonlyArray<BackendChoice> = ['auto', 'tensorflow', 'wasm', 'cpu']

export { BackendUnavailableError }

/** Registers a backend's kernels (dynamic imports, so a missing optional package is not an error here). */
const loaders: Record<BackendName, () => Promise<void>> = {
  tensorflow: async () => {
    if (tf.findBackendFactory('tensorflow')) return
    const errors: string[] = []
    for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await import(name)
        return
      } catch (e) {
        // a missing package is the usual case; any other failure (a broken native library) is told
        if (!['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes(String((e as NodeJS.ErrnoException).code))) errors.push(`${name}: ${(e as Error).message.split('\n')[0]}`)
      }
    }
    throw new BackendUnavailableError(
      `backend 'tensorflow' is not available (install @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node 4.22.0): ${errors.length === 0 ? 'neither is installed' : errors.join('; ')}`,
    )
  },
  wasm: async () => {
    await import('@tensorflow/tfjs-backend-wasm')
  },
  cpu: async () => {
    await import('@tensorflow/tfjs-backend-cpu')
  },
  webgl: () => loadGpuBackend('webgl'),
  webgpu: async () => {
    const binding = await installNodeWebGpu().catch((e: Error) => {
      throw new BackendUnavailableError(`backend 'webgpu' is not available: ${e.message}`)
    })
    try {
      await loadGpuBackend('webgpu')
    } catch (e) {
      const hint =
        binding === 'absent'
          ? ' (in Node: npm install webgpu@0.6.2, Dawn\'s binding, an optional peer dependency)'
          : binding === 'installed'
            ? " (Dawn's Node binding found no Vulkan, Metal or D3D12 device here)"
            : ''
      throw new BackendUnavailableError(`${(e as Error).message}${hint}`)
    }
  },
}

export interface BackendOptions {
  /** wasm only: threads for XNNPACK kernels, 1–8 (default: see the module comment). */
  readonly threads?: number
}

/** The most threads the default picks: XNNPACK's gains flatten beyond a few for one clip. */
const DEFAULT_MAX_THREADS = 4
const MAX_THREADS = WASM_MAX_THREADS

/** A thread count written as text (an environment variable, a flag): 1–8; `source` names it in the error. */
export const parseThreads = (text: string, source: string): number => {
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < 1 || value > MAX_THREADS) throw new Error(`${source} must be a whole number from 1 to ${MAX_THREADS}, got "${text}"`)
  return value
}

/** Threads for the wasm backend: the option, else MULTAV_THREADS, else the default for this thread. */
export const resolveThreads = (threads?: number, env: string | undefined = process.env['MULTAV_THREADS']): number => {
  if (threads !== undefined) {
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new Error(`threads must be a whole number from 1 to ${MAX_THREADS}, got ${threads}`)
    return threads
  }
  if (env !== undefined && env !== '') return parseThreads(env, 'MULTAV_THREADS')
  return isMainThread ? Math.min(availableParallelism(), DEFAULT_MAX_THREADS) : 1
}

/**
 * Registers and selects a backend; resolves to the name of the one in use.
 * 'auto' tries tensorflow → wasm → cpu and takes the first that initialises.
 * Honours `MULTAV_BACKEND` when `choice` is omitted. The wasm thread count is fixed by the first
 * initialisation of the wasm backend in this thread; later calls keep it.
 */
export const initBackend = async (choice?: BackendChoice, options: BackendOptions = {}): Promise<BackendName> => {
  const wanted = choice ?? parseChoice(process.env['MULTAV_BACKEND'])
  const threads = resolveThreads(options.threads)
  const order: ReadonlyArray<BackendName> = wanted === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [wanted]
  const failures: string[] = []
  for (const name of order) {
    try {
      await loaders[name]()
      if (name === 'wasm' && threads > 1 && !tf.findBackend('wasm') && (await selectThreadedWasm(threads))) {
        guardWasmHeap()
        registerConv3dGradient() // tfjs's own Conv3D gradient is wrong on wasm (conv3d-gradient.ts)
        patchWasmTile() // tfjs's own Tile walks the tensor one value at a time (wasm-tile.ts)
        patchWasmIdentity() // tfjs's own Identity copies what it could share (wasm-identity.ts)
        return name
      }
      if (await tf.setBackend(name)) {
        await tf.ready()
        if (name === 'wasm') {
          guardWasmHeap() // a full heap throws a WasmHeapError, not a crash
          registerConv3dGradient() // tfjs's own Conv3D gradient is wrong on wasm (conv3d-gradient.ts)
          patchWasmTile() // tfjs's own Tile walks the tensor one value at a time (wasm-tile.ts)
          patchWasmIdentity() // tfjs's own Identity copies what it could share (wasm-identity.ts)
        }
        return name
      }
      failures.push(`${name}: failed to initialise`)
    } catch (e) {
      failures.push((e as Error).message)
    }
  }
  // one backend asked for: its own reason, in one line; 'auto': every one tried
  if (order.length === 1) throw new BackendUnavailableError(`initBackend(${wanted}): ${failures[0]}`)
  throw new BackendUnavailableError(`initBackend(${wanted}): no backend could be initialised:\n  ${failures.join('\n  ')}`)
}

/** Tries the threaded wasm build; on failure warns and puts the stock (one-thread) factory back. */
const selectThreadedWasm = async (threads: number): Promise<boolean> => {
  let stock: BackendFactory | undefined
  let why = 'it failed to initialise'
  try {
    stock = await registerThreadedWasm(threads)
    if (await tf.setBackend('wasm')) {
      await tf.ready()
      return true
    }
  } catch (e) {
    why = (e as Error).message
  }
  process.emitWarning(`multav: wasm with ${threads} threads is unavailable (${why}); using one thread`)
  if (stock) {
    tf.removeBackend('wasm')
    tf.registerBackend('wasm', stock, WASM_PRIORITY)
  }
  return false
}

const parseChoice = (value: string | undefined): BackendChoice => {
  if (value === undefined || value === '') return 'auto'
  if ((BACKEND_CHOICES as ReadonlyArray<string>).includes(value)) return value as BackendChoice
  throw new Error(`MULTAV_BACKEND must be one of ${BACKEND_CHOICES.join(', ')}, got "${value}"`)
}
