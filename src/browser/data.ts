/**
 * The clips of the browser entry: the synthetic motion benchmark and the demo's toy clips (made in
 * code). Frame folders and video files are Node-only (`multav`).
 *
 * @since 0.3.0
 */
export { benchmark, BENCHMARK_CLASSES } from '../data/benchmark.js'
export type { Benchmark, BenchmarkOptions } from '../data/benchmark.js'
export { toyMotion } from '../data/toy.js'
