/**
 * Starting a TensorFlow.js backend in a browser (the `multav/browser` entry's `initBackend`).
 *
 * 'auto' tries webgpu → webgl → wasm → cpu and takes the first that initialises, passing by a GPU
 * backend that runs on a software renderer (SwiftShader on a machine without a GPU: 30–70x slower
 * than wasm; asked for by name it is used all the same). WebGPU needs a
 * browser with WebGPU on a secure origin (https, or http://localhost); WebGL2 is in every current
 * browser. The GPU backends' rank-5 kernels are wrapped on load (rank5.ts, docs/browser.md). wasm
 * runs one thread here (no worker pools in the browser build); its .wasm files are fetched from
 * `wasmPaths` (a URL prefix ending in '/') when given, else beside the page's script.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { BackendUnavailableError, loadGpuBackend, softwareRenderer } from './gpu.js'
import { patchWasmIdentity } from './wasm-identity.js'
import { patchWasmTile } from './wasm-tile.js'

export type BrowserBackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu'
export type BrowserBackendChoice = 'auto' | BrowserBackendName

export const BROWSER_BACKEND_CHOICES: ReadonlyArray<BrowserBackendChoice> = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu']

export interface BrowserBackendOptions {
  /** wasm only: where its .wasm files are served (a URL prefix ending in '/'). */
  readonly wasmPaths?: string
}

const load = async (name: BrowserBackendName, options: BrowserBackendOptions): Promise<void> => {
  if (name === 'webgpu' || name === 'webgl') return loadGpuBackend(name)
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm')
    if (options.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths)
    patchWasmTile() // tfjs's own Tile walks the tensor one value at a time (wasm-tile.ts)
    patchWasmIdentity() // tfjs's own Identity copies what it could share (wasm-identity.ts)
    return
  }
  await import('@tensorflow/tfjs-backend-cpu')
}

/**
 * Registers and selects a backend; resolves to the name of the one in use. A backend asked for by
 * name that cannot start rejects with a BackendUnavailableError saying why; 'auto' rejects only when
 * none can, listing each one's reason.
 *
 * @example
 * import { initBackend } from 'multav/browser'
 * const backend = await initBackend() // 'webgpu' where the browser has it, else 'webgl', …
 */
export const initBackend = async (choice: BrowserBackendChoice = 'auto', options: BrowserBackendOptions = {}): Promise<BrowserBackendName> => {
  if (!BROWSER_BACKEND_CHOICES.includes(choice))
    throw new BackendUnavailableError(`initBackend: the backend must be one of ${BROWSER_BACKEND_CHOICES.join(', ')} in a browser, got ${JSON.stringify(choice)}`)
  const order: ReadonlyArray<BrowserBackendName> = choice === 'auto' ? ['webgpu', 'webgl', 'wasm', 'cpu'] : [choice]
  const failures: string[] = []
  for (const name of order) {
    try {
      await load(name, options)
      if (await tf.setBackend(name)) {
        await tf.ready()
        const software = choice === 'auto' && (name === 'webgpu' || name === 'webgl') ? await softwareRenderer(name) : undefined
        if (software === undefined) return name
        failures.push(`${name}: runs on a software renderer (${software}), slower than wasm; ask for '${name}' by name to use it`)
        continue
      }
      failures.push(`${name}: failed to initialise`)
    } catch (e) {
      failures.push((e as Error).message)
    }
  }
  if (order.length === 1) throw new BackendUnavailableError(`initBackend(${choice}): ${failures[0]}`)
  throw new BackendUnavailableError(`initBackend(${choice}): no backend could be initialised:\n  ${failures.join('\n  ')}`)
}
