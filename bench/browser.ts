/**
 * One Mult-L∞ step in headless Chromium on webgpu, webgl and wasm (one thread): the default model's
 * architecture (r3d18, torchvision layout, widths 8-16-32-64, seeded weights: the timing does not
 * depend on the weights) on a batch of 8 benchmark clips of 8×32×32. Each step is a forward pass, an
 * input gradient and the update, its loss read back (a device sync). Median over the steps after the
 * first (the first builds the shader programs; reported apart). WebGL and WebGPU run on SwiftShader,
 * Chromium's software renderer, here: these figures say nothing about a real GPU's speed.
 * Prints a table and writes bench/results/browser.json.
 *
 * Run: node --import tsx bench/browser.ts [--steps 6] [--backends webgpu,webgl,wasm] [--batch 8]
 */
import writeFileAtomic from 'write-file-atomic'
import { copyFileSync, readdirSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { bundlePages, CHROMIUM, chromiumPresent, openPage, serve, troubles } from '../test/fixtures/browser/harness.js'
import type { Timed } from '../test/fixtures/browser/bench-page.js'
import { median } from './meta.js'

const { values } = parseArgs({
  options: { steps: { type: 'string', default: '6' }, backends: { type: 'string', default: 'webgpu,webgl,wasm' }, batch: { type: 'string', default: '8' } },
})
if (!chromiumPresent) throw new Error(`bench/browser.ts: no Chromium at ${CHROMIUM} (apt-get install chromium, or set MULTAV_CHROMIUM)`)
const shape = { N: Number(values.batch), T: 8, H: 32, W: 32 }
const steps = Number(values.steps)

const pages = await bundlePages({ 'bench-page': 'test/fixtures/browser/bench-page.ts' })
const wasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist'
for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join(pages.dir, f))
const site = await serve(pages.dir, { '/': 'test/fixtures/browser/bench.html' })
const rows: Array<Timed & { medianMs: number; consoleTroubles: string[] }> = []
try {
  for (const backend of values.backends.split(',')) {
    const o = await openPage(`${site.origin}/`)
    try {
      await o.page.waitForFunction(() => (globalThis as { multavBench?: { ready: boolean } }).multavBench?.ready === true)
      const r = await o.page.evaluate(
        ([b, s, n]) => (globalThis as unknown as { multavBench: { run: (b: string, s: unknown, n: number) => Promise<Timed> } }).multavBench.run(b, s, n),
        [backend, shape, steps] as const,
      )
      rows.push({ ...r, medianMs: median(r.stepsMs), consoleTroubles: troubles(o.console) })
      console.log(`${r.backend.padEnd(7)} median ${median(r.stepsMs).toFixed(0)} ms a step (steps ${r.stepsMs.map((v) => v.toFixed(0)).join(', ')}); first step ${r.firstStepMs.toFixed(0)} ms`)
    } finally {
      await o.close()
    }
  }
} finally {
  await site.close()
  await pages.remove()
}

console.log(`\n| backend (headless Chromium, SwiftShader for the GPU ones) | Mult-L∞ step, median | first step (shaders built) |\n|---|---:|---:|`)
for (const r of rows) console.log(`| ${r.backend} | ${(r.medianMs / 1000).toFixed(2)} s | ${(r.firstStepMs / 1000).toFixed(1)} s |`)
await mkdir('bench/results', { recursive: true })
await writeFileAtomic('bench/results/browser.json', JSON.stringify({ date: new Date().toISOString(), chromium: CHROMIUM, shape, model: 'r3d18 torchvision 8-16-32-64, seeded', attack: 'mult-linf', rows }, null, 2) + '\n')
