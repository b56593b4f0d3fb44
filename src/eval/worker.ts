/** The pool's worker thread: evaluates one chunk per call (see task.ts). */
import { runTask, type ChunkTask } from './task.js'

export default (task: ChunkTask) => runTask(task)
