/**
 * The tensor interpreter: runs an attack value on a batch of clips with TensorFlow.js.
 *
 * Clips are `[N, T, H, W, C]` float32 in [0, 1]; a model maps them to `[N, K]` logits. Each iteration
 * is one `tf.tidy` (gradient → direction → update → constraints); the previous iterate is disposed, so
 * the number of live tensors stays constant across steps.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
// tfjs-core's Node bundle registers no gradients; tfjs-layers registers them all.
// Its Node bundle has no chained ops either (x.add(y)): ops are called as functions.
import '@tensorflow/tfjs-layers'
import { validateAttack } from '../dsl/codec.js'
import { scaleFree } from '../dsl/constructors.js'
import type { Attack, Constraint, Direction, Init, Loss, RatioReading, Region, Step, Units } from '../dsl/types.js'
import { withFilterCache } from '../ops/conv3d.js'
import { sign } from '../ops/sign.js'
import { certify, type Certificate } from './certify.js'
import { gaussianNoise, uniformNoise } from '../core/noise.js'
import { batchMask, regionKey, searchedIn, type Searched } from './regions.js'
import { searchRegions } from './search.js'

import type { Model } from '../core/model.js'

export interface StepInfo {
  /** 1-based iteration number. */
  readonly step: number
  readonly steps: number
  /** The attacker's objective at the iterate the gradient was taken at (mean over the batch). */
  readonly loss: number
}

export interface RunOptions {
  /** Overrides the attack's seed. */
  readonly seed?: number
  /** Called after every iteration (reads the loss from the device, so it costs a sync). */
  readonly onStep?: (info: StepInfo) => void | Promise<void>
}

/** What the returned clip achieved, per sample unless stated. */
export interface Sanity {
  /** ‖x' − x‖∞. */
  readonly linf: ReadonlyArray<number>
  /** ‖x' − x‖₂. */
  readonly l2: ReadonlyArray<number>
  /** max over x > 0 of max(x'/x, x/x') (1 when nothing changed; Infinity if a positive pixel hit 0). */
  readonly ratioLinf: ReadonlyArray<number>
  /** ‖log(x'/x)‖₂ over x > 0. */
  readonly logRatioL2: ReadonlyArray<number>
  /** Non-finite values in the whole returned batch. */
  readonly nanCount: number
  readonly min: number
  readonly max: number
}

export interface AttackResult {
  /** The adversarial clips, `[N, T, H, W, C]`. The caller owns (and disposes) this tensor. */
  readonly adversarial: tf.Tensor5D
  /** Per sample: misclassified (untargeted) or classified as the target (targeted), on `adversarial`. */
  readonly success: ReadonlyArray<boolean>
  /** Per sample: the model's class on `adversarial`. */
  readonly predictions: ReadonlyArray<number>
  /** Per sample: the model's class on the clean clip (one forward pass before the attack). */
  readonly cleanPredictions: ReadonlyArray<number>
  /** The attacker's objective on `adversarial` (mean cross-entropy; negated when targeted). */
  readonly loss: number
  readonly sanity: Sanity
  /** What the attack's structure guarantees; `adversarial` has been projected onto it. */
  readonly certificate: Certificate
  /** The masks ([N, T, H, W]) the search found for the attack's searched rectangles, by region key. */
  readonly searched: Searched
  /** The TensorFlow.js backend the run used ('wasm', 'cpu', 'tensorflow', …). */
  readonly backend: string
  readonly seed: number
}

/**
 * Runs `attack` against `model` on clips `x` with true labels `y`.
 * Rejects with a specific message on an invalid attack, shape, range, or label.
 * The model's weights are constants for the run: conv3d's gradient sub-filters are made once
 * (`withFilterCache`) and released when it ends.
 */
export const runAttack = (
  attack: Attack,
  model: Model,
  x: tf.Tensor5D,
  y: tf.Tensor1D | ReadonlyArray<number>,
  options: RunOptions = {},
): Promise<AttackResult> => withFilterCache(() => attackOnce(attack, model, x, y, options))

