/** The reproduce pool's worker thread: trains and evaluates one model per call (see reproduce-job.ts). */
import { runJob, type JobTask } from './reproduce-job.js'

export default (task: JobTask) => runJob(task)
