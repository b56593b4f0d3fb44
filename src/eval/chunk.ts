/**
 * The unit of evaluation work: one chunk of clips (a fixed slice of the dataset), attacked by every
 * attack of the run. Everything random in an attack is seeded by (attack seed + chunk index), so a
 * chunk's rows are the same whichever worker or shard runs it.
 *
 * Success is measured as a user would see it: on the returned clip after 8-bit quantisation
 * (round(255·x')/255), which is what any image or video file holds. The achieved norms are those of
 * the returned float clip, the one the certificate bounds.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { InputError } from '../core/errors.js'
import { match } from '../dsl/match.js'
import type { Attack, Target } from '../dsl/types.js'
import type { ClipData } from '../core/clip.js'
import { cleanLogits, runAttack, withCleanMemo } from '../interpreters/tensor.js'
import { withFilterCache } from '../ops/conv3d.js'
import { type Model } from '../core/model.js'

/** One clip under one attack. */
export interface Row {
  /** The clip's index in the dataset. */
  readonly clip: number
  readonly attack: string
  readonly label: number
  /** The model's class on the clean clip. */
  readonly clean: number
  /** The model's class on the 8-bit quantised adversarial clip. */
  readonly adversarial: number
  /**
   * What the attack aimed for, on the quantised clip: misclassified (untargeted) or classified as the
   * target (targeted). An untargeted attack "succeeds" on a clip the model got wrong before it too, so
   * mean(success) is not the attack success rate; mean(flipped) over the clean-correct clips is.
   */
  readonly success: boolean
  /**
   * Correct on the clean clip and wrong on the quantised adversarial clip (for any attack, targeted or
   * not). Always written by this version; rows written before it lack it, and readers derive it
   * (`flippedOf`).
   */
  readonly flipped?: boolean
  /** ‖x' − x‖∞ and ‖x' − x‖₂ of the returned clip. */
  readonly linf: number
  readonly l2: number
  /** max over x > 0 of max(x'/x, x/x'); null when a positive pixel went to 0 (an infinite ratio). */
  readonly ratio: number | null
  /** ‖log(x'/x)‖₂ over x > 0. */
  readonly logRatioL2: number | null
  /** Attack time per clip (the chunk's time / its clips), seconds. Not part of the comparable result. */
  readonly seconds: number
  /**
   * Set when the clip could not be read ("<file>: <reason>"): the row was not evaluated, its classes
   * are -1 and its norms 0, and no summary counts it.
   */
  readonly error?: string
}

export interface Chunk {
  readonly index: number
  /** Dataset indices of its clips. */
  readonly ids: ReadonlyArray<number>
  readonly labels: ReadonlyArray<number>
  readonly clips: ClipData
}

/** A clean and an adversarial clip kept for a picture. */
export interface Kept {
  readonly clip: number
  readonly attack: string
  readonly clean: Float32Array
  readonly adversarial: Float32Array
  readonly shape: readonly [number, number, number, number]
}

export interface ChunkResult {
  readonly index: number
  readonly rows: ReadonlyArray<Row>
  /** The clips asked for by `keep`, for pictures. */
  readonly kept: ReadonlyArray<Kept>
  /** The backend the chunk ran on (set by the task runner). */
  readonly backend?: string
  /** The wasm backend's threads in the thread that ran the chunk, when the task runner says. */
  readonly threads?: number
}

/** Whether the attack turned a correct clean prediction into a wrong one (false for a row of an unreadable clip). */
export const flippedOf = (r: Pick<Row, 'label' | 'clean' | 'adversarial' | 'error' | 'flipped'>): boolean =>
  r.flipped ?? (r.error === undefined && r.clean === r.label && r.adversarial !== r.label)

/**
 * A row with `flipped` set, derived where a row from an older version lacks it; placed after
 * `success`, where this version writes it, so every row has the same columns in the same order.
 */
export const withFlipped = (r: Row): Row => {
  if (typeof r.flipped === 'boolean') return r
  const { clip, attack, label, clean, adversarial, success, ...rest } = r
  return { clip, attack, label, clean, adversarial, success, flipped: flippedOf(r), ...rest }
}

/** The rows of a clip that could not be read: one per attack, so the chunk is complete and a resumed run skips it. */
export const failedRows = (clip: number, label: number, attackNames: ReadonlyArray<string>, error: string): Row[] =>
  (attackNames.length > 0 ? attackNames : ['clean']).map((attack) => ({
    clip, attack, label, clean: -1, adversarial: -1, success: false, flipped: false, linf: 0, l2: 0, ratio: null, logRatioL2: null, seconds: 0, error,
  }))

/** 8-bit quantisation, as an image or lossless video file stores the clip. */
export const quantise = (x: tf.Tensor5D): tf.Tensor5D => tf.tidy(() => tf.div(tf.round(tf.mul(x, 255)), 255))

const predict = async (model: Model, x: tf.Tensor5D): Promise<number[]> => {
  const p = tf.tidy(() => tf.argMax(cleanLogits(model, x), 1))
  try {
    return Array.from(await p.data())
  } finally {
    p.dispose()
  }
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null)

/**
 * Why a target cannot run in an evaluation, as `path: message` lines (as `fitsClip` reports): per-sample
 * labels (TargetedEach) fit one batch of their length, and an evaluation attacks many chunks. With
 * `batch` (an evaluation of that one batch size, e.g. one clip) they must have that length.
 */
