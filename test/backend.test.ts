/** Backend selection: explicit choices, the environment variable, and clear errors. */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '../src/backend/backend.js'

test.serial('importing multav selects no backend; initBackend selects the one asked for', async (t) => {
  await import('../src/index.js')
  t.deepEqual(Object.keys(tf.engine().registryFactory), [])
  t.is(await initBackend('cpu'), 'cpu')
  t.is(tf.getBackend(), 'cpu')
  t.is(await initBackend('wasm'), 'wasm')
  t.is(tf.getBackend(), 'wasm')
})

test.serial('MULTAV_BACKEND chooses when no argument is given, and a bad value is named', async (t) => {
  process.env['MULTAV_BACKEND'] = 'cpu'
  t.is(await initBackend(), 'cpu')
  process.env['MULTAV_BACKEND'] = 'gpu'
  await t.throwsAsync(initBackend(), { message: 'MULTAV_BACKEND must be one of auto, tensorflow, wasm, cpu, got "gpu"' })
  delete process.env['MULTAV_BACKEND']
})

test.serial("'tensorflow' without tfjs-node installed fails with what to install; 'auto' falls back to wasm", async (t) => {
  const error = await t.throwsAsync(initBackend('tensorflow'))
  t.regex(error!.message, /backend 'tensorflow' is not available \(install @tensorflow\/tfjs-node-gpu or @tensorflow\/tfjs-node 4\.22\.0\)/)
  t.is(await initBackend('auto'), 'wasm')
})

test.serial("a backend registered as 'tensorflow' (a cpu-backed stand-in) is preferred by 'auto'", async (t) => {
  const { MathBackendCPU } = await import('@tensorflow/tfjs-backend-cpu')
  for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: 'tensorflow' })
  tf.registerBackend('tensorflow', () => new MathBackendCPU(), 3)
  t.is(await initBackend('auto'), 'tensorflow')
  const before = tf.memory().numTensors
  const sum = tf.tidy(() => tf.sum(tf.tensor([1, 2, 3])))
  t.is((await sum.data())[0], 6)
  sum.dispose()
  t.is(tf.memory().numTensors, before)
})
