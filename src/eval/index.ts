/**
 * The robustness evaluation: chunked, resumable, parallel and sharded runs (`runEval`), their rows
 * and tables, merging shards, pictures, and the paper's experiment (`reproduce`). How a run is cut
 * into chunks and shards, checked and versioned stays inside src/eval.
 */
export { runEval } from './run.js'
export type { EvalOptions, EvalOutcome, EvalProgress } from './run.js'
export { quantise } from './chunk.js'
export type { Kept, Row } from './chunk.js'
export { resolveData, openDataset } from './data.js'
export type { ClipSize, DataItem, DataRef, Dataset, Loaded } from './data.js'
export { summarise, markdownTable, terminalTable, mergeRuns, readRows, rowsCsv, RunFolderError } from './results.js'
export type { RunPlan, Summary, AttackSummary } from './results.js'
export { wilson } from './wilson.js'
export type { Interval } from './wilson.js'
export { attackSheet, writeSheet, encodePng, sweepPlot } from './pictures.js'
export { labelledSheet, sheetRow } from './labelled.js'
export type { SheetLabels } from './labelled.js'
export type { Sheet, SheetOptions, Series } from './pictures.js'
// FULL (the paper's run) and QUICK (CI's) are the two configurations `reproduce` is meant to be given
export { reproduce, reproduceTable, tableMarkdown, FULL, QUICK } from './reproduce.js'
export type { ReproduceConfig, ReproduceOptions, ReproduceOutcome, ReproduceTable, TableRow, TrainingSettings, Network, Family } from './reproduce.js'
export { budgetCurve, writeBudgetCurve, budgetCsv, parseBudgetCsv } from './budget-curve.js'
export { budgetChart } from './budget-chart.js'
export { svgToPng } from './svg-png.js'
