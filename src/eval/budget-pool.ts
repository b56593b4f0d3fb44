/**
 * The budget curve measured by a pool of worker threads, as `eval` measures its chunks (`runTask`):
 * one task per attack and batch, holding that attack's budgets (named apart), so that each thread
 * keeps its backend and model, and the budgets of one attack share the clean pass and, where they
 * start at the clean clips, the first gradient (`withCleanMemo`). The points are those `budgetCurve`
 * measures in one thread, bit for bit: every budget runs on the same batches with the same chunk
 * indices (the seeds of random starts), and results do not depend on the thread count.
 *
 * @since 0.3.0
 */
import type { BackendChoice } from '../backend/backend.js'
import { encodeAttack } from '../dsl/codec.js'
import { budgetAt, budgetPlan, curveBatches, LP_BUDGETS, pointOf, type BudgetCurveOptions, type BudgetPoint, type LpAttackName } from './budget-curve.js'
import type { ChunkResult } from './chunk.js'
import type { DataRef } from './data.js'
import type { ChunkTask } from './task.js'
import { evalPool, inLanes, type EvalPool } from './pool.js'

export interface PooledCurve {
  readonly backend: BackendChoice
  /** The model's reference (a shipped name or a folder), as `eval` takes it. */
  readonly model: string
  readonly data: DataRef
  /** The curve's clips: item indices of `data`, all readable. */
  readonly ids: ReadonlyArray<number>
  /** Pool threads (at least 2; fewer tasks use fewer). */
  readonly workers: number
  /** The pool to run in (the caller ends it; e.g. the one the run's table used); default: one of its own. */
  readonly pool?: EvalPool
}

/** The row name of `attack` at `level` inside a task. */
export const nameOf = (attack: LpAttackName, level: number): string => `${attack} at ${level}`

/** One group per attack of the plan: its levels and what its tasks have counted so far. */
interface Group {
  readonly attack: LpAttackName
  readonly levels: ReadonlyArray<number>
  readonly correct: Map<number, number>
  batchesLeft: number
  seconds: number
}

/**
 * The tasks of the curve: for each attack of the plan and each batch of `o.batch` clips (all in one
 * by default), a chunk of that batch (its index: the chunk index budgetCurve gives it) holding the
 * attack at each of its levels above 0, named `nameOf(attack, level)`.
 */
export const curveTasks = (run: PooledCurve, o: BudgetCurveOptions = {}): Array<{ readonly group: Group; readonly task: ChunkTask }> => {
  const steps = o.steps ?? 8
  const q = o.stepFraction ?? 4
  const batches = curveBatches(run.ids.length, o).map(({ index, from, to }) => ({ index, ids: run.ids.slice(from, to) }))
  const plan = budgetPlan(o)
  const groups: Group[] = [...new Set(plan.map((p) => p.attack))].map((attack) => ({
    attack,
    levels: plan.filter((p) => p.attack === attack).map((p) => p.level),
    correct: new Map<number, number>(),
    batchesLeft: batches.length,
    seconds: 0,
  }))
  return groups.flatMap((group) =>
    batches.map((b) => {
      const attacks = group.levels
        .filter((level) => level > 0)
        .map((level) => {
          const { eps, alpha } = budgetAt(group.attack, level, q)
          return encodeAttack({ ...LP_BUDGETS[group.attack].make(eps, alpha, steps), name: nameOf(group.attack, level) })
        })
      return { group, task: { backend: run.backend, model: run.model, data: run.data, attacks, chunk: b.index, ids: b.ids, keep: [] } }
    }),
  )
}

/** The curve of `budgetPlan(o)` on `run.ids`, measured in `run.workers` threads; progress per attack, as each attack's batches finish. */
export const pooledBudgetCurve = async (run: PooledCurve, o: BudgetCurveOptions = {}): Promise<BudgetPoint[]> => {
  const n = run.ids.length
  const plan = budgetPlan(o)
  const tasks = curveTasks(run, o)
  const points = new Map<string, BudgetPoint>()
  const onResult = (group: Group, result: ChunkResult, seconds: number) => {
    const count = (attack: string, correct: (r: ChunkResult['rows'][number]) => boolean) => result.rows.filter((r) => r.attack === attack && correct(r)).length
    const first = result.rows[0]?.attack
    for (const level of group.levels) {
      // the clean point from the chunk's clean predictions (the same in every task of the batch)
      const correct = level === 0 ? (first === undefined ? 0 : count(first, (r) => r.clean === r.label)) : count(nameOf(group.attack, level), (r) => r.adversarial === r.label)
      group.correct.set(level, (group.correct.get(level) ?? 0) + correct)
    }
    group.seconds += seconds
    if (--group.batchesLeft > 0) return
    for (const level of group.levels) {
      const point = pointOf(group.attack, level, group.correct.get(level)!, n, o)
      points.set(`${group.attack}|${level}`, point)
      o.onProgress?.({ done: points.size, total: plan.length, point, seconds: group.seconds / group.levels.length })
    }
  }
  const threads = Math.min(run.workers, tasks.length)
  const own = run.pool === undefined ? evalPool(threads) : undefined
  const pool = run.pool ?? own!
  try {
    await inLanes(
      tasks,
      threads,
      async ({ group, task }) => {
        const started = performance.now()
        const result = await pool.run(task)
        onResult(group, result, (performance.now() - started) / 1000)
      },
      o.signal,
    )
  } finally {
    await own?.destroy()
  }
  // in the plan's order; an aborted run returns the points measured so far
  return plan.flatMap(({ attack, level }) => points.get(`${attack}|${level}`) ?? [])
}
