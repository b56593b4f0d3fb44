/**
 * The tensor interpreter: runs an attack value on a batch of clips with TensorFlow.js.
 *
 * Clips are `[N, T, H, W, C]` float32 in [0, 1]; a model maps them to `[N, K]` logits. Each iteration
 * is one `tf.tidy` (gradient → direction → update → constraints); the previous iterate is disposed, so
 * the number of live tensors stays constant across steps. Every reader of the algebra is a rule table
 * in `./tensor/`: directions (`direction.ts`), updates and schedules (`update.ts`), constraints
 * (`constraint.ts`), starts (`init.ts`), losses and targets (`loss.ts`), the regions an attack uses
 * (`walk.ts`); the loop and restarts are in `run.ts`.
 *
 * @since 0.1.0
 */
export { runAttack } from './tensor/run.js'
export { cleanLogits, withCleanMemo } from './tensor/clean-memo.js'
export { project } from './tensor/constraint.js'
export type { AttackResult, RunOptions, Sanity, StepInfo } from './tensor/result.js'
