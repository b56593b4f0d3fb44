/** `multav explain`: an attack's formula, its certificate and its cost. */
import * as E from 'fp-ts/lib/Either.js'
import { loadAttack } from '../eval/specs.js'
import { certify, describeCertificate } from '../interpreters/certify.js'
import { explain, explainLatex } from '../interpreters/pretty.js'
import { defineCommand, onePositional } from './command.js'
import { UsageError } from './errors.js'
import { boolean } from './options.js'
import { ATTACK_ARGUMENT, NAMES } from './shared.js'

export const explainCommand = defineCommand({
  name: 'explain',
  positionals: onePositional(ATTACK_ARGUMENT, `attack (a spec file or ${NAMES})`),
  options: { latex: boolean({ description: 'the formula in LaTeX' }) },
  summary: "the attack's formula, its certificate (the bounds it guarantees) and its cost in gradient evaluations",
  run: async (v, [ref], { io }) => {
    const loaded = await loadAttack(ref!)
    if (E.isLeft(loaded)) throw new UsageError(loaded.left.join('\n'))
    const attack = loaded.right
    const R = attack.restarts
    const cost =
      R === 1
        ? `cost: ${attack.steps} gradient evaluations (forward + backward passes) per clip batch, plus 2 forward passes (the clean clip, and the result)`
        : `cost: ${R * attack.steps} gradient evaluations (${R} runs of ${attack.steps} steps; forward + backward passes) per clip batch, plus ${R + 2} forward passes (the clean clip, each run's result, and the per-sample best)`
    io.log(
      [
        v.latex ? explainLatex(attack) : explain(attack),
        '',
        describeCertificate(certify(attack)),
        '',
        cost,
      ].join('\n'),
    )
    return 0
  },
})
