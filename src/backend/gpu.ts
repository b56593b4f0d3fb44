/**
 * The browser GPU backends, WebGL and WebGPU (tfjs-backend-webgl / tfjs-backend-webgpu, the same
 * pinned version as tfjs-core), loaded on demand, with their rank-5 kernels wrapped (rank5.ts).
 * Runs anywhere: no Node built-in. Where a backend cannot start (Node has no WebGL context; WebGPU
 * needs `navigator.gpu` and an adapter) it says so with a BackendUnavailableError.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { patchRank5 } from './rank5.js'

export type GpuBackendName = 'webgpu' | 'webgl'

/** A backend that cannot start here (a package not installed, no adapter, no backend at all): the user's to fix. */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError'
}

interface GpuLike {
  requestAdapter(options?: unknown): Promise<unknown>
}
const navigatorGpu = (): GpuLike | undefined => (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu

/** True where a WebGL2 context can be asked for (a page with a document, or a worker with OffscreenCanvas). */
const hasCanvas = (): boolean =>
  typeof (globalThis as { document?: unknown }).document !== 'undefined' || typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined'

/** A renderer's or adapter's name that says the GPU is emulated on the CPU (Chromium's SwiftShader, Mesa's llvmpipe/softpipe, WARP). */
const SOFTWARE = /swiftshader|llvmpipe|softpipe|software|microsoft basic render|\bwarp\b/i

interface AdapterLike {
  readonly isFallbackAdapter?: boolean
  readonly info?: { readonly vendor?: string; readonly architecture?: string; readonly description?: string; readonly device?: string; readonly isFallbackAdapter?: boolean }
}
interface GlLike {
  getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null
  getParameter(p: number): unknown
  readonly RENDERER: number
}

/**
 * The renderer behind the backend in use when it is a software one (e.g. "SwiftShader"), else
 * undefined. WebGPU: the adapter's fallback flag or its info naming a software architecture; WebGL:
 * the unmasked renderer string. A software renderer computes right but is 30–70x slower than wasm
 * (docs/performance.md), so 'auto' passes it by.
 */
export const softwareRenderer = async (name: GpuBackendName): Promise<string | undefined> => {
  if (name === 'webgpu') {
    const adapter = (await navigatorGpu()?.requestAdapter().catch(() => null)) as AdapterLike | null | undefined
    if (!adapter) return undefined
    const info = adapter.info ?? {}
    const said = [info.vendor, info.architecture, info.description, info.device].filter((x) => typeof x === 'string' && x !== '').join(' ')
    if (adapter.isFallbackAdapter === true || info.isFallbackAdapter === true || SOFTWARE.test(said)) return said || 'a fallback adapter'
    return undefined
  }
  const gl = (tf.backend() as unknown as { gpgpu?: { gl?: GlLike } }).gpgpu?.gl
  if (!gl) return undefined
  const debug = gl.getExtension('WEBGL_debug_renderer_info')
  const renderer = String(gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '')
  return SOFTWARE.test(renderer) ? renderer : undefined
}

/** Registers `name`'s kernels (the rank-5 ones wrapped), or throws a BackendUnavailableError saying why it cannot run here. */
export const loadGpuBackend = async (name: GpuBackendName): Promise<void> => {
  if (name === 'webgl') {
    if (!hasCanvas())
      throw new BackendUnavailableError(
        "backend 'webgl' is not available: there is no canvas to get a WebGL context from here (Node has none); use it in a browser (the `multav/browser` entry)",
      )
    if (!tf.findBackendFactory('webgl')) await import('@tensorflow/tfjs-backend-webgl')
  } else {
    const gpu = navigatorGpu()
    if (gpu === undefined)
      throw new BackendUnavailableError(
        "backend 'webgpu' is not available: no navigator.gpu here (a browser with WebGPU enabled, on a secure origin such as http://localhost; in Node, a WebGPU binding that sets navigator.gpu)",
      )
    const adapter = await gpu.requestAdapter().catch(() => null)
    if (!adapter) throw new BackendUnavailableError("backend 'webgpu' is not available: navigator.gpu found no adapter")
    if (!tf.findBackendFactory('webgpu')) await import('@tensorflow/tfjs-backend-webgpu')
    if (!tf.findBackendFactory('webgpu')) throw new BackendUnavailableError("backend 'webgpu' is not available: tfjs-backend-webgpu did not register (it found no WebGPU support)")
  }
  patchRank5(name)
}
