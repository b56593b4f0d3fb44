/**
 * The wasm heap's 4 GiB limit gives a WasmHeapError before anything is written (not a corrupted heap,
 * an abort or a hang), and the backend stays usable after it. Fills the heap to ~3.5 GiB (this test
 * file's own process; the heap is released when it exits).
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '../src/backend/backend.js'
import { WasmHeapError, wasmHeapBytes, WASM_HEAP_MAX_BYTES } from '../src/backend/wasm-heap.js'

test('a tensor that does not fit the wasm heap is a WasmHeapError, and the backend goes on working', async (t) => {
  await initBackend('wasm')
  const before = tf.memory().numTensors
  const kept: tf.Tensor[] = []
  let error: unknown
  try {
    // 1.25 GiB each: the third would leave less than the reserve (or not fit at all)
    for (let i = 0; i < 4 && error === undefined; i++) {
      try {
        kept.push(tf.tidy(() => tf.fill([320, 1024, 1024], i + 1)))
      } catch (e) {
        error = e
      }
    }
    t.true(error instanceof WasmHeapError, String(error))
    t.is(kept.length, 2)
    t.regex((error as Error).message, /^wasm heap exhausted: could not allocate 1\.25 GiB for a tensor; the heap is .* GiB of at most 4\.00 GiB/)
    t.regex((error as Error).message, /smaller batch or clip/)
    t.true(wasmHeapBytes() <= WASM_HEAP_MAX_BYTES)
    // what was made before the error is intact
    const max = tf.max(kept[1]!)
    t.is((await max.data())[0], 2)
    max.dispose()
  } finally {
    tf.dispose(kept)
  }
  t.is(tf.memory().numTensors, before)
  // the backend still computes, including a large tensor again
  const sum = tf.tidy(() => tf.sum(tf.fill([1000], 0.5)))
  t.is((await sum.data())[0], 500)
  sum.dispose()
  t.is(tf.memory().numTensors, before)
})
