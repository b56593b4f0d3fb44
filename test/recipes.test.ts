/**
 * The cluster recipes in docs/eval.md run as printed: the SLURM array's script and the Kubernetes
 * Indexed Job's command, each for two shards, then their merge commands — with `multav`/`npx` on PATH
 * running this checkout's CLI, on the benchmark with the shipped model. Both must give the same rows.
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join, resolve } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The fenced block of `lang` that follows `heading` in `text` (the first one after it). */
const blockAfter = (text: string, heading: string, lang: string): string => {
  const from = text.indexOf(heading)
  if (from < 0) throw new Error(`docs/eval.md: no "${heading}"`)
  const open = text.indexOf(`\`\`\`${lang}\n`, from)
  const close = text.indexOf('\n```', open + 1)
  if (open < 0 || close < 0) throw new Error(`docs/eval.md: no \`\`\`${lang} block after "${heading}"`)
  return text.slice(open + lang.length + 4, close + 1)
}

const rowsWithoutTimes = async (dir: string): Promise<unknown[]> =>
  (await readFile(join(dir, 'rows.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => ({ ...(JSON.parse(l) as Record<string, unknown>), seconds: 0 }))

test('the SLURM array and the Kubernetes Indexed Job recipes run as printed: two shards each, merged, the same rows', async (t) => {
  const docs = await readFile('docs/eval.md', 'utf8')
  const root = await mkdtemp(join(tmpdir(), 'multav-recipes-'))
  try {
    // `multav` and `npx multav` run this checkout's CLI
    const bin = join(root, 'bin')
    await mkdir(bin)
    const cli = `exec "${process.execPath}" --import tsx "${resolve('src/cli/bin.ts')}"`
    await writeFile(join(bin, 'multav'), `#!/bin/sh\n${cli} "$@"\n`)
    await writeFile(join(bin, 'npx'), `#!/bin/sh\n[ "$1" = multav ] || { echo "npx: only multav here" >&2; exit 1; }\nshift\n${cli} "$@"\n`)
    await Promise.all(['multav', 'npx'].map((f) => chmod(join(bin, f), 0o755)))
    const env = (out: string, extra: Record<string, string>) => ({
      ...process.env,
      PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}`,
      MODEL: 'default',
      DATA: 'benchmark',
      SHARDS: '2',
      OUT: out,
      EVAL_ARGS: '--limit 4 --batch 2 --attacks mult-linf:steps=1 --pictures 0',
      ...extra,
    })
    const sh = (script: string, e: NodeJS.ProcessEnv, shell = 'sh') => run(shell, ['-c', script], { env: e, cwd: process.cwd(), timeout: 240_000 })

    const slurm = blockAfter(docs, '### SLURM job array', 'bash')
    t.regex(slurm, /--model "\$MODEL"/, 'the recipe names the model')
    const slurmOut = join(root, 'slurm')
    for (const task of ['0', '1']) await sh(slurm, env(slurmOut, { SLURM_ARRAY_TASK_ID: task, SLURM_CPUS_PER_TASK: '1' }), 'bash')
    await sh(blockAfter(docs, '### SLURM job array', 'sh'), env(slurmOut, {}))

    const job = blockAfter(docs, '### Kubernetes Indexed Job', 'yaml')
    const command = /args:\n\s+- (.+)\n/.exec(job)?.[1]
    if (command === undefined) return t.fail('no args line in the Job')
    const k8sOut = join(root, 'k8s')
    for (const index of ['0', '1']) await sh(command, env(k8sOut, { JOB_COMPLETION_INDEX: index }))
    await sh(blockAfter(docs, '### Kubernetes Indexed Job', 'sh'), env(k8sOut, {}))

    const merged = JSON.parse(await readFile(join(slurmOut, 'all', 'results.json'), 'utf8')) as { summary: { clips: number; attacks: unknown[] } }
    t.is(merged.summary.clips, 4)
    t.is(merged.summary.attacks.length, 1)
    const rows = await rowsWithoutTimes(join(slurmOut, 'all'))
    t.is(rows.length, 4)
    t.deepEqual(await rowsWithoutTimes(join(k8sOut, 'all')), rows)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})
