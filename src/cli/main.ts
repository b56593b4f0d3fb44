/**
 * The `multav` command line. Exit codes: 0 ok, 1 a finding (e.g. a violated bound), 2 bad input,
 * 70 an internal error (a bug in multav), 130 stopped by Ctrl-C (the work done so far is saved; resume
 * with --resume). No stack trace is printed unless --debug (or MULTAV_DEBUG=1) asks for one.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { BACKEND_CHOICES, initBackend, parseThreads, resolveThreads, type BackendChoice } from '../backend/backend.js'
import { certify, describeCertificate } from '../interpreters/certify.js'
import { explain, explainLatex } from '../interpreters/pretty.js'
import { CHECK_USAGE, runCheck } from './check.js'
import { runDemo } from './demo.js'
import { attackCommand, capWorkers, checkFit, evalCommand, mergeCommand, type Io } from './eval.js'
import { checkOutFolder, debugWanted, reportError, UsageError } from './errors.js'
import { BENCHMARK_CLASSES } from '../data/benchmark.js'
import { parseWidths, runTrain, TRAIN_CLIP } from '../eval/train-run.js'
import { DENOISE_KINDS, type DenoiseKind } from '../models/denoise.js'
import { FULL, QUICK, reproduce } from '../eval/reproduce.js'
import { multavVersion } from '../eval/results.js'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { BUILT_IN, loadAttack, loadAttackList } from '../eval/specs.js'

const NAMES = Object.keys(BUILT_IN).join(', ')

type Options = NonNullable<ParseArgsConfig['options']>

interface Command {
  readonly usage: string
  readonly options: Options
  readonly run: (values: Record<string, string | boolean | undefined>, positionals: ReadonlyArray<string>, io: Io, argv: ReadonlyArray<string>) => Promise<number>
}

const BACKEND_OPTION: Options = { backend: { type: 'string' }, threads: { type: 'string' } }

/**
 * The backend asked for. `--threads N` (wasm threads per backend: this process's, and each worker's)
 * is checked here and passed on as MULTAV_THREADS, which every thread's initBackend reads.
 */
