/**
 * The `multav` command line. Exit codes: 0 ok, 1 a finding (e.g. a violated bound), 2 bad input.
 */
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../interpreters/backend.js'
import { certify, describeCertificate } from '../interpreters/certify.js'
import { explain, explainLatex } from '../interpreters/pretty.js'
import { runDemo } from './demo.js'
import { BUILT_IN, loadAttack } from './specs.js'

const USAGE = `multav — adversarial attacks on video models as typed values (MultAV, AVSS 2021)

usage:
  multav demo [--backend auto|tensorflow|wasm|cpu] [--out DIR]
      train a tiny model on toy motion clips and attack it with the four Lp attacks
  multav explain <spec.json | ${Object.keys(BUILT_IN).join(' | ')}> [--latex]
      the attack's formula, its certificate and its cost in gradient evaluations
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    process.stderr.write(`multav: ${(e as Error).stack ?? String(e)}\n`)
    process.exitCode = 2
  },
)
