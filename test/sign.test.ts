/**
 * ops.sign (src/ops/sign.ts): exactly ±1 for every non-zero float32, down to the smallest denormal,
 * 0 at ±0, and NaN at NaN (a NaN gradient is not hidden as "no step"), on cpu and wasm (wasm's tf.sign returns 0 for |v| < 1.19e-7). Both backends
 * are used in one process, so the tests are serial.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '../src/backend/backend.js'
import { sign } from '../src/ops/sign.js'

/** 1.4e-45 is float32's smallest denormal (2⁻¹⁴⁹); 1.19e-7 is float32's machine epsilon. */
const values = [1e-7, -1e-7, 1.19e-7, 1e-30, -1e-30, 1.4e-45, -1.4e-45, 1, -1, 3.4e38, -3.4e38, Infinity, -Infinity, 0, -0, Number.NaN]
const expected = [1, -1, 1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 0, 0, Number.NaN]

for (const backend of ['cpu', 'wasm'] as const)
  test.serial(`${backend}: ops.sign is exactly ±1 for non-zero values (denormals included), 0 at ±0, NaN at NaN`, async (t) => {
    await initBackend(backend)
    t.is(tf.getBackend(), backend)
    const before = tf.memory().numTensors
    const s = tf.tidy(() => sign(tf.tensor2d(values, [2, 8])))
    t.is(s.dtype, 'float32')
    t.deepEqual(s.shape, [2, 8])
    t.deepEqual(Array.from(await s.data()), expected)
    s.dispose()
    t.is(tf.memory().numTensors, before, 'no tensor left behind')
  })