const attackOnce = async (
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
  const goal = goalOf(attack.loss, labels)
  const rects = searchedRects(attack)
  // What the model says on the clean clips (and the check of its output against the labels) comes
  // from the first step's forward pass when the attack starts at the clean clip; otherwise from one
  // forward pass before the attack (outside any gradient scope).
  const fromFirstStep = attack.init._tag === 'Clean' && attack.steps > 0 && rects.length === 0
  const clean = fromFirstStep ? undefined : await cleanPass(model, x, labels, attack.loss)
  // Searched rectangles are placed once, before the attack, on the clean clips.
  const searched = await searchRegions(rects, { model, x, loss: lossPerClip(attack.loss, goal) })
  const run = prepare(attack, model, x, goal, seed, searched)
  let xAdv: tf.Tensor5D | undefined
  let firstPredictions: tf.Tensor | undefined
  try {
    xAdv = initialise(attack.init, x, seed, run)
    for (let i = 0; i < attack.steps; i++) {
      const step = attack.body[i % attack.body.length] as Step
      const current: tf.Tensor5D = xAdv
      // tfjs leaks tensors when an error is thrown inside tf.valueAndGrad: the first step's checks
      // (and a model that throws) stash their error, return a zero objective, and throw below.
      let failure: unknown
      const objective =
        i === 0 && fromFirstStep
          ? (v: tf.Tensor5D): tf.Scalar => {
              try {
                const logits = model(v)
                checkLogits(logits, labels, attack.loss)
                firstPredictions = tf.keep(tf.argMax(logits, 1))
                return run.objectiveOf(logits)
              } catch (e) {
                failure = e
                return tf.sum(tf.mul(v, 0))
              }
            }
          : run.objective
      const [next, loss] = tf.tidy(() => {
        const { value, grad } = tf.valueAndGrad((v: tf.Tensor) => objective(v as tf.Tensor5D))(current)
        return [applyStep(step, current, grad as tf.Tensor5D, run), value]
      }) as [tf.Tensor5D, tf.Scalar]
      xAdv.dispose()
      xAdv = next
      if (failure !== undefined) {
        loss.dispose()
        throw failure
      }
      try {
        if (options.onStep) await options.onStep({ step: i + 1, steps: attack.steps, loss: (await loss.data())[0]! })
      } finally {
        loss.dispose()
      }
    }
    // Safety net (as foolbox): re-apply the final step's constraints, so float drift cannot break them.
    const last = attack.body[(attack.steps - 1) % attack.body.length] as Step
    const projected = project(last.constraints, x, xAdv)
    xAdv.dispose()
    xAdv = projected
    const certificate = certify({ ...attack, seed })
    const backend = tf.getBackend()
    const cleanPredictions = clean ?? Array.from(await firstPredictions!.data())
    return { ...(await evaluate(projected, x, labels, run)), cleanPredictions, adversarial: projected, certificate, searched, seed, backend }
  } catch (error) {
    xAdv?.dispose()
    throw error
  } finally {
    firstPredictions?.dispose()
    run.dispose()
  }
}

// -------------------------------------------------------------------------------------------------
// inputs
// -------------------------------------------------------------------------------------------------

const assertBackend = (): void => {
  if (Object.keys(tf.engine().registryFactory).length === 0)
    throw new Error('runAttack: no TensorFlow.js backend is registered; call initBackend() first')
}

/** True for a tfjs tensor (by its fields, so that a tensor of another copy of tfjs-core counts too). */
const isTensor = (u: unknown): u is tf.Tensor =>
  typeof u === 'object' && u !== null && 'dataId' in u && 'shape' in u && 'dtype' in u && Array.isArray((u as tf.Tensor).shape)

