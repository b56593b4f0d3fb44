/**
 * The `multav` command line. Exit codes: 0 ok, 1 a finding (e.g. a violated bound), 2 bad input.
 */
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../interpreters/backend.js'
import { certify, describeCertificate } from '../interpreters/certify.js'
import { explain, explainLatex } from '../interpreters/pretty.js'
import { runDemo } from './demo.js'
import { parseWidths, runTrain } from './train.js'
import { BUILT_IN, loadAttack } from './specs.js'

const USAGE = `multav — adversarial attacks on video models as typed values (MultAV, AVSS 2021)

usage:
  multav demo [--backend auto|tensorflow|wasm|cpu] [--out DIR]
      train a tiny model on toy motion clips and attack it with the four Lp attacks
  multav explain <spec.json | ${Object.keys(BUILT_IN).join(' | ')}> [--latex]
      the attack's formula, its certificate and its cost in gradient evaluations
  multav train [--layout torchvision|hara] [--widths 8,16,32,64] [--epochs 15] [--lr 0.02]
               [--batch 16] [--train-clips 600] [--seed 0] [--adversarial <spec|name>] [--resume] --out DIR
      train a 3D ResNet-18 on the shipped benchmark (adversarially with --adversarial)
  multav --help

The backend can also be set with MULTAV_BACKEND.`

const fail = (message: string): number => {
  process.stderr.write(`multav: ${message}\n`)
  return 2
}

export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        backend: { type: 'string' },
        out: { type: 'string' },
        latex: { type: 'boolean' },
        layout: { type: 'string' },
        widths: { type: 'string' },
        epochs: { type: 'string' },
        lr: { type: 'string' },
        batch: { type: 'string' },
        'train-clips': { type: 'string' },
        seed: { type: 'string' },
        adversarial: { type: 'string' },
        resume: { type: 'boolean' },
      },
    })
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${USAGE}`)
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return command === undefined && !values.help ? 2 : 0
  }
  switch (command) {
    case 'demo': {
      const choice = values.backend ?? process.env['MULTAV_BACKEND'] ?? 'auto'
      if (!(BACKEND_CHOICES as ReadonlyArray<string>).includes(choice))
        return fail(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got "${choice}"`)
      const backend = await initBackend(choice as BackendChoice)
      await runDemo({ out: values.out ?? 'multav-out', backend, log: (l) => process.stdout.write(`${l}\n`) })
      return 0
    }
    case 'train': {
      const layout = values.layout ?? 'torchvision'
      if (layout !== 'torchvision' && layout !== 'hara') return fail(`--layout must be torchvision or hara, got "${layout}"`)
      const widths = parseWidths(values.widths ?? '8,16,32,64')
      if (E.isLeft(widths)) return fail(widths.left)
      const numbers = {
        epochs: values.epochs ?? '15',
        lr: values.lr ?? '0.02',
        batch: values.batch ?? '16',
        seed: values.seed ?? '0',
        'train-clips': values['train-clips'] ?? '600',
      }
      for (const [name, text] of Object.entries(numbers)) {
        const v = Number(text)
        const ok = name === 'lr' ? v > 0 && Number.isFinite(v) : Number.isInteger(v) && (name === 'seed' ? v >= 0 : v >= 1)
        if (!ok) return fail(`--${name} must be ${name === 'lr' ? 'a positive number' : name === 'seed' ? 'an integer ≥ 0' : 'an integer ≥ 1'}, got "${text}"`)
      }
      if (values.out === undefined) return fail('train needs --out DIR (where the weights and checkpoints go)')
      const adversarial = values.adversarial === undefined ? undefined : await loadAttack(values.adversarial)
      if (adversarial && E.isLeft(adversarial)) return fail(adversarial.left.join('\n'))
      const choice = values.backend ?? process.env['MULTAV_BACKEND'] ?? 'auto'
      if (!(BACKEND_CHOICES as ReadonlyArray<string>).includes(choice))
        return fail(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got "${choice}"`)
      const backend = await initBackend(choice as BackendChoice)
      await runTrain({
        layout,
        widths: widths.right,
        epochs: Number(numbers.epochs),
        lr: Number(numbers.lr),
        batch: Number(numbers.batch),
        trainClips: Number(numbers['train-clips']),
        seed: Number(numbers.seed),
        out: values.out,
        resume: values.resume ?? false,
        ...(adversarial && E.isRight(adversarial) ? { adversarial: adversarial.right } : {}),
        backend,
        argv,
        log: (l) => process.stdout.write(`${l}\n`),
      })
      return 0
    }
    case 'explain': {
      if (rest.length !== 1) return fail(`explain takes one attack (a spec file or ${Object.keys(BUILT_IN).join(', ')})`)
      const loaded = await loadAttack(rest[0]!)
      if (E.isLeft(loaded)) return fail(loaded.left.join('\n'))
      const attack = loaded.right
      const gradients = attack.steps
      process.stdout.write(
        [
          values.latex ? explainLatex(attack) : explain(attack),
          '',
          describeCertificate(certify(attack)),
          '',
          `cost: ${gradients} gradient evaluations (forward + backward passes) per clip batch, plus 2 forward passes (the clean clip, and the result)`,
        ].join('\n') + '\n',
      )
      return 0
    }
    default:
      return fail(`unknown command "${command}"\n\n${USAGE}`)
  }
}
