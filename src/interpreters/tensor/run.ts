/**
 * The attack loop: x' ← init(x), then `steps` iterations, each one `tf.tidy` (gradient → direction →
 * update → constraints) that disposes the previous iterate, so the number of live tensors stays
 * constant across steps (momentum accumulators, one per occurrence, are replaced in place). With
 * restarts the whole attack runs R times and each sample keeps its best run.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
// tfjs-core's Node bundle registers no gradients; tfjs-layers registers them all.
// Its Node bundle has no chained ops either (x.add(y)): ops are called as functions.
import '@tensorflow/tfjs-layers'
import { InputError, InternalError } from '../../core/errors.js'
import type { Model } from '../../core/model.js'
import { restartSeed } from '../../dsl/constructors.js'
import type { Attack, Step } from '../../dsl/types.js'
import { withFilterCache } from '../../ops/conv3d.js'
import { certify } from '../certify.js'
import type { Searched } from '../regions.js'
import { searchRegions } from '../search.js'
import { first, keepBest, type Best } from './best.js'
import { assertBackend, checkInputs, checkLogits, checkModelAndClips, labelsOf } from './checks.js'
import { atClean, cleanPass } from './clean-memo.js'
import { project, reprojectionCanChange } from './constraint.js'
import { prepare } from './context.js'
import { initialise, startsClean } from './init.js'
import { goalOf, objectiveFor, type Objective } from './loss.js'
import type { AttackResult, RunOptions } from './result.js'
import { evaluate, type Figures } from './sanity.js'
import { applyStep } from './update.js'
import { searchedRects } from './walk.js'

/**
 * Runs `attack` against `model` on clips `x` with true labels `y`.
 * Rejects with a specific message (an `InputError`) on an invalid attack, shape, range, or label.
 * The model's weights are constants for the run: conv3d's gradient sub-filters are made once
 * (`withFilterCache`) and released when it ends.
 *
 * Restarts (`attack.restarts` = R): run r (0-based) starts from `restartSeed(seed, r)` (run 0 is the
 * attack itself), so random starts and random regions are redrawn; searched rectangles are found once,
 * before the first run, on the clean clips. Each sample keeps its best run: successful before
 * unsuccessful, then the higher per-sample objective, then the earlier run (`bestRun`). `success`,
 * `predictions`, `loss` and `sanity` describe the returned clips, one forward pass on them after the
 * last run. `onStep` sees the R·steps iterations in order: `step` counts over all runs (run r's
 * iteration i is r·steps + i + 1 of `steps` = R·steps), `run` says which run, and `loss` is that
 * run's objective (it may drop when a new run begins).
 */
export const runAttack = (
  attack: Attack,
  model: Model,
  x: tf.Tensor5D,
  y: tf.Tensor1D | ReadonlyArray<number>,
  options: RunOptions = {},
): Promise<AttackResult> => withFilterCache(() => attackAll(attack, model, x, y, options))

/** What every run of one call shares. */
interface Shared {
  readonly attack: Attack
  readonly model: Model
  readonly x: tf.Tensor5D
  readonly labels: ReadonlyArray<number>
  readonly objective: Objective
  readonly searched: Searched
  readonly options: RunOptions
  /** R, the attack's `restarts` (1 when absent, as the codec reads it). */
  readonly runs: number
  /** Run 0's first forward pass checks the model's output and gives the clean predictions. */
  readonly fromFirstStep: boolean
  /** Every run starts at the clean clip: its first gradient is the one at x. */
  readonly cleanStart: boolean
  /** What the objective depends on besides the logits (the loss and the labels): the memo's key. */
  readonly objectiveKey: string
}

