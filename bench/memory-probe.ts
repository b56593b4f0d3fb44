/**
 * One configuration of bench/memory.ts, in its own process (the wasm heap never shrinks, so peaks
 * must be measured apart): a Mult-L∞ attack of `--steps` steps on a 3D ResNet-18 at `--clip N,T,S`.
 * Prints one JSON line: tensors alive at each step, the wasm heap and peak RSS, seconds, or the error.
 *
 * Run: node --import tsx bench/memory-probe.ts --clip 1,16,112 [--widths 64,128,256,512] [--classes 101] [--steps 2]
 */
import * as tf from '@tensorflow/tfjs-core'
import { parseArgs } from 'node:util'
import { multLinf } from '../src/dsl/attacks.js'
import { initBackend } from '../src/backend/backend.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { wasmHeapBytes } from '../src/backend/wasm-heap.js'
import { r3d18 } from '../src/models/r3d.js'

const { values } = parseArgs({
  options: { clip: { type: 'string' }, widths: { type: 'string', default: '64,128,256,512' }, classes: { type: 'string', default: '101' }, steps: { type: 'string', default: '2' } },
})
const [N, T, S] = values.clip!.split(',').map(Number) as [number, number, number]
const widths = values.widths!.split(',').map(Number) as [number, number, number, number]
const backend = await initBackend('wasm')
const net = r3d18({ layout: 'torchvision', classes: Number(values.classes), widths, seed: 0 })
const baseline = tf.memory().numTensors
const x = tf.tidy(() => tf.randomUniform([N, T, S, S, 3], 0.05, 1, 'float32', 7)) as tf.Tensor5D
const tensorsPerStep: number[] = []
const t0 = performance.now()
let error: string | undefined
try {
  const r = await runAttack(multLinf({ steps: Number(values.steps) }), net.model, x, Array.from({ length: N }, () => 0), {
    onStep: () => void tensorsPerStep.push(tf.memory().numTensors),
  })
  r.adversarial.dispose()
} catch (e) {
  error = `${(e as Error).name}: ${(e as Error).message.split('\n')[0]}`
}
const seconds = (performance.now() - t0) / 1000
x.dispose()
const leftOver = tf.memory().numTensors - baseline
net.dispose()
const result = {
  clip: [N, T, S, S, 3],
  widths,
  backend,
  ok: error === undefined,
  error,
  seconds,
  tensorsPerStep,
  leftOver,
  wasmHeapMiB: wasmHeapBytes() / 2 ** 20,
  peakRssMiB: process.resourceUsage().maxRSS / 1024,
}
process.stdout.write(`${JSON.stringify(result)}\n`)
