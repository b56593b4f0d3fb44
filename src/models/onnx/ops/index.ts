/**
 * The operator table: one rule per ONNX op type of the default domain (ai.onnx), grouped by family.
 *
 * @since 0.3.0
 */
import { conv } from './conv.js'
import { elementwise } from './elementwise.js'
import { linear } from './linear.js'
import { pools } from './pool.js'
import { reductions } from './reduce.js'
import type { OpTable } from './rule.js'
import { shapes } from './shape.js'

export type { OpRule, OpTable, RunContext } from './rule.js'

export const OPS: OpTable = Object.freeze({ ...conv, ...pools, ...elementwise, ...linear, ...reductions, ...shapes })

/** The op types multav runs, sorted (for docs and messages). */
export const SUPPORTED_OPS: ReadonlyArray<string> = Object.keys(OPS).sort()