const attackAll = async (
  attack: Attack,
  model: Model,
  x: tf.Tensor5D,
  y: tf.Tensor1D | ReadonlyArray<number>,
  options: RunOptions,
): Promise<AttackResult> => {
  assertBackend()
  checkModelAndClips(model, x)
  const labels = await labelsOf(y)
  await checkInputs(attack, x, labels)
  const seed = options.seed ?? attack.seed
  const goal = goalOf(attack.loss.target, labels)
  const rects = searchedRects(attack)
  // What the model says on the clean clips (and the check of its output against the labels) comes
  // from the first step's forward pass when the attack starts at the clean clip; otherwise from one
  // forward pass before the attack (outside any gradient scope).
  const fromFirstStep = startsClean(attack.init) && attack.steps > 0 && rects.length === 0
  const clean = fromFirstStep ? undefined : await cleanPass(model, x, labels, attack.loss.target)
  const objective = objectiveFor(attack.loss, goal)
  let best: Best | undefined
  try {
    // Searched rectangles are placed once, before the attack, on the clean clips.
    const searched = await searchRegions(rects, { model, x, loss: objective.perSample })
    const runs = attack.restarts ?? 1
    const cleanStart = startsClean(attack.init)
    const objectiveKey = JSON.stringify([attack.loss, labels])
    const shared: Shared = { attack, model, x, labels, objective, searched, options, runs, fromFirstStep, cleanStart, objectiveKey }
    let cleanPredictions = clean
    let figures: Figures | undefined
    for (let r = 0; r < runs; r++) {
      const once = await runOnce(shared, r, restartSeed(seed, r))
      cleanPredictions ??= once.cleanPredictions
      try {
        figures = await evaluate(once.xAdv, x, labels, goal, model, objective, options.measureOn)
        best = best === undefined ? first(once.xAdv, figures) : keepBest(best, once.xAdv, figures, r)
      } catch (error) {
        if (once.xAdv !== best?.xAdv) once.xAdv.dispose()
        throw error
      }
    }
    if (best === undefined || figures === undefined || cleanPredictions === undefined)
      throw new InternalError(`runAttack: no run was made (restarts ${attack.restarts}, steps ${attack.steps})`)
    // with restarts, the returned clips mix runs: measure them as returned
    const final = runs === 1 ? figures : await evaluate(best.xAdv, x, labels, goal, model, objective, options.measureOn)
    return {
      ...summary(final),
      cleanPredictions,
      adversarial: best.xAdv,
      certificate: certify({ ...attack, seed }),
      searched,
      bestRun: best.run,
      seed,
      backend: tf.getBackend(),
    }
  } catch (error) {
    best?.xAdv.dispose()
    throw error
  } finally {
    objective.dispose()
  }
}

const summary = ({ success, predictions, loss, sanity }: Figures) => ({ success, predictions, loss, sanity })

/**
 * f(v) and ∇f(v), as tf.valueAndGrad, but an objective that does not depend on v is an InputError
 * and leaves nothing behind (tf.valueAndGrad throws with the forward pass's saved tensors kept).
 */
const valueAndGradient = (f: (v: tf.Tensor5D) => tf.Scalar, v: tf.Tensor5D): { value: tf.Scalar; grad: tf.Tensor5D } => {
  const { value, grads } = tf.engine().gradients(() => f(v), [v], undefined, true)
  const grad = grads[0]
  if (grad === undefined || grad === null) {
    value.dispose()
    throw new InputError("runAttack: the model's logits do not depend on its input clip: there is no gradient to attack with (does the model use its argument?)")
  }
  return { value, grad: grad as tf.Tensor5D }
}

/** The objective's value and input gradient at v: what each step takes. */
const gradient = ({ model, objective }: Shared, v: tf.Tensor5D): [tf.Scalar, tf.Tensor5D, undefined] => {
  const { value, grad } = valueAndGradient((u) => objective.mean(model(u)), v)
  return [value, grad, undefined]
}

/**
 * The first step's value and gradient when the attack starts at the clean clip v = x, with the
 * logits there (checked against the labels and the target). Inside `withCleanMemo` every attack on x
 * with the same objective takes the same one: it is computed once (clean-memo.ts).
 */