/** What `u` is, for a message: "a Promise", "undefined", "the number 3", "an array", … */
const describe = (u: unknown): string =>
  u === null || u === undefined
    ? String(u)
    : typeof (u as PromiseLike<unknown>).then === 'function'
      ? 'a Promise'
      : typeof u === 'number' || typeof u === 'string' || typeof u === 'boolean'
        ? `the ${typeof u} ${JSON.stringify(u)}`
        : Array.isArray(u)
          ? 'an array'
          : ArrayBuffer.isView(u)
            ? `a ${u.constructor.name}`
            : typeof u === 'object'
              ? 'an object'
              : `a ${typeof u}`

/** The model is a function, and x a live, non-empty tensor of rank 5. */
const checkModelAndClips = (model: unknown, x: unknown): void => {
  if (typeof model !== 'function')
    throw new Error(`runAttack: model must be a function from [N, T, H, W, C] clips to [N, K] logits, got ${describe(model)}`)
  if (!isTensor(x)) throw new Error(`runAttack: x must be a tf.Tensor of [N, T, H, W, C] clips, got ${describe(x)}`)
  if (x.isDisposed) throw new Error('runAttack: x has been disposed; pass a live tensor')
  if (x.rank !== 5) throw new Error(`runAttack: x must be [N, T, H, W, C], got shape [${x.shape.join(', ')}]`)
  if (x.shape[0] === 0) throw new Error(`runAttack: x holds no clips (shape [${x.shape.join(', ')}]); expected at least 1`)
  if (x.size === 0) throw new Error(`runAttack: x has an empty dimension (shape [${x.shape.join(', ')}]); expected every size ≥ 1`)
}

/** The labels as numbers: from an array, a typed array or a live rank-1 tensor. */
const labelsOf = async (y: unknown): Promise<ReadonlyArray<number>> => {
  if (Array.isArray(y)) return [...(y as ReadonlyArray<number>)]
  if (ArrayBuffer.isView(y) && !(y instanceof DataView)) return Array.from(y as unknown as ArrayLike<number>)
  if (!isTensor(y)) throw new Error(`runAttack: y must be an array or a rank-1 tensor of class indices, got ${describe(y)}`)
  if (y.isDisposed) throw new Error('runAttack: y has been disposed; pass a live tensor')
  if (y.rank !== 1)
    throw new Error(`runAttack: y must be a rank-1 tensor of class indices (not one-hot rows), got shape [${y.shape.join(', ')}]`)
  return Array.from(await y.data())
}

const checkInputs = async (attack: Attack, x: tf.Tensor5D, labels: ReadonlyArray<number>): Promise<void> => {
  const [N, T, H, W] = x.shape
  const problems = validateAttack(attack, { clip: { T, H, W } })
  if (problems.length > 0) throw new Error(`runAttack: invalid attack:\n  ${problems.join('\n  ')}`)
  if (x.dtype !== 'float32') throw new Error(`runAttack: x must be float32, got ${x.dtype}`)
  if (labels.length !== N) throw new Error(`runAttack: y has ${labels.length} labels for ${N} clips`)
  const bad = labels.findIndex((l) => !Number.isInteger(l) || l < 0)
  if (bad >= 0) throw new Error(`runAttack: y[${bad}] must be a class index (integer ≥ 0), got ${labels[bad]}`)
  const stats = tf.tidy(() => tf.stack([tf.cast(tf.all(tf.isFinite(x)), 'float32'), tf.min(x), tf.max(x)]))
  const [finite, lo, hi] = Array.from(await stats.data())
  stats.dispose()
  if (finite !== 1) throw new Error('runAttack: x contains NaN or Infinity')
  if (lo! < 0 || hi! > 1) throw new Error(`runAttack: x must lie in [0, 1], got values in [${lo}, ${hi}]`)
}

// -------------------------------------------------------------------------------------------------
// per-run constants: the clean clip, masks, the objective
// -------------------------------------------------------------------------------------------------

