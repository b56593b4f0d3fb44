/** What every benchmark records about where it ran, and the summary statistics they share. */
import { availableParallelism, cpus, totalmem } from 'node:os'
import { wasmThreads } from '../src/interpreters/wasm-threads.js'
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

/** Median of values sorted ascending. */
export const median = (sorted: ReadonlyArray<number>): number => sorted[Math.floor(sorted.length / 2)]!

/** Interquartile range of values sorted ascending, as "a–b" (1 decimal). */
export const iqr = (sorted: ReadonlyArray<number>): string =>
  `${sorted[Math.floor(sorted.length / 4)]!.toFixed(1)}–${sorted[Math.floor((3 * sorted.length) / 4)]!.toFixed(1)}`
