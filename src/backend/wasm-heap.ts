/**
 * The wasm heap's limit, made an error instead of a crash.
 *
 * The wasm backend's heap is wasm32 memory: 4 GiB at most, and it never shrinks. When an allocation
 * does not fit, tfjs-backend-wasm 4.22.0's `malloc` returns 0 and the backend writes the tensor at
 * address 0: on one thread that corrupts the heap ("memory access out of bounds", then an abort that
 * kills the process); on several threads the process hangs. Kernels' own scratch allocations inside
 * the C code abort the process outright when they do not fit. `guardWasmHeap` wraps the backend's
 * `malloc` so that a tensor that would leave less than WASM_HEAP_RESERVE_BYTES of the 4 GiB for that
 * scratch (or that malloc cannot place) throws a `WasmHeapError` before anything is written: the op
 * fails, `tf.tidy` releases its intermediates, and the backend stays usable.
 */
import * as tf from '@tensorflow/tfjs-core'

const GiB = 2 ** 30
/** wasm32: 65536 pages of 64 KiB, less the one page Emscripten keeps back. */
export const WASM_HEAP_MAX_BYTES = 4 * GiB - 64 * 1024
/** Kept free for kernels' scratch memory and the allocator's fragmentation. */
export const WASM_HEAP_RESERVE_BYTES = 256 * 2 ** 20

export class WasmHeapError extends Error {
  constructor(
    readonly requestedBytes: number,
    readonly heapBytes: number,
    readonly tensorBytes: number,
  ) {
    super(
      `wasm heap exhausted: could not allocate ${gib(requestedBytes)} for a tensor; the heap is ${gib(heapBytes)} ` +
        `of at most ${gib(WASM_HEAP_MAX_BYTES)} (${gib(WASM_HEAP_RESERVE_BYTES)} kept for kernels) and live tensors hold ${gib(tensorBytes)}. ` +
        'Use a smaller batch or clip (an attack on a 3D ResNet-18 takes about 1.5 GiB at 1x16x112x112x3 and 3.3 GiB at 3x16x112x112x3), ' +
        'fewer wasm threads, or the tensorflow backend (@tensorflow/tfjs-node-gpu).',
    )
    this.name = 'WasmHeapError'
  }
}

const gib = (bytes: number): string => (bytes < GiB / 4 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / GiB).toFixed(2)} GiB`)

interface WasmModule {
  _malloc: (bytes: number) => number
  /** The instance's exports; Emscripten's `_malloc` is a stub that replaces itself by asm.malloc. */
  asm?: { malloc?: (bytes: number) => number }
  HEAPU8: Uint8Array
  wasmMemory?: { buffer: ArrayBufferLike }
  multavGuarded?: true
}

const wasmModule = (): WasmModule | undefined => {
  const backend = tf.findBackend('wasm') as unknown as { wasm?: WasmModule } | null
  return backend?.wasm
}

/** Bytes of the wasm backend's heap now (0 when the wasm backend is not initialised). */
export const wasmHeapBytes = (): number => {
  const m = wasmModule()
  return m ? (m.wasmMemory?.buffer.byteLength ?? m.HEAPU8.buffer.byteLength) : 0
}

/** Makes a failed wasm allocation throw a WasmHeapError (idempotent; no-op without the wasm backend). */
export const guardWasmHeap = (): void => {
  const m = wasmModule()
  if (!m || m.multavGuarded) return
  const malloc = m.asm?.malloc ?? m._malloc.bind(m)
  m._malloc = (bytes: number): number => {
    const live = tf.memory().numBytes
    if (live + bytes > WASM_HEAP_MAX_BYTES - WASM_HEAP_RESERVE_BYTES) throw new WasmHeapError(bytes, wasmHeapBytes(), live)
    const at = malloc(bytes)
    if (at === 0 && bytes > 0) throw new WasmHeapError(bytes, wasmHeapBytes(), live)
    return at
  }
  m.multavGuarded = true
}