interface Run {
  readonly clean: tf.Tensor5D
  /** Values per sample, N = T·H·W·C (for 'rms' units). */
  readonly perSample: number
  readonly model: Model
  /** The region's [N, T, H, W, 1] mask (random regions drawn per sample from the seed), made once per run. */
  readonly mask: (region: Region) => tf.Tensor
  /** L(x') that the attacker ascends: CE(y), or −CE(target); mean over the batch. */
  readonly objective: (xAdv: tf.Tensor5D) => tf.Scalar
  /** The same objective from logits already computed. */
  readonly objectiveOf: (logits: tf.Tensor2D) => tf.Scalar
  /** Per sample, the class the attack wants the model to output (targeted) or avoid (untargeted). */
  readonly goal: ReadonlyArray<number>
  readonly targeted: boolean
  readonly dispose: () => void
}

/**
 * What the model returned is a tensor (a Promise is swallowed: its rejection must not go unhandled,
 * and what it resolves to is disposed).
 */
function checkIsTensor(out: unknown, N: number): asserts out is tf.Tensor {
  if (isTensor(out)) return
  if (out !== null && typeof (out as PromiseLike<unknown>)?.then === 'function')
    Promise.resolve(out).then((v) => (isTensor(v) ? v.dispose() : undefined), () => undefined)
  const why = describe(out) === 'a Promise' ? ' (the model must be synchronous: the attack differentiates through it)' : ''
  throw new Error(`runAttack: the model must return a tf.Tensor of [${N}, K] logits, got ${describe(out)}${why}`)
}

/** Checks `[N, K]` float32 logits against the labels and the attack's target class. */
const checkLogits = (logits: unknown, labels: ReadonlyArray<number>, loss: Loss): void => {
  checkIsTensor(logits, labels.length)
  if (logits.isDisposed) throw new Error('runAttack: the model returned a disposed tensor (was it made inside a tf.tidy that disposed it?)')
  if (logits.rank !== 2 || logits.shape[0] !== labels.length)
    throw new Error(`runAttack: the model must return [${labels.length}, K] logits, got shape [${logits.shape.join(', ')}]`)
  if (logits.dtype !== 'float32') throw new Error(`runAttack: the model must return float32 logits, got ${logits.dtype}`)
  const K = logits.shape[1]!
  if (K < 2) throw new Error(`runAttack: the model returns ${K} class${K === 1 ? '' : 'es'}; an attack needs at least 2`)
  const bad = labels.findIndex((l) => l >= K)
  if (bad >= 0) throw new Error(`runAttack: label ${labels[bad]} (sample ${bad}) is not below the model's ${K} classes`)
  if (loss.target._tag === 'Targeted' && loss.target.label >= K)
    throw new Error(`runAttack: the target class ${loss.target.label} is not below the model's ${K} classes`)
}

/** The model's classes on the clean clips (one forward pass), its output checked first. */
const cleanPass = async (model: Model, x: tf.Tensor5D, labels: ReadonlyArray<number>, loss: Loss): Promise<ReadonlyArray<number>> => {
  const logits = tf.tidy(() => {
    const out: unknown = model(x)
    checkIsTensor(out, labels.length) // inside the tidy: whatever the model made is released
    return out as tf.Tensor2D
  })
  try {
    checkLogits(logits, labels, loss)
    const predictions = tf.argMax(logits, 1)
    try {
      return Array.from(await predictions.data())
    } finally {
      predictions.dispose()
    }
  } finally {
    logits.dispose()
  }
}

/** Per sample, the class the attack pushes towards (targeted) or away from (untargeted). */
const goalOf = (loss: Loss, labels: ReadonlyArray<number>): ReadonlyArray<number> => {
  const target = loss.target
  return target._tag === 'Untargeted' ? labels : labels.map(() => target.label)
}

/**
 * The attacker's loss per clip for `[reps·N, K]` logits (reps stacked copies of the batch):
 * CE(goal), negated when targeted. Call inside a tidy.
 */
const lossPerClip =
  (loss: Loss, goal: ReadonlyArray<number>) =>
  (logits: tf.Tensor2D, reps: number): tf.Tensor1D =>
    attackerLoss(loss, logits, oneHotOf(Array.from({ length: reps }, () => goal).flat(), logits.shape[1]))

