/** What every benchmark records about where it ran, the summary statistics they share, and their command line, PyTorch and results file. */
import { availableParallelism, cpus, totalmem } from 'node:os'
import { wasmThreads } from '../src/backend/wasm-threads.js'
import { readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import writeFileAtomic from 'write-file-atomic'

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

/** Seconds as "median (min–max)", to the millisecond. */
export const showSpread = (t: { median: number; min: number; max: number }): string => `${t.median.toFixed(3)} (${t.min.toFixed(3)}–${t.max.toFixed(3)})`

/** An option's default: a string for `--name value`, a boolean for a flag `--name`. */
type Default = string | boolean
type Parsed<D extends Record<string, Default>> = { [K in keyof D]: D[K] extends boolean ? boolean : string }

/**
 * A benchmark's command line: the options of `defaults` (`--frames 8`; a flag `--profile` where the
 * default is a boolean) and the string options `optional`, which have none. An unknown option throws.
 */
export const benchArgs = <D extends Record<string, Default>, O extends string = never>(defaults: D, optional: ReadonlyArray<O> = []): Parsed<D> & Partial<Record<O, string>> => {
  const options: NonNullable<ParseArgsConfig['options']> = {}
  for (const [name, v] of Object.entries(defaults)) options[name] = typeof v === 'boolean' ? { type: 'boolean', default: v } : { type: 'string', default: v }
  for (const name of optional) options[name] = { type: 'string' }
  return parseArgs({ options }).values as Parsed<D> & Partial<Record<O, string>>
}

/** A python3 that imports torch and torchvision (Debian python3-torch python3-torchvision), or undefined. */
export const torchPython = (): string | undefined =>
  ['/usr/bin/python3', 'python3'].find((p) => {
    try {
      execFileSync(p, ['-c', 'import torch, torchvision'], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  })

/** Writes `data` as indented JSON to bench/results/<name>.json, atomically. */
export const writeResults = async (name: string, data: unknown): Promise<void> => {
  await mkdir('bench/results', { recursive: true })
  await writeFileAtomic(`bench/results/${name}.json`, JSON.stringify(data, null, 2) + '\n')
}
