/**
 * The machine's own ceiling for two workers: one process running a conv2d + add loop on one wasm
 * thread alone, then two such processes side by side. Their speed-up (2 × alone / side by side) is
 * the most two `multav eval` workers can get here. Prints the three times.
 *
 * Run: node --import tsx bench/parallel-ceiling.ts
 */
import * as tf from '@tensorflow/tfjs-core'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { initBackend } from '../src/backend/backend.js'

const run = promisify(execFile)

if (process.argv[2] === '--loop') {
  await initBackend('wasm', { threads: 1 })
  const x = tf.randomUniform([32, 32, 32, 16], -1, 1, 'float32', 1) as tf.Tensor4D
  const w = tf.randomUniform([3, 3, 16, 16], -1, 1, 'float32', 2) as tf.Tensor4D
  const t0 = performance.now()
  for (let i = 0; i < 300; i++) {
    const y = tf.tidy(() => tf.add(tf.conv2d(x, w, 1, 'same'), x))
    await y.data()
    y.dispose()
  }
  process.stdout.write(String((performance.now() - t0) / 1000))
} else {
  const loop = async () => Number((await run(process.execPath, ['--import', 'tsx', 'bench/parallel-ceiling.ts', '--loop'])).stdout)
  const alone = await loop()
  const [a, b] = await Promise.all([loop(), loop()])
  console.log(`alone ${alone.toFixed(2)} s; side by side ${a.toFixed(2)} s and ${b.toFixed(2)} s; two-process speed-up ${((2 * alone) / Math.max(a, b)).toFixed(2)}x`)
}