/** Float one-hot rows for class indices. */
const oneHotOf = (classes: ReadonlyArray<number>, K: number): tf.Tensor2D =>
  tf.cast(tf.oneHot(tf.tensor1d([...classes], 'int32'), K), 'float32') as tf.Tensor2D

/** −Σ onehot·log softmax(logits) per row (cross-entropy), negated when the attack is targeted. */
const attackerLoss = (loss: Loss, logits: tf.Tensor2D, oneHot: tf.Tensor): tf.Tensor1D => {
  const ce = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1)) as tf.Tensor1D
  return loss.target._tag === 'Targeted' ? tf.neg(ce) : ce
}

/** Every searched rectangle the attack's init and steps use. */
const searchedRects = (attack: Attack) => {
  const inDirection = (d: Direction): ReadonlyArray<Region> =>
    d._tag === 'Gradient' ? [] : d._tag === 'MaskRegion' ? [d.region, ...inDirection(d.of)] : inDirection(d.of)
  const regions = [
    ...('region' in attack.init && attack.init.region ? [attack.init.region] : []),
    ...attack.body.flatMap((s) => inDirection(s.update._tag === 'Add' ? s.update.offset.of : s.update.factor.of)),
  ]
  return regions.flatMap(searchedIn)
}

const prepare = (
  attack: Attack,
  model: Model,
  x: tf.Tensor5D,
  goal: ReadonlyArray<number>,
  seed: number,
  searched: Searched,
): Run => {
  const [N, T, H, W, C] = x.shape
  const masks = new Map<string, tf.Tensor>()
  const mask = (region: Region): tf.Tensor => {
    const key = regionKey(region)
    const cached = masks.get(key)
    if (cached) return cached
    const m = tf.keep(tf.tensor(Float32Array.from(batchMask(region, { T, H, W }, N, seed, searched)), [N, T, H, W, 1]))
    masks.set(key, m)
    return m
  }
  const targeted = attack.loss.target._tag === 'Targeted'
  // the goal's one-hot rows, made at the first use (when the number of classes K is known) and kept
  let oneHot: tf.Tensor2D | undefined
  const oneHotFor = (K: number): tf.Tensor2D => (oneHot ??= tf.keep(oneHotOf(goal, K)))
  const objectiveOf = (logits: tf.Tensor2D): tf.Scalar => tf.mean(attackerLoss(attack.loss, logits, oneHotFor(logits.shape[1])))
  const objective = (xAdv: tf.Tensor5D): tf.Scalar => objectiveOf(model(xAdv))
  return {
    clean: x,
    perSample: T * H * W * C,
    model,
    mask,
    objective,
    objectiveOf,
    goal,
    targeted,
    dispose: () => {
      masks.forEach((m) => m.dispose())
      oneHot?.dispose()
    },
  }
}

// -------------------------------------------------------------------------------------------------
// init, step, constraints
// -------------------------------------------------------------------------------------------------

/** A parameter in absolute units: 'rms' values are per value, × √(values per sample). */
const effective = (value: number, units: Units, perSample: number): number =>
  units === 'rms' ? value * Math.sqrt(perSample) : value

const initialise = (init: Init, x: tf.Tensor5D, seed: number, run: Run): tf.Tensor5D =>
  tf.tidy(() => {
    switch (init._tag) {
      case 'Clean':
        return tf.clone(x)
      case 'Uniform': {
        const eps = effective(init.eps, init.units, run.perSample)
        const masked = (noise: tf.Tensor) => (init.region ? tf.mul(noise, run.mask(init.region)) : noise)
        // L∞: δ = ε·U(−1, 1); L2: δ = ε·z/‖z‖₂ per sample.
        const delta =
          init.norm === 'linf'
            ? tf.mul(masked(tf.tensor(uniformNoise(seed, x.size), x.shape)), eps)
            : unitPerSample(masked(tf.tensor(gaussianNoise(seed, x.size), x.shape)), eps)
        return tf.clipByValue(tf.add(x, delta), 0, 1) as tf.Tensor5D
      }
      case 'Fill': {
        const inside = run.mask(init.region)
        return tf.add(tf.mul(x, tf.sub(1, inside)), tf.mul(inside, init.value)) as tf.Tensor5D
      }
      case 'UniformRatio': {
        // log(x'/x) ~ U(−ln ε, ln ε)
        const u = tf.mul(tf.tensor(uniformNoise(seed, x.size), x.shape), Math.log(init.eps))
        const logRatio = init.region ? tf.mul(u, run.mask(init.region)) : u
        return tf.clipByValue(tf.mul(x, tf.exp(logRatio)), 0, 1) as tf.Tensor5D
      }
    }
  })