const targetRefusals = match<Target, string[], [number | undefined]>({
  Untargeted: () => [],
  Targeted: () => [],
  TargetedEach: ({ labels }, batch) =>
    batch !== undefined && labels.length === batch
      ? []
      : [
          `attack.loss.target: TargetedEach gives one target per sample of one batch (${labels.length} labels)${batch === undefined ? ', and an evaluation attacks many batches' : `, and here a batch has ${batch} clip${batch === 1 ? '' : 's'}`}; use Targeted (one class for every clip) or an untargeted loss`,
        ],
})

/** Why `attack` cannot run in an evaluation (of batches of `batch` clips only, when given); empty when it can. */
export const evalRefusals = (attack: Attack, batch?: number): ReadonlyArray<string> => targetRefusals(attack.loss.target, batch)

/** Whether sample k's adversarial class is what the attack aimed for: not its label, or its target. */
export const attackSucceeded = match<Target, boolean, [adversarial: number, label: number, k: number]>({
  Untargeted: (_t, adversarial, label) => adversarial !== label,
  Targeted: ({ label: target }, adversarial) => adversarial === target,
  TargetedEach: ({ labels }, adversarial, _label, k) => adversarial === labels[k],
})

/**
 * Runs every attack on the chunk; `keep(clip)` says which clips to return for pictures. An attack that
 * cannot run in an evaluation (`evalRefusals`) is an InputError before any is run. The model's weights
 * are constants for the chunk: every attack shares one `withFilterCache` scope, so the folded and
 * per-tap filters (and the packed kernels made for them) are made once per chunk, not once per attack
 * (the shipped model's ten attacks on a chunk: 11.9 → 9.9 s on one thread, docs/performance.md), and
 * one `withCleanMemo` (the clean predictions, and the first gradient of the attacks that start at the
 * clean clips, computed once).
 */
export const evaluateChunk = async (
  model: Model,
  attacks: ReadonlyArray<Attack>,
  chunk: Chunk,
  keep: (clip: number) => boolean = () => false,
): Promise<ChunkResult> => {
  const refused = attacks.flatMap((a) => evalRefusals(a).map((p) => `evaluateChunk: attack "${a.name}": ${p}`))
  if (refused.length > 0) throw new InputError(refused.join('\n'), refused)
  const [n, T, H, W, C] = chunk.clips.shape
  if (n === 0 || chunk.ids.length === 0) return { index: chunk.index, rows: [], kept: [] }
  if (chunk.ids.length !== n || chunk.labels.length !== n)
    throw new InputError(`evaluateChunk: chunk ${chunk.index} has ${n} clips but ${chunk.ids.length} ids and ${chunk.labels.length} labels`)
  return withFilterCache(() => attackChunk(model, attacks, chunk, keep))
}

const attackChunk = async (model: Model, attacks: ReadonlyArray<Attack>, chunk: Chunk, keep: (clip: number) => boolean): Promise<ChunkResult> => {
  const x = tf.tensor5d(chunk.clips.data, [...chunk.clips.shape])
  try {
    // the clean pass, and the first gradient of the attacks that start at x, made once for the chunk
    return await withCleanMemo(model, x, () => attackEach(model, attacks, chunk, x, keep))
  } finally {
    x.dispose()
  }
}

const attackEach = async (model: Model, attacks: ReadonlyArray<Attack>, chunk: Chunk, x: tf.Tensor5D, keep: (clip: number) => boolean): Promise<ChunkResult> => {
  const [n, T, H, W, C] = chunk.clips.shape
  const rows: Row[] = []
  const kept: Kept[] = []
  const clean = await predict(model, x)
  for (const attack of attacks) {
    const started = performance.now()
    // success and the classes on the 8-bit clip, measured inside the run (no second forward pass)
    const r = await runAttack(attack, model, x, chunk.labels, { seed: attack.seed + chunk.index, measureOn: quantise })
    try {
      const adversarial = r.predictions
      const target = attack.loss.target
      const seconds = (performance.now() - started) / 1000 / n
      const data = chunk.ids.some(keep) ? ((await r.adversarial.data()) as Float32Array) : undefined
      chunk.ids.forEach((clip, k) => {
        rows.push({
          clip,
          attack: attack.name,
          label: chunk.labels[k]!,
          clean: clean[k]!,
          adversarial: adversarial[k]!,
          success: attackSucceeded(target, adversarial[k]!, chunk.labels[k]!, k),
          flipped: clean[k] === chunk.labels[k] && adversarial[k] !== chunk.labels[k],
          linf: r.sanity.linf[k]!,
          l2: r.sanity.l2[k]!,
          ratio: finite(r.sanity.ratioLinf[k]!),
          logRatioL2: finite(r.sanity.logRatioL2[k]!),
          seconds,
        })
        if (data && keep(clip)) {
          const size = T * H * W * C
          kept.push({
            clip,
            attack: attack.name,
            clean: chunk.clips.data.slice(k * size, (k + 1) * size),
            adversarial: data.slice(k * size, (k + 1) * size),
            shape: [T, H, W, C],
          })
        }
      })
    } finally {
      r.adversarial.dispose()
    }
  }
  if (attacks.length === 0)
    chunk.ids.forEach((clip, k) => rows.push({ clip, attack: 'clean', label: chunk.labels[k]!, clean: clean[k]!, adversarial: clean[k]!, success: false, flipped: false, linf: 0, l2: 0, ratio: 1, logRatioL2: 0, seconds: 0 }))
  return { index: chunk.index, rows, kept }
}
