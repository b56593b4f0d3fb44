/**
 * `multav check`: the testing kit's properties run on one attack with fast-check (the engine is
 * src/testing/check), reported rather than thrown. Exit 0 when every property that applies holds, 1
 * when one fails (with a shrunk counterexample), 2 on bad input.
 */
import * as E from 'fp-ts/lib/Either.js'
import { loadAttack } from '../eval/specs.js'
import { runCheck } from '../testing/check/index.js'
import { defineCommand, onePositional } from './command.js'
import { UsageError } from './errors.js'
import { integer } from './options.js'
import { ATTACK_ARGUMENT, BACKEND_OPTIONS, NAMES, startBackend } from './shared.js'

export const checkCommand = defineCommand({
  name: 'check',
  positionals: onePositional(ATTACK_ARGUMENT, `attack (a spec file or ${NAMES})`),
  options: {
    runs: integer({ min: 1, default: 50, description: 'generated cases per property' }),
    seed: integer({ min: 0, default: 0, description: "fast-check's seed: the same seed runs the same cases" }),
    ...BACKEND_OPTIONS,
  },
  summary: 'property-test the attack with fast-check: run it on generated clips (with exact zeros and ones) against small linear models',
  details: [
    "It checks that the attack's output respects its certificate (verify(certify(a)) holds: range,",
    'balls, ratio bounds, zero fixed point, support) and stays in [0, 1]; that zero pixels stay zero with',
    'no NaN/Inf where the certificate says zeros are fixed (multiplicative attacks); and that',
    'attack(c·x) = c·attack(x) where the attack is multiplicative with sign, normalised or momentum',
    "directions. Clips fit the attack's regions (and its per-sample targets). A failure prints its shrunk",
    'counterexample, the error, and the seed and path that replay it with multav/testing.',
    'Exit codes: 0 every property holds, 1 a property failed (with a shrunk counterexample),',
    '2 bad input (an unreadable or invalid spec, a bad option).',
  ],
  run: async (v, [ref], { io }) => {
    const loaded = await loadAttack(ref!)
    if (E.isLeft(loaded)) throw new UsageError(loaded.left.join('\n'))
    await startBackend(v)
    // bad input to the engine is an InputError (exit 2); a failed property is a report (exit 1)
    const report = await runCheck(loaded.right, { numRuns: v.runs, seed: v.seed, log: io.log })
    return report.ok ? 0 : 1
  },
})

/** The usage `multav check --help` prints. */
export const CHECK_USAGE = checkCommand.usage
