/** `multav reproduce`: the paper's table on the shipped benchmark. */
import { join } from 'node:path'
import { FULL, QUICK, reproduce } from '../eval/reproduce.js'
import { defineCommand } from './command.js'
import { checkOutFolder } from './errors.js'
import { boolean, string } from './options.js'
import { backendOf, BACKEND_OPTIONS, capWorkers, stoppable, workersOption } from './shared.js'

export const reproduceCommand = defineCommand({
  name: 'reproduce',
  options: {
    quick: boolean({ description: 'the whole pipeline on tiny clips and a tiny network (minutes)' }),
    workers: workersOption('jobs'),
    out: string({
      metavar: 'DIR',
      computedDefault: { text: 'multav-out/reproduce (multav-out/reproduce-quick with --quick)', value: (v) => join('multav-out', v['quick'] === true ? 'reproduce-quick' : 'reproduce') },
      description: 'the folder of the models and the table',
    }),
    ...BACKEND_OPTIONS,
  },
  summary: "the paper's table on the shipped benchmark: the clean model and 30 adversarially trained ones, each evaluated on clean clips and all ten attacks",
  details: `For the plain network and the 3D and 2D denoising variants, a model adversarially trained on
    each MultAV attack and one on its additive twin (31 models in all); writes table.md and table.json.
    Seeded and resumable: run the same command again to continue (a finished model is not retrained).`,
  run: async (v, _p, { io, argv }) => {
    const workers = capWorkers(v.workers, io)
    checkOutFolder(v.out)
    const backend = backendOf(v)
    return stoppable(io, 'jobs', async (signal) => {
      io.log(`reproducing the paper's table${v.quick ? ' (quick)' : ''}: 31 models, ${workers} worker(s) → ${v.out}`)
      const outcome = await reproduce({ out: v.out, config: v.quick ? QUICK : FULL, workers, backend, log: io.log, signal, command: `multav ${argv.join(' ')}` })
      if (!outcome.complete) {
        io.warn(`stopped; run the same command to continue`)
        return 130
      }
      io.log('')
      io.log(outcome.markdown!)
      io.log('')
      io.log(`${outcome.seconds.toFixed(0)} s; ${join(v.out, 'table.md')}, ${join(v.out, 'table.json')}`)
      return 0
    })
  },
})