const SAMPLE_AXES = [1, 2, 3, 4]
const FRAME_AXES = [2, 3, 4]

/**
 * ‖v‖₂ over `axes`, kept for broadcasting, computed as m·‖v/m‖₂ with m = max|v| so that squares of
 * large values (ratios up to 1e30) do not overflow float32 and squares of tiny gradients do not vanish.
 */
const l2Norm = (v: tf.Tensor, axes: number[]): tf.Tensor => {
  const m = tf.max(tf.abs(v), axes, true)
  const safeM = tf.where(tf.greater(m, 0), m, tf.onesLike(m))
  return tf.mul(safeM, tf.sqrt(tf.sum(tf.square(tf.div(v, safeM)), axes, true)))
}

/** ‖v‖₂ over `axes` (kept), with 1 where it is 0 so that v / norm stays 0 there. */
const safeNorm = (v: tf.Tensor, axes: number[]): tf.Tensor => {
  const n = l2Norm(v, axes)
  return tf.where(tf.greater(n, 0), n, tf.onesLike(n))
}

/** scale·v/‖v‖₂ per sample (0 where v is 0). */
const unitPerSample = (v: tf.Tensor, scale: number): tf.Tensor => tf.mul(tf.div(v, safeNorm(v, SAMPLE_AXES)), scale)

const direction = (d: Direction, g: tf.Tensor5D, run: Run): tf.Tensor => {
  switch (d._tag) {
    case 'Gradient':
      return g
    case 'Sign':
      // exactly ±1 for every non-zero value (tf.sign has a dead zone below 1.19e-7 on wasm)
      return sign(direction(d.of, g, run))
    case 'Normalize': {
      const v = direction(d.of, g, run)
      return tf.div(v, safeNorm(v, d.scope === 'sample' ? SAMPLE_AXES : FRAME_AXES))
    }
    case 'MaskRegion':
      return tf.mul(direction(d.of, g, run), run.mask(d.region))
  }
}

/** The largest exponent of a multiplicative step: exp(88) ≈ 1.65e38 is below float32's largest value, 3.4e38. */
const MAX_EXPONENT = 88

/**
 * x' ⊙ α^d = x' ⊙ exp(d·ln α). Where |d·ln α| could pass 88 (a raw gradient), the exponent is capped
 * there, so that exp stays finite and 0 stays a fixed point (0·∞ would be NaN; an exponent of 88
 * takes any pixel ≥ 3e−37 past 1 anyway). A signed or normalised direction never gets there and
 * pays nothing for it.
 */
const multiplyStep = (xAdv: tf.Tensor5D, of: Direction, logAlpha: number, g: tf.Tensor5D, run: Run): tf.Tensor => {
  const exponent = tf.mul(direction(of, g, run), logAlpha)
  // a signed or normalised direction has |d| ≤ 1, so |d·ln α| ≤ |ln α|
  const capped = !scaleFree(of) || Math.abs(logAlpha) > MAX_EXPONENT
  return tf.mul(xAdv, tf.exp(capped ? tf.minimum(exponent, MAX_EXPONENT) : exponent))
}

