/**
 * The robustness evaluation: chunked, resumable, parallel and sharded runs (`runEval`), their rows
 * and tables, merging shards, and pictures.
 */
export { runEval } from './run.js'
export type { EvalOptions, EvalOutcome, EvalProgress } from './run.js'
export { evaluateChunk, quantise, flippedOf } from './chunk.js'
export type { Chunk, ChunkResult, Kept, Row } from './chunk.js'
export { resolveData, openDataset } from './data.js'
export type { ClipSize, DataItem, DataRef, Dataset, Loaded } from './data.js'
export { summarise, markdownTable, terminalTable, clipsNote, mergeRuns, readRows, shardChunks, chunkIds, parseShard, checkPlan, RunFolderError, rowsCsv, CSV_COLUMNS, multavVersion } from './results.js'
export { wilson } from './wilson.js'
export type { Interval } from './wilson.js'
export type { RunPlan, Summary, AttackSummary } from './results.js'
export { attackSheet, writeSheet, encodePng, sweepPlot } from './pictures.js'
export type { Sheet, SheetOptions, Series } from './pictures.js'
export { reproduce, reproduceTable, tableMarkdown, reproduceAttacks, modelJobs, FULL, QUICK, NETWORKS, FAMILIES, TWINS } from './reproduce.js'
export type { ReproduceConfig, ReproduceOptions, ReproduceOutcome, ReproduceTable, TableRow, ModelJob, Network, Family, TrainingSettings } from './reproduce.js'
