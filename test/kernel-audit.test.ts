/**
 * The kernel audit (scripts/kernel-audit.ts, docs/correctness.md) as a test: on cpu and wasm, every
 * kernel multav relies on agrees with its float64 reference at the magnitudes real models produce,
 * except the known deviations multav routes around — and multav's own routes have none. A new
 * deviation (another tfjs version, another backend) fails here and names the kernel.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '../src/backend/backend.js'
import { audit } from '../scripts/kernel-audit.js'

/** tfjs 4.22.0's deviations and multav's route around each (docs/correctness.md). */
const KNOWN: Readonly<Record<string, ReadonlyArray<RegExp>>> = {
  cpu: [],
  // tf.sign's dead zone below 1.19e-7 → ops.sign; Conv3DBackpropInputV2 (tf.conv3d's own input
  // gradient) is wrong → ops.conv3d, and initBackend registers its math as tf.conv3d's gradient;
  // clipByValue's NaN → the lower bound → runAttack refuses non-finite logits
  wasm: [/^sign$/, /^Conv3DBackpropInputV2 input gradient/, /^clipByValue/],
}

for (const backend of ['cpu', 'wasm'] as const) {
  test.serial(`${backend}: the kernels multav relies on agree with float64 references from 1e-45 to 3e38, but for the known deviations`, async (t) => {
    await initBackend(backend)
    const before = tf.memory().numTensors
    const rows = await audit()
    t.is(tf.memory().numTensors, before)
    const deviating = rows.filter((r) => r.deviations > 0)
    for (const r of deviating)
      t.true(r.kind === 'tfjs' && KNOWN[backend]!.some((k) => k.test(r.check)), `${backend} ${r.check}: ${r.deviations}/${r.values} values off, e.g. ${JSON.stringify(r.examples[0])}`)
    // the known ones are still there (else the docs and the routes are out of date)
    for (const k of KNOWN[backend]!) t.true(deviating.some((r) => k.test(r.check)), `${backend}: ${k} no longer deviates; update docs/correctness.md`)
    t.true(rows.filter((r) => r.kind === 'multav').every((r) => r.deviations === 0))
  })
}
