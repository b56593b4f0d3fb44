/**
 * An attack step's pointwise work on wasm: multav's one-pass kernels (src/ops/simd.ts: the exact
 * sign, the L∞ ball and ratio clamps, x' ⊙ exp(λ·d) for a signed d, the ratio x'/x) and the Add-L2
 * and Mult-L2 steps' whole projections (their constraints, as the interpreter applies them) against
 * the tf ops they replace (wasm's Tile is multav's in both, src/backend/wasm-tile.ts)
 * (the 'ops' path of each, same values bit for bit), on the shipped default model's batch
 * [8, 8, 32, 32, 3] and one 16x112x112 clip. One call = the op, no read-back (the kernels are
 * synchronous on wasm). Prints medians and writes bench/results/pointwise.json.
 *
 * Run: MULTAV_THREADS=1|2 node --import tsx bench/pointwise.ts [--reps 300]
 */
import * as tf from '@tensorflow/tfjs-core'
import writeFileAtomic from 'write-file-atomic'
import { mkdir } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { initBackend } from '../src/backend/backend.js'
import { clampAround, clampTuning } from '../src/ops/clamp-around.js'
import { powerStep, powerStepTuning } from '../src/ops/power-step.js'
import { sign, signTuning } from '../src/ops/sign.js'
import { wasmSimd } from '../src/ops/wasm-kernel.js'
import { ratioOf, ratioTuning } from '../src/ops/ratio-of.js'
import { project } from '../src/interpreters/tensor/constraint.js'
import { addL2, multL2 } from '../src/dsl/attacks.js'
import { benchMeta, median } from './meta.js'

const { values } = parseArgs({ options: { reps: { type: 'string', default: '300' } } })
const backend = await initBackend('wasm')
const reps = Number(values.reps)
if (wasmSimd(tf.backend()) === undefined) throw new Error('the SIMD module cannot run on this backend: nothing to compare')
const setPath = (path: 'auto' | 'ops') => (clampTuning.path = powerStepTuning.path = signTuning.path = ratioTuning.path = path)
const constraintsOf = (attack: ReturnType<typeof addL2>) => attack.body[0]!.constraints
const rows: { shape: string; op: string; kernelMs: number; opsMs: number; speedUp: number }[] = []
for (const shape of [[8, 8, 32, 32, 3], [1, 16, 112, 112, 3]]) {
  const x = tf.randomUniform(shape, 0, 1, 'float32', 1)
  const xAdv = tf.add(x, tf.randomUniform(shape, -0.03, 0.03, 'float32', 2))
  const g = tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 3), 1e-7) // a real model's magnitudes
  const d = sign(g)
  const OPS: Record<string, () => tf.Tensor> = {
    'sign(g)': () => sign(g),
    'Π_∞(4/255), ball clamp': () => clampAround('ball', 4 / 255, x, xAdv),
    'Π_ratio∞(1.04), ratio clamp': () => clampAround('ratio', 1.04, x, xAdv),
    "x' ⊙ 1.01^d": () => powerStep(xAdv, d, Math.log(1.01)),
    "x'/x (1 where x = 0)": () => ratioOf(x, xAdv),
    'Add-L2 projection (Π_2, clip)': () => project(constraintsOf(addL2()), x as tf.Tensor5D, xAdv as tf.Tensor5D),
    'Mult-L2 projection (Π_ratio2, clip)': () => project(constraintsOf(multL2()), x as tf.Tensor5D, xAdv as tf.Tensor5D),
  }
  for (const [op, f] of Object.entries(OPS)) {
    const time = (path: 'auto' | 'ops') => {
      setPath(path)
      for (let i = 0; i < 20; i++) tf.tidy(f).dispose()
      const ms: number[] = []
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now()
        tf.tidy(f).dispose()
        ms.push(performance.now() - t0)
      }
      return median(ms)
    }
    const kernelMs = time('auto')
    const opsMs = time('ops')
    rows.push({ shape: shape.join('x'), op, kernelMs, opsMs, speedUp: opsMs / kernelMs })
  }
  setPath('auto')
  tf.dispose([x, xAdv, g, d])
}
const meta = { ...benchMeta(backend), reps }
console.log(`pointwise kernels on wasm (${meta.wasmThreads} thread(s)), median of ${reps} calls (ms):`)
console.log('| shape | op | multav kernel | tf ops | speed-up |')
console.log('|---|---|---|---|---|')
for (const r of rows) console.log(`| ${r.shape} | ${r.op} | ${r.kernelMs.toFixed(3)} | ${r.opsMs.toFixed(3)} | ${r.speedUp.toFixed(1)}x |`)
await mkdir('bench/results', { recursive: true })
await writeFileAtomic('bench/results/pointwise.json', JSON.stringify({ meta, rows }, null, 2) + '\n')
