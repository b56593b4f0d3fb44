/**
 * One job of `multav reproduce`, self-contained so that it runs in a pool thread: train a model
 * (unless its folder already holds a finished one; an interrupted training resumes from its
 * checkpoint), then evaluate it on clean clips and the run's attacks (resuming a partial evaluation).
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runTrain } from './train-run.js'
import { decodeAttack } from '../dsl/codec.js'
import { initBackend, type BackendChoice } from '../backend/backend.js'
import type { DenoiseKind } from '../models/denoise.js'
import type { Summary } from './results.js'
import { runEval } from './run.js'

export interface JobTask {
  readonly name: string
  readonly backend: BackendChoice
  readonly modelDir: string
  /** How to train the model when modelDir holds none yet; absent: the model exists (the shipped default). */
  readonly train?: {
    readonly epochs: number
    readonly lr: number
    readonly batch: number
    readonly trainClips: number
    readonly widths: readonly [number, number, number, number]
    readonly clip: { readonly T: number; readonly H: number; readonly W: number }
    readonly seed: number
    readonly denoise: DenoiseKind
    /** Start from this model's weights. */
    readonly init?: string
    /** The attack spec (encodeAttack) of adversarial training. */
    readonly adversarial?: unknown
  }
  readonly evalDir: string
  readonly attacks: ReadonlyArray<unknown>
  readonly testClips: number
  readonly evalBatch: number
}

export interface JobResult {
  readonly name: string
  readonly summary: Summary
  /** Seconds this call spent (training and evaluation). */
  readonly seconds: number
  /** True when both the model and its evaluation were already done. */
  readonly reused: boolean
}

export const runJob = async (task: JobTask): Promise<JobResult> => {
  const started = Date.now()
  const backend = await initBackend(task.backend)
  const log = (line: string) => process.stderr.write(`[${task.name}] ${line}\n`)
  const trained = existsSync(join(task.modelDir, 'model.json'))
  if (!trained) {
    const t = task.train
    if (!t) throw new Error(`${task.name}: ${task.modelDir} holds no model and there are no training settings`)
    const attack = t.adversarial === undefined ? undefined : decodeAttack(t.adversarial)
    if (attack && E.isLeft(attack)) throw new Error(`${task.name}: ${attack.left.join('; ')}`)
    await runTrain({
      layout: 'torchvision',
      widths: t.widths,
      epochs: t.epochs,
      lr: t.lr,
      batch: t.batch,
      trainClips: t.trainClips,
      testClips: task.testClips,
      clip: t.clip,
      denoise: t.denoise,
      ...(t.init !== undefined ? { init: t.init } : {}),
      ...(attack && E.isRight(attack) ? { adversarial: attack.right } : {}),
      evalEachEpoch: false,
      out: task.modelDir,
      resume: true,
      seed: t.seed,
      backend,
      argv: ['reproduce', `(${task.name})`],
      log,
    })
  }
  const evaluated = existsSync(join(task.evalDir, 'results.json'))
  const info = (JSON.parse(await readFile(join(task.modelDir, 'model.json'), 'utf8')) as { config: { classes: string[]; clip: { T: number; H: number; W: number } } }).config
  const decoded = task.attacks.map((spec) => {
    const a = decodeAttack(spec)
    if (E.isLeft(a)) throw new Error(`${task.name}: ${a.left.join('; ')}`)
    return a.right
  })
  const outcome = await runEval({
    plan: {
      model: task.modelDir,
      classes: info.classes,
      data: { kind: 'benchmark', split: 'test', clip: info.clip },
      clips: task.testClips,
      attacks: task.attacks,
      attackNames: decoded.map((a) => a.name),
      batch: task.evalBatch,
      shard: { index: 0, count: 1 },
    },
    backend: task.backend,
    out: task.evalDir,
    resume: true,
    workers: 1,
    pictureClips: 0,
    meta: { command: `multav reproduce (${task.name})` },
  })
  if (!outcome.summary) throw new Error(`${task.name}: the evaluation did not complete`)
  return { name: task.name, summary: outcome.summary, seconds: (Date.now() - started) / 1000, reused: trained && evaluated }
}
