/**
 * Attacks together with the scenario they run on: shapes first, so that regions fit the clips and
 * per-sample targets the batch.
 *
 * @since 0.1.0
 */
import fc from 'fast-check'
import type { Attack } from '../../dsl/types.js'
import { attackArb, type AttackConstraints } from './attacks.js'
import type { ClipConstraints } from './clips.js'
import { scenarioArb, type ModelConstraints, type Scenario } from './models.js'

/** An attack and a scenario whose clip its regions fit and whose batch its `TargetedEach` labels match. */
export const attackCaseArb = (
  attacks: Omit<AttackConstraints, 'geometry' | 'batch' | 'maxBatch'> = {},
  clips: Omit<ClipConstraints, 'shape' | 'N'> = {},
  models: ModelConstraints = {},
): fc.Arbitrary<{ readonly attack: Attack; readonly scenario: Scenario }> =>
  fc
    .tuple(
      fc.integer({ min: 1, max: clips.maxN ?? 2 }),
      fc.integer({ min: 1, max: clips.maxT ?? 3 }),
      fc.integer({ min: 1, max: clips.maxH ?? 4 }),
      fc.integer({ min: 1, max: clips.maxW ?? 4 }),
    )
    .chain(([N, T, H, W]) =>
      fc.record({
        attack: attackArb({ ...attacks, geometry: { T, H, W }, batch: N }),
        scenario: scenarioArb({ ...clips, shape: [N, T, H, W, clips.C ?? 3] }, models),
      }),
    )
