/** What every benchmark records about where it ran, and the summary statistics they share. */
import { availableParallelism, cpus, totalmem } from 'node:os'
import { wasmThreads } from '../src/backend/wasm-threads.js'
import { readFileSync } from 'node:fs'

const tfjsVersion = (): string => (JSON.parse(readFileSync('node_modules/@tensorflow/tfjs-core/package.json', 'utf8')) as { version: string }).version

export const benchMeta = (backend: string, threads?: number) => ({
  date: new Date().toISOString(),
  backend,
  wasmThreads: backend === 'wasm' ? (threads ?? wasmThreads()) : null,
  node: process.version,
  tfjs: tfjsVersion(),
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: availableParallelism(),
  memoryGiB: Math.round(totalmem() / 2 ** 30),
})

const ascending = (v: ReadonlyArray<number>): number[] => [...v].sort((a, b) => a - b)

/** Median (the upper one for an even count). */
export const median = (v: ReadonlyArray<number>): number => ascending(v)[Math.floor(v.length / 2)]!

/** Interquartile range as "a–b". */
export const iqr = (v: ReadonlyArray<number>, digits = 1): string => {
  const s = ascending(v)
  return `${s[Math.floor(s.length / 4)]!.toFixed(digits)}–${s[Math.floor((3 * s.length) / 4)]!.toFixed(digits)}`
}

/** Median, min and max. */
export const spread = (v: ReadonlyArray<number>): { median: number; min: number; max: number } => ({ median: median(v), min: Math.min(...v), max: Math.max(...v) })
