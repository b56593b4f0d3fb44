/**
 * Memory of an attack on wasm: tensors alive per step (should be constant), the wasm heap and the
 * process's peak RSS per configuration, the largest clip that fits, and what happens beyond it (a
 * WasmHeapError, not a crash). Each configuration runs in its own process (bench/memory-probe.ts).
 * Prints a table and writes bench/results/memory.json.
 *
 * Run: node --import tsx bench/memory.ts [--quick]
 */
import writeFileAtomic from 'write-file-atomic'
import { execFile } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { parseArgs, promisify } from 'node:util'
import { resolveThreads } from '../src/backend/backend.js'
import { benchMeta } from './meta.js'

const run = promisify(execFile)
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })

const SMALL = { widths: '8,16,32,64', classes: '6', label: 'default-size (8-16-32-64)' }
const FULL = { widths: '64,128,256,512', classes: '101', label: 'full (64-128-256-512)' }
const configs = values.quick
  ? [{ ...SMALL, clip: '8,8,32' }, { ...FULL, clip: '1,8,112' }]
  : [
      { ...SMALL, clip: '8,8,32' },
      { ...SMALL, clip: '1,16,112' },
      { ...FULL, clip: '1,8,112' },
      { ...FULL, clip: '1,16,112' },
      { ...FULL, clip: '2,16,112' },
      { ...FULL, clip: '1,32,112' },
      { ...FULL, clip: '3,16,112' },
      { ...FULL, clip: '1,48,112' },
      { ...FULL, clip: '4,16,112' },
      { ...FULL, clip: '1,64,112' },
      { ...FULL, clip: '6,16,112' },
    ]

interface Probe {
  clip: number[]
  ok: boolean
  error?: string
  seconds: number
  tensorsPerStep: number[]
  leftOver: number
  wasmHeapMiB: number
  peakRssMiB: number
}

const rows: Array<Probe & { model: string }> = []
for (const c of configs) {
  const args = ['--import', 'tsx', 'bench/memory-probe.ts', '--clip', c.clip, '--widths', c.widths, '--classes', c.classes]
  let probe: Probe
  try {
    const { stdout } = await run(process.execPath, args, { maxBuffer: 1 << 20, timeout: 600_000 })
    probe = JSON.parse(stdout.trim().split('\n').at(-1)!) as Probe
  } catch (e) {
    // a crash (not a WasmHeapError) would land here: that is what the guard exists to prevent
    const [N, T, S] = c.clip.split(',').map(Number) as [number, number, number]
    probe = { clip: [N, T, S, S, 3], ok: false, error: `process failed: ${(e as Error).message.split('\n')[0]}`, seconds: 0, tensorsPerStep: [], leftOver: -1, wasmHeapMiB: 0, peakRssMiB: 0 }
  }
  rows.push({ ...probe, model: c.label })
  console.error(`${c.label} ${c.clip}: ${probe.ok ? 'ok' : probe.error} (${probe.seconds.toFixed(1)} s)`)
}

const meta = benchMeta('wasm', resolveThreads()) // the threads each probe process uses
console.log(`Mult-L∞ (2 steps) on 3D ResNet-18, wasm (${meta.wasmThreads ?? 'n/a'} threads), one process per row:`)
console.log('| model | clip N×T×H×W×C | fits | tensors alive at each step | wasm heap (MiB) | peak RSS (MiB) | seconds |')
console.log('|---|---|---|---|---|---|---|')
for (const r of rows)
  console.log(
    `| ${r.model} | ${r.clip.join('×')} | ${r.ok ? 'yes' : `no: ${r.error?.split(':')[0]}`} | ${r.tensorsPerStep.join(', ') || '–'} | ${r.wasmHeapMiB.toFixed(0)} | ${r.peakRssMiB.toFixed(0)} | ${r.seconds.toFixed(1)} |`,
  )
for (const r of rows.filter((r) => !r.ok)) console.log(`\n${r.clip.join('×')}: ${r.error}`)
await mkdir('bench/results', { recursive: true })
await writeFileAtomic('bench/results/memory.json', JSON.stringify({ meta, rows }, null, 2) + '\n')