const backendOf = (values: Record<string, unknown>): BackendChoice => {
  const threads = values['threads'] as string | undefined
  try {
    if (threads !== undefined) process.env['MULTAV_THREADS'] = String(parseThreads(threads, '--threads'))
    resolveThreads() // a bad MULTAV_THREADS fails here, before any work
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  const choice = (values['backend'] as string | undefined) ?? process.env['MULTAV_BACKEND'] ?? 'auto'
  if (!(BACKEND_CHOICES as ReadonlyArray<string>).includes(choice)) throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got "${choice}"`)
  return choice as BackendChoice
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** `--key value` pairs of an object, without the undefined ones (for exactOptionalPropertyTypes). */
const defined = <A extends Record<string, unknown>>(a: A): { [K in keyof A]: Exclude<A[K], undefined> } =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as { [K in keyof A]: Exclude<A[K], undefined> }

/**
 * Runs `work` with Ctrl-C turned into a stop request: the first SIGINT warns and aborts the signal
 * (work in flight finishes and is saved), a second one exits at once with 130.
 */
const stoppable = async <A>(io: Io, what: string, work: (signal: AbortSignal) => Promise<A>): Promise<A> => {
  const stop = new AbortController()
  const onSigint = () => {
    io.warn(`stopping after the ${what} in flight (Ctrl-C again to quit at once)…`)
    stop.abort()
    process.once('SIGINT', () => process.exit(130))
  }
  process.once('SIGINT', onSigint)
  try {
    return await work(stop.signal)
  } finally {
    process.removeListener('SIGINT', onSigint)
  }
}

const COMMANDS: Readonly<Record<string, Command>> = {
  demo: {
    usage: `multav demo [--backend auto|tensorflow|wasm|cpu] [--threads N] [--out DIR]
    train a tiny model on toy motion clips and attack it with the four Lp attacks (a quick smoke test)`,
    options: { ...BACKEND_OPTION, out: { type: 'string' } },
    run: async (v, _p, io) => {
      const out = str(v['out']) ?? 'multav-out'
      checkOutFolder(out)
      const backend = await initBackend(backendOf(v))
      await runDemo({ out, backend, log: io.log })
      return 0
    },
  },
  explain: {
    usage: `multav explain <spec.json | ${NAMES}> [--latex]
    the attack's formula, its certificate (the bounds it guarantees) and its cost in gradient evaluations`,
    options: { latex: { type: 'boolean' } },
    run: async (v, p, io) => {
      if (p.length !== 1) throw new UsageError(`explain takes one attack (a spec file or ${NAMES})`)
      const loaded = await loadAttack(p[0]!)
      if (E.isLeft(loaded)) throw new UsageError(loaded.left.join('\n'))
      const attack = loaded.right
      io.log(
        [
          v['latex'] ? explainLatex(attack) : explain(attack),
          '',
          describeCertificate(certify(attack)),
          '',
          `cost: ${attack.steps} gradient evaluations (forward + backward passes) per clip batch, plus 2 forward passes (the clean clip, and the result)`,
        ].join('\n'),
      )
      return 0
    },
  },
  check: {
    usage: CHECK_USAGE,
    options: { runs: { type: 'string' }, seed: { type: 'string' }, ...BACKEND_OPTION },
    run: async (v, p, io) => {
      if (p.length !== 1) throw new UsageError(`check takes one attack (a spec file or ${NAMES})`)
      const loaded = await loadAttack(p[0]!)
      if (E.isLeft(loaded)) throw new UsageError(loaded.left.join('\n'))
      const numbers = { runs: str(v['runs']) ?? '50', seed: str(v['seed']) ?? '0' }
      for (const [name, text] of Object.entries(numbers))
        if (!(Number.isInteger(Number(text)) && Number(text) >= (name === 'runs' ? 1 : 0)))
          throw new UsageError(`--${name} must be an integer ≥ ${name === 'runs' ? 1 : 0}, got "${text}"`)
      await initBackend(backendOf(v))
      const report = await runCheck(loaded.right, { numRuns: Number(numbers.runs), seed: Number(numbers.seed), log: io.log }).catch((e: Error) => {
        throw new UsageError(e.message)
      })
      return report.ok ? 0 : 1
    },
  },
  train: {
    usage: `multav train [--layout torchvision|hara] [--widths 8,16,32,64] [--epochs 25] [--lr 0.05]
             [--batch 8] [--train-clips 600] [--test-clips 240] [--seed 0] [--denoise none|3d|2d]
             [--init default|DIR] [--adversarial <spec|name[:key=value…]>] [--resume] [--backend …] --out DIR
    train a 3D ResNet-18 on the shipped benchmark (adversarially, Madry, with --adversarial);
    checkpoints every epoch, test accuracy after each. --denoise adds feature-denoising blocks
    after each stage; --init starts from a trained model's weights (e.g. to fine-tune it)`,
    options: {
      ...BACKEND_OPTION,
      out: { type: 'string' },
      layout: { type: 'string' },
      widths: { type: 'string' },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      batch: { type: 'string' },
      'train-clips': { type: 'string' },
      'test-clips': { type: 'string' },
      seed: { type: 'string' },
      denoise: { type: 'string' },
      init: { type: 'string' },
      adversarial: { type: 'string' },
      resume: { type: 'boolean' },
    },
    run: async (v, _p, io, argv) => {
      const layout = str(v['layout']) ?? 'torchvision'
      if (layout !== 'torchvision' && layout !== 'hara') throw new UsageError(`--layout must be torchvision or hara, got "${layout}"`)
      const widths = parseWidths(str(v['widths']) ?? '8,16,32,64')
      if (E.isLeft(widths)) throw new UsageError(widths.left)
      const numbers = {
        epochs: str(v['epochs']) ?? '25',
        lr: str(v['lr']) ?? '0.05',
        batch: str(v['batch']) ?? '8',
        seed: str(v['seed']) ?? '0',
        'train-clips': str(v['train-clips']) ?? '600',
        'test-clips': str(v['test-clips']) ?? '240',
      }
      for (const [name, text] of Object.entries(numbers)) {
        const n = Number(text)
        const ok = name === 'lr' ? n > 0 && Number.isFinite(n) : Number.isInteger(n) && (name === 'seed' ? n >= 0 : n >= 1)
        if (!ok) throw new UsageError(`--${name} must be ${name === 'lr' ? 'a positive number' : name === 'seed' ? 'an integer ≥ 0' : 'an integer ≥ 1'}, got "${text}"`)
      }
      const out = str(v['out'])
      if (out === undefined) throw new UsageError('train needs --out DIR (where the weights and checkpoints go)')
      const denoise = str(v['denoise']) ?? 'none'
      if (!(DENOISE_KINDS as ReadonlyArray<string>).includes(denoise)) throw new UsageError(`--denoise must be one of ${DENOISE_KINDS.join(', ')}, got "${denoise}"`)
      const adversarialRef = str(v['adversarial'])
      const adversarial = adversarialRef === undefined ? undefined : await loadAttackList(adversarialRef, undefined, '--adversarial')
      if (adversarial && E.isLeft(adversarial)) throw new UsageError(adversarial.left.join('\n'))
      if (adversarial && E.isRight(adversarial)) {
        if (adversarial.right.length !== 1) throw new UsageError(`--adversarial takes one attack, got ${adversarial.right.length}`)
        checkFit(adversarial.right, TRAIN_CLIP, BENCHMARK_CLASSES.length, '--adversarial')
      }
      checkOutFolder(out)
      const backend = await initBackend(backendOf(v))
      await runTrain({
        layout,
        widths: widths.right,
        epochs: Number(numbers.epochs),
        lr: Number(numbers.lr),
        batch: Number(numbers.batch),
        trainClips: Number(numbers['train-clips']),
        testClips: Number(numbers['test-clips']),
        denoise: denoise as DenoiseKind,
        ...(str(v['init']) !== undefined ? { init: str(v['init'])! } : {}),
        seed: Number(numbers.seed),
        out,
        resume: v['resume'] === true,
        ...(adversarial && E.isRight(adversarial) ? { adversarial: adversarial.right[0]! } : {}),
        backend,
        argv,
        log: io.log,
      })
      return 0
    },
  },
  eval: {
    usage: `multav eval [--model default|DIR] [--data benchmark|DIR] [--split test|train] [--limit N]
            [--attacks all-scaled|all|name[:key=value…],spec.json,…] [--sweep key=v1,v2,…]
            [--batch 8] [--workers N] [--shard i/n] [--pictures 1] [--out DIR] [--resume] [--json]
            [--backend …] [--threads N]
    clean accuracy and accuracy under each attack with Wilson 95% intervals: a table (terminal and
    results.md), results.json (plan, versions and argv, summary, one row per clip and attack),
    results.csv (the rows) and pictures (clean | adversarial | difference x15). --json prints the
    summary as JSON on stdout instead of the table (everything else goes to stderr).
    DIR data: a UCF-101 root (with ucfTrainTestlist/) or <class>/<video file | frame folder>.
    --attacks all-scaled (the default): the paper's ten with the masked attacks' regions scaled to
    the model's frames; all: the ten exactly as in the paper (regions for 112x112 frames).
    Overrides: mult-linf:eps=1.04:steps=10. --sweep eps=… runs each listed built-in per value
    and plots accuracy against it (sweep.svg). Results do not depend on --workers or --shard,
    only on --batch (random starts are seeded per chunk of --batch clips). --workers: default and
    at most the machine's cores (more are capped, with a warning: each loads its own model).
    Every attack is checked against the model's clip size and classes before anything is written.
    Rows are saved per chunk: Ctrl-C stops after the chunks in flight; --resume continues.`,
    options: {
      ...BACKEND_OPTION,
      model: { type: 'string' },
      data: { type: 'string' },
      split: { type: 'string' },
      limit: { type: 'string' },
      attacks: { type: 'string' },
      sweep: { type: 'string' },
      batch: { type: 'string' },
      workers: { type: 'string' },
      shard: { type: 'string' },
      pictures: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    run: async (v, p, io, argv) => {
      if (p.length > 0) throw new UsageError(`eval takes no positional arguments, got "${p.join(' ')}"`)
      const backend = backendOf(v)
      return stoppable(io, 'chunks', (signal) =>
        evalCommand(
          defined({
            model: str(v['model']),
            data: str(v['data']),
            split: str(v['split']),
            limit: str(v['limit']),
            attacks: str(v['attacks']),
            sweep: str(v['sweep']),
            batch: str(v['batch']),
            workers: str(v['workers']),
            shard: str(v['shard']),
            pictures: str(v['pictures']),
            out: str(v['out']),
            resume: v['resume'] === true ? true : undefined,
            json: v['json'] === true ? true : undefined,
            argv,
          }),
          backend,
          io,
          signal,
        ),
      )
    },
  },
  reproduce: {
    usage: `multav reproduce [--quick] [--workers N] [--out DIR] [--backend …]
    the paper's table on the shipped benchmark: the clean model and, for the plain network and the
    3D and 2D denoising variants, a model adversarially trained on each MultAV attack and one on its
    additive twin (31 models), each evaluated on clean clips and all ten attacks; writes table.md
    and table.json. Seeded and resumable: run the same command again to continue (a finished
    model is not retrained). --quick: the whole pipeline on tiny clips and a tiny network (minutes).
    --workers: default and at most the machine's cores (more are capped, with a warning).`,
    options: { ...BACKEND_OPTION, quick: { type: 'boolean' }, workers: { type: 'string' }, out: { type: 'string' } },
    run: async (v, p, io, argv) => {
      if (p.length > 0) throw new UsageError(`reproduce takes no positional arguments, got "${p.join(' ')}"`)
      const workersText = str(v['workers']) ?? String(availableParallelism())
      const requested = Number(workersText)
      if (!(Number.isInteger(requested) && requested >= 1)) throw new UsageError(`--workers must be an integer ≥ 1, got "${workersText}"`)
      const workers = capWorkers(requested, io)
      const quick = v['quick'] === true
      const out = str(v['out']) ?? join('multav-out', quick ? 'reproduce-quick' : 'reproduce')
      checkOutFolder(out)
      const backend = backendOf(v)
      return stoppable(io, 'jobs', async (signal) => {
        io.log(`reproducing the paper's table${quick ? ' (quick)' : ''}: 31 models, ${workers} worker(s) → ${out}`)
        const outcome = await reproduce({ out, config: quick ? QUICK : FULL, workers, backend, log: io.log, signal, command: `multav ${argv.join(' ')}` })
        if (!outcome.complete) {
          io.warn(`stopped; run the same command to continue`)
          return 130
        }
        io.log('')
        io.log(outcome.markdown!)
        io.log('')
        io.log(`${outcome.seconds.toFixed(0)} s; ${join(out, 'table.md')}, ${join(out, 'table.json')}`)
        return 0
      })
    },
  },
  merge: {
    usage: `multav merge <shard dir>… --out DIR [--json]
    combine the results of \`multav eval --shard i/n\` runs (all n shards, complete) into one run
    folder (results.json, .md, .csv and the shards' pictures); --out must be new. --json as for eval`,
    options: { out: { type: 'string' }, json: { type: 'boolean' } },
    run: (v, p, io, argv) => mergeCommand(p, str(v['out']), io, { json: v['json'] === true, argv }),
  },
  attack: {
    usage: `multav attack --video FILE|FRAME_DIR [--model default|DIR] [--attack name[:key=value…]|spec.json]
              [--label CLASS] [--out DIR] [--backend …]
    attack one clip; write it losslessly (PNG frames, and an FFV1 .mkv when ffmpeg is available)
    with a picture. Lossy re-encoding changes the clip and can undo the attack.`,
    options: { ...BACKEND_OPTION, video: { type: 'string' }, model: { type: 'string' }, attack: { type: 'string' }, label: { type: 'string' }, out: { type: 'string' } },
    run: async (v, p, io) => {
      if (p.length > 0) throw new UsageError(`attack takes no positional arguments, got "${p.join(' ')}"`)
      await initBackend(backendOf(v))
      return attackCommand(defined({ video: str(v['video']), model: str(v['model']), attack: str(v['attack']), label: str(v['label']), out: str(v['out']) }), io)
    },
  },
}

const USAGE = `multav — adversarial attacks on video models as typed values (MultAV, AVSS 2021)

usage:
${Object.values(COMMANDS)
  .map((c) => `  ${c.usage.split('\n').join('\n  ')}`)
  .join('\n')}
  multav <command> --help
  multav --version

The backend can also be set with MULTAV_BACKEND. --threads N (or MULTAV_THREADS) sets wasm's threads
per backend (default: the cores, at most 4, in the main thread; 1 in each worker of a pool).
--debug (any command, or MULTAV_DEBUG=1) prints the stack trace of an error; without it an error is
one line. Exit codes: 0 ok, 1 a finding (a violated bound), 2 bad input, 70 an internal error (a bug:
please report it with the --debug output), 130 stopped by Ctrl-C (resume with --resume).`

const stdio: Io = {
  log: (line) => process.stdout.write(`${line}\n`),
  warn: (line) => process.stderr.write(`${line}\n`),
  tty: process.stderr.isTTY === true,
}

/** `--debug` before the command (`multav --debug eval …`) is taken off; after it, it is a command option. */
const leadingDebug = (argv: ReadonlyArray<string>): { readonly debug: boolean; readonly argv: ReadonlyArray<string> } =>
  argv[0] === '--debug' ? { debug: true, argv: argv.slice(1) } : { debug: false, argv }

export const main = async (args: ReadonlyArray<string>, io: Io = stdio): Promise<number> => {
  const fail = (message: string): number => {
    io.warn(`multav: ${message}`)
    return 2
  }
  const { debug: leading, argv } = leadingDebug(args)
  const [name, ...rest] = argv
  // with no command, usage is the error message (stderr, exit 2); asked for, it is the output
  if (name === undefined) return fail(`no command given\n\n${USAGE}`)
  if (name === 'help' || name === '--help' || name === '-h') {
    io.log(USAGE)
    return 0
  }
  if (name === 'version' || name === '--version' || name === '-V') {
    io.log(multavVersion())
    return 0
  }
  const command = COMMANDS[name]
  if (!command) return fail(`unknown command "${name}"\n\n${USAGE}`)
  let parsed
  try {
    parsed = parseArgs({ args: [...rest], allowPositionals: true, options: { ...command.options, help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } } })
  } catch (e) {
    return fail(`${(e as Error).message}\n\nusage: ${command.usage}`)
  }
  if (parsed.values['help']) {
    io.log(`usage: ${command.usage}`)
    return 0
  }
  const debug = debugWanted(leading || parsed.values['debug'] === true)
  try {
    return await command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals, io, argv)
  } catch (e) {
    const report = reportError(e, debug)
    report.lines.forEach((line) => io.warn(line))
    return report.code
  }
}
