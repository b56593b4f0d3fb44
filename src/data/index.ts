/** Clips: the shipped benchmark, frame folders and the UCF-101 layout, video files, and the demo's toy clips. */
export { benchmark, BENCHMARK_CLASSES } from './benchmark.js'
export type { Benchmark, BenchmarkOptions } from './benchmark.js'
export { loadFrameFolder, ucf101 } from './frames.js'
export type { FrameOptions, Ucf101Split, VideoEntry } from './frames.js'
export { toyMotion } from './toy.js'
export { loadVideo, writeFramesPng, writeVideoLossless, findFfmpeg } from './video.js'
