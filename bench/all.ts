/**
 * `npm run bench`: every benchmark, each in its own process, then one machine-readable file with all
 * their results: bench/results/latest.json (each benchmark also keeps its own file beside it).
 *
 * Run: npm run bench [-- --quick] [-- --only overhead,memory]
 *   --quick: fewer repetitions and sizes, a smoke run of minutes;
 *   --only: run these benchmarks and replace their entries in latest.json, keeping the others'.
 */
import writeFileAtomic from 'write-file-atomic'
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } })
const quick = values.quick
const BENCHES: ReadonlyArray<{ name: string; file: string; args: string[] }> = [
  { name: 'overhead', file: 'bench/overhead.ts', args: quick ? ['--reps', '3'] : [] },
  { name: 'conv3d', file: 'bench/conv3d.ts', args: quick ? ['--reps', '2'] : [] },
  { name: 'r3d-vs-pytorch', file: 'bench/r3d-vs-pytorch.ts', args: quick ? ['--frames', '4', '--size', '56', '--reps', '1'] : [] },
  { name: 'throughput', file: 'bench/throughput.ts', args: quick ? ['--clips', '16', '--reps', '1'] : [] },
  { name: 'memory', file: 'bench/memory.ts', args: quick ? ['--quick'] : [] },
  { name: 'sign', file: 'bench/sign.ts', args: quick ? ['--reps', '20'] : [] },
  { name: 'pointwise', file: 'bench/pointwise.ts', args: quick ? ['--reps', '20'] : [] },
  { name: 'fold-fuse', file: 'bench/fold-fuse.ts', args: quick ? ['--reps', '3'] : [] },
  { name: 'clean-memo', file: 'bench/clean-memo.ts', args: quick ? ['--reps', '1'] : [] },
]

const only = values.only?.split(',').map((n) => n.trim())
const unknown = only?.filter((n) => !BENCHES.some((b) => b.name === n)) ?? []
if (unknown.length > 0) throw new Error(`--only: unknown benchmark(s) ${unknown.join(', ')}; expected some of ${BENCHES.map((b) => b.name).join(', ')}`)
const previous = only
  ? ((JSON.parse(await readFile('bench/results/latest.json', 'utf8').catch(() => '{}')) as { results?: Record<string, unknown> }).results ?? {})
  : {}
const results: Record<string, unknown> = { ...previous }
const failed: string[] = []
for (const b of BENCHES.filter((b) => !only || only.includes(b.name))) {
  console.log(`\n== ${b.name} (${b.file} ${b.args.join(' ')})`)
  const t0 = performance.now()
  const r = spawnSync(process.execPath, ['--import', 'tsx', b.file, ...b.args], { stdio: 'inherit' })
  const seconds = (performance.now() - t0) / 1000
  if (r.status !== 0) {
    failed.push(b.name)
    results[b.name] = { failed: true, status: r.status, signal: r.signal, seconds }
    continue
  }
  results[b.name] = { seconds, date: new Date().toISOString(), ...(JSON.parse(await readFile(`bench/results/${b.name}.json`, 'utf8')) as object) }
}
await writeFileAtomic('bench/results/latest.json', JSON.stringify({ date: new Date().toISOString(), quick, results }, null, 2) + '\n')
console.log(`\nwrote bench/results/latest.json${failed.length ? `; failed: ${failed.join(', ')}` : ''}`)
process.exitCode = failed.length ? 1 : 0