const cleanGradient = (shared: Shared, v: tf.Tensor5D): [tf.Scalar, tf.Tensor5D, tf.Tensor2D] =>
  atClean(shared.model, shared.x, `gradient|${shared.objectiveKey}`, () => checkedGradient(shared, v))

/**
 * The value, gradient and logits at v, the logits checked. tfjs leaks tensors when an error is thrown
 * inside tf.valueAndGrad: the checks (and a model that throws) stash their error, return a zero
 * objective, and the error is thrown once the gradient scope has closed.
 */
const checkedGradient = ({ model, objective, labels, attack }: Shared, v: tf.Tensor5D): [tf.Scalar, tf.Tensor5D, tf.Tensor2D] => {
  let failure: unknown
  let kept: tf.Tensor2D | undefined
  try {
    const { value, grad } = valueAndGradient((u) => {
      try {
        const logits = model(u)
        checkLogits(logits, labels, attack.loss.target)
        const mean = objective.mean(logits)
        kept = tf.keep(tf.clone(logits)) // past the forward pass's tidy (a clone: the model may return a tensor it keeps)
        return mean
      } catch (e) {
        failure = e
        return tf.sum(tf.mul(u, 0))
      }
    }, v)
    if (failure !== undefined || kept === undefined) throw failure
    return [value, grad, tf.clone(kept)] // the caller's tidy owns the clone
  } finally {
    kept?.dispose()
  }
}

/**
 * Run r of the attack, seeded `seed`: its final iterate, projected once more onto the last step's
 * constraints where that can change it (L2 projections, as foolbox: float drift cannot break them;
 * Clip and L∞ projections already hold bit for bit, reprojectionCanChange), and on run 0 of a clean start the clean
 * predictions from its first forward pass. Its masks and momentum state are released when it ends.
 */
const runOnce = async (
  shared: Shared,
  r: number,
  seed: number,
): Promise<{ readonly xAdv: tf.Tensor5D; readonly cleanPredictions?: ReadonlyArray<number> }> => {
  const { attack, model, labels, objective, options, x } = shared
  const run = prepare(x, seed, shared.searched)
  let xAdv: tf.Tensor5D | undefined
  let firstPredictions: tf.Tensor | undefined
  try {
    xAdv = initialise(attack.init, x, seed, run)
    for (let i = 0; i < attack.steps; i++) {
      const bodyIndex = i % attack.body.length
      const step = attack.body[bodyIndex] as Step
      const current: tf.Tensor5D = xAdv
      const [next, loss] = tf.tidy(() => {
        const [value, grad, logits] = i === 0 && shared.cleanStart ? cleanGradient(shared, current) : gradient(shared, current)
        // run 0's first forward pass at the clean clip gives the clean predictions
        if (logits !== undefined && r === 0 && shared.fromFirstStep) firstPredictions = tf.keep(tf.argMax(logits, 1))
        return [applyStep(step, { xAdv: current, g: grad, run, iteration: i, bodyIndex }), value]
      }) as [tf.Tensor5D, tf.Scalar]
      xAdv.dispose()
      xAdv = next
      try {
        if (options.onStep) {
          const value = (await loss.data())[0]!
          await options.onStep({ step: r * attack.steps + i + 1, steps: shared.runs * attack.steps, loss: value, run: r, runs: shared.runs })
        }
      } finally {
        loss.dispose()
      }
    }
    const last = attack.body[(attack.steps - 1) % attack.body.length] as Step
    if (reprojectionCanChange(last.constraints)) {
      const projected = project(last.constraints, x, xAdv)
      xAdv.dispose()
      xAdv = projected
    }
    return firstPredictions === undefined ? { xAdv } : { xAdv, cleanPredictions: Array.from(await firstPredictions.data()) }
  } catch (error) {
    xAdv?.dispose()
    throw error
  } finally {
    firstPredictions?.dispose()
    run.dispose()
  }
}
