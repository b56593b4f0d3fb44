/**
 * multav: adversarial attacks on video recognition models as typed, composable values.
 *
 * Importing this module selects no TensorFlow.js backend: call `initBackend()` first.
 *
 * Everything `multav/dsl` exports (the algebra, codecs, `explain`, `certify`; src/dsl.ts) is here too.
 * `pipe` (fp-ts) and `tf` (the TensorFlow.js core multav runs on) are re-exported, so a project that
 * installs only multav can compose attacks and make tensors — with the one tfjs-core copy multav uses.
 */
// multav/dsl, tf, runAttack, project, runReference (src/runtime.ts)
export * from './runtime.js'
export { initBackend, BACKEND_CHOICES } from './backend/backend.js'
export type { BackendChoice, BackendName, BackendOptions } from './backend/backend.js'
export { wasmThreads } from './backend/wasm-threads.js'
export { WasmHeapError, wasmHeapBytes, WASM_HEAP_MAX_BYTES } from './backend/wasm-heap.js'
export * as models from './models/index.js'
export * as data from './data/index.js'
export * as ops from './ops/index.js'
export * as evaluation from './eval/index.js'
