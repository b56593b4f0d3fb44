/**
 * multav/browser: the library for browsers — no Node built-in, nothing that reads files, spawns
 * ffmpeg or starts worker threads. Bundlers that honour the `browser` export condition (esbuild with
 * `platform: 'browser'`, Vite, webpack) pick it for `import … from 'multav'` too.
 *
 * Here: the attack algebra, codecs, `explain` and `certify`/`verify` (all of multav/dsl); the tensor
 * interpreter (`runAttack`, `project`) and the reference interpreter; `initBackend` for browsers
 * ('auto': webgpu → webgl → wasm → cpu, passing by a software renderer; the GPU backends' rank-5 kernels wrapped: docs/browser.md);
 * the models defined in code (`models.r3d18`, `models.tinyMlp`), the shipped model and trained
 * folders fetched by URL (`models.pretrained('default')`, `models.loadModel(url)`), the synthetic
 * benchmark (`data.benchmark`), `ops`, and `tf` (the one tfjs-core multav runs on). Not here: weight
 * files on disk, frame folders and videos, the evaluation and its worker pools, wasm threads.
 *
 * @example
 * import { attacks, data, initBackend, models, runAttack, tf } from 'multav/browser'
 * await initBackend() // 'webgpu', 'webgl', 'wasm' or 'cpu'
 * const net = models.r3d18({ layout: 'torchvision', classes: 6, widths: [8, 8, 8, 8] })
 * const bench = data.benchmark({ split: 'test', count: 6, T: 4, H: 16, W: 16 })
 *
 * @since 0.3.0
 */
// multav/dsl, tf, runAttack, project, runReference (src/runtime.ts)
export * from './runtime.js'
export { initBackend, BROWSER_BACKEND_CHOICES } from './backend/browser.js'
export type { BrowserBackendChoice, BrowserBackendName, BrowserBackendOptions } from './backend/browser.js'
export { BackendUnavailableError, softwareRenderer } from './backend/gpu.js'
export { patchRank5, patchedKernels } from './backend/rank5.js'
export * as models from './browser/models.js'
export * as data from './browser/data.js'
export * as ops from './ops/index.js'