const applyStep = (step: Step, xAdv: tf.Tensor5D, g: tf.Tensor5D, run: Run): tf.Tensor5D => {
  const u = step.update
  const updated =
    u._tag === 'Add'
      ? // x' + α·d
        tf.add(xAdv, tf.mul(direction(u.offset.of, g, run), effective(u.offset.alpha, u.offset.units, run.perSample)))
      : multiplyStep(xAdv, u.factor.of, effective(Math.log(u.factor.alpha), u.factor.units, run.perSample), g, run)
  return applyConstraints(step.constraints, run.clean, updated as tf.Tensor5D, run.perSample)
}

/** Applies `constraints` in order to x' (x the clean clip). Each is an exact no-op where it already holds. */
const applyConstraints = (
  constraints: ReadonlyArray<Constraint>,
  x: tf.Tensor5D,
  xAdv: tf.Tensor5D,
  perSample: number,
): tf.Tensor5D => constraints.reduce((v, c) => constrain(c, x, v, perSample) as tf.Tensor5D, xAdv)

const constrain = (c: Constraint, x: tf.Tensor5D, xAdv: tf.Tensor5D, perSample: number): tf.Tensor => {
  switch (c._tag) {
    case 'Clip':
      return tf.clipByValue(xAdv, c.lo, c.hi)
    case 'ProjectBall': {
      const eps = effective(c.eps, c.units, perSample)
      // x − ε ≤ x' ≤ x + ε: min/max return x' itself where it holds (an exact no-op), in 4 ops
      if (c.norm === 'linf') return tf.minimum(tf.maximum(xAdv, tf.sub(x, eps)), tf.add(x, eps))
      const delta = tf.sub(xAdv, x)
      const n = l2Norm(delta, SAMPLE_AXES)
      return tf.where(tf.greater(n, eps), tf.add(x, tf.mul(delta, tf.div(eps, n))), xAdv)
    }
    case 'ProjectRatio':
      return c.norm === 'linf'
        ? // x/ε ≤ x' ≤ x·ε; where x = 0 both bounds are 0, so x' = 0 (ratio taken as 1).
          tf.minimum(tf.maximum(xAdv, tf.div(x, c.eps)), tf.mul(x, c.eps))
        : projectRatioL2(c.reading, effective(c.reading === 'log' ? Math.log(c.eps) : c.eps, c.units, perSample), x, xAdv)
  }
}

/**
 * Ratios are capped at 1e30 inside the L2 ratio projections, and floored at 1e−30 for the log reading, so that x' ≤ 0 < x (after an
 * additive step) or a tiny x (a float32 denormal) give a finite, far-out ratio instead of 0 or Infinity.
 */
const RATIO_FLOOR = 1e-30
const RATIO_CEILING = 1e30

/** x'/x where x > 0, 1 where x = 0 (the ratio is taken as 1 there). */
const ratioOf = (x: tf.Tensor, xAdv: tf.Tensor, positive: tf.Tensor): tf.Tensor =>
  tf.where(positive, tf.div(xAdv, tf.where(positive, x, tf.onesLike(x))), tf.onesLike(x))

/**
 * L2 ratio projection on one of its readings, with `bound` on the reading's norm:
 * 'log' scales l = log(x'/x), 'literal' scales r = x'/x, 'deviation' scales r − 1. x' = 0 where x = 0.
 */
const projectRatioL2 = (reading: RatioReading, bound: number, x: tf.Tensor5D, xAdv: tf.Tensor5D): tf.Tensor => {
  const positive = tf.greater(x, 0)
  // Only the log reading needs the floor (log of x' ≤ 0); the others scale the raw ratio exactly.
  const ratio = tf.clipByValue(ratioOf(x, xAdv, positive), reading === 'log' ? RATIO_FLOOR : -RATIO_CEILING, RATIO_CEILING)
  // 'literal' sums over x > 0 only: the fixed zeros' ratio 1 cannot be scaled (see types.ts).
  const v = reading === 'log' ? tf.log(ratio) : reading === 'literal' ? tf.where(positive, ratio, tf.zerosLike(x)) : tf.sub(ratio, 1)
  const n = l2Norm(v, SAMPLE_AXES)
  const scaled = tf.mul(v, tf.div(bound, n))
  const back = reading === 'log' ? tf.exp(scaled) : reading === 'literal' ? scaled : tf.add(scaled, 1)
  return tf.where(positive, tf.where(tf.greater(n, bound), tf.mul(x, back), xAdv), tf.zerosLike(x))
}

