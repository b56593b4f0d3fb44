/** `multav merge`: the shards of `multav eval --shard i/n` combined into one run folder. */
import { mergeRuns } from '../eval/results.js'
import { defineCommand, manyPositionals } from './command.js'
import { checkOutFolder, UsageError } from './errors.js'
import { boolean, string } from './options.js'
import { jsonIo, printSummary } from './shared.js'

export const mergeCommand = defineCommand({
  name: 'merge',
  positionals: manyPositionals('<shard dir>…'),
  options: {
    out: string({ metavar: 'DIR', required: 'merge needs --out DIR (where the combined results go)', description: 'the combined run folder; must be new' }),
    json: boolean({ description: 'print the summary as JSON on stdout, as eval --json does' }),
  },
  summary: 'combine the results of `multav eval --shard i/n` runs (all n shards, complete) into one run folder',
  details: "The combined folder holds results.json, .md, .csv and the shards' pictures.",
  run: async (v, dirs, { io: stdio, argv }) => {
    const io = jsonIo(stdio, v.json)
    if (dirs.length === 0) throw new UsageError('merge needs the shard folders, e.g. multav merge out/shard-0 out/shard-1 --out out/all')
    checkOutFolder(v.out)
    // a bad shard is a RunFolderError, reported in one line by the command line
    const { summary, pictures } = await mergeRuns(dirs, v.out, { command: 'multav merge', argv: [...argv] })
    printSummary(io, summary, v.out, v.json)
    if (v.json) stdio.log(JSON.stringify(summary, null, 1))
    for (const p of pictures) io.log(`picture: ${p}`)
    return 0
  },
})