// -------------------------------------------------------------------------------------------------
// evaluation of the returned clip
// -------------------------------------------------------------------------------------------------

const evaluate = async (
  xAdv: tf.Tensor5D,
  x: tf.Tensor5D,
  labels: ReadonlyArray<number>,
  run: Run,
): Promise<Omit<AttackResult, 'adversarial' | 'certificate' | 'seed' | 'cleanPredictions' | 'searched' | 'backend'>> => {
  const N = x.shape[0]
  // every figure in one float32 vector, read back in one transfer:
  // [predictions (N), loss, linf (N), l2 (N), ratioLinf (N), logRatioL2 (N), nanCount, min, max,
  //  finite logits (N)]
  const stats = tf.tidy(() => {
    const delta = tf.sub(xAdv, x)
    const positive = tf.greater(x, 0)
    const ratio = ratioOf(x, xAdv, positive)
    const finite = tf.isFinite(xAdv)
    const logits = run.model(xAdv)
    return tf.concat([
      tf.cast(tf.argMax(logits, 1), 'float32'),
      tf.reshape(run.objectiveOf(logits), [1]),
      tf.max(tf.abs(delta), SAMPLE_AXES),
      tf.sqrt(tf.sum(tf.square(delta), SAMPLE_AXES)),
      tf.max(tf.maximum(ratio, tf.reciprocal(ratio)), SAMPLE_AXES),
      tf.sqrt(tf.sum(tf.square(tf.log(ratio)), SAMPLE_AXES)),
      tf.reshape(tf.cast(tf.sum(tf.cast(tf.logicalNot(finite), 'int32')), 'float32'), [1]),
      tf.reshape(tf.min(tf.where(finite, xAdv, tf.fill(xAdv.shape, Infinity))), [1]),
      tf.reshape(tf.max(tf.where(finite, xAdv, tf.fill(xAdv.shape, -Infinity))), [1]),
      tf.cast(tf.all(tf.isFinite(logits), 1), 'float32'),
    ])
  })
  let v: Float32Array
  try {
    v = (await stats.data()) as Float32Array
  } finally {
    stats.dispose()
  }
  const part = (offset: number, length: number) => Array.from(v.subarray(offset, offset + length))
  // A model that returns NaN or ±∞ would give plausible-looking figures (argMax of NaN is class 0),
  // and wasm's clip turns a NaN pixel into 0: refuse the run instead, naming the clip.
  const broken = part(5 * N + 4, N).findIndex((f) => f !== 1)
  if (broken >= 0) throw new Error(`runAttack: the model returned NaN or Infinity logits for clip ${broken} (of ${N}) of the attacked batch`)
  const predictions = part(0, N)
  return {
    predictions,
    success: predictions.map((p, i) => (run.targeted ? p === run.goal[i] : p !== labels[i])),
    loss: v[N]!,
    sanity: {
      linf: part(N + 1, N),
      l2: part(2 * N + 1, N),
      ratioLinf: part(3 * N + 1, N),
      logRatioL2: part(4 * N + 1, N),
      nanCount: v[5 * N + 1]!,
      min: v[5 * N + 2]!,
      max: v[5 * N + 3]!,
    },
  }
}

/**
 * Projects x' onto `constraints` around the clean clip x (in order), as the interpreter does after each
 * update. Each projection is idempotent and an exact no-op where its constraint already holds. The
 * caller owns the result.
 */
export const project = (constraints: ReadonlyArray<Constraint>, x: tf.Tensor5D, xAdv: tf.Tensor5D): tf.Tensor5D =>
  tf.tidy(() => {
    const out = applyConstraints(constraints, x, xAdv, x.size / x.shape[0])
    return out === xAdv ? tf.clone(xAdv) : out
  })
