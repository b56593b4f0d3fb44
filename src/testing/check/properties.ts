/**
 * Which of the testing kit's properties apply to an attack, read off the attack and its certificate:
 * - `respectsCertificate` and `staysInRange`: always;
 * - `zeroIsFixed`: when the certificate says zero pixels are a fixed point;
 * - `signalDependent`: when `signalDependence` finds a maxPixel (see signal.ts).
 *
 * @since 0.2.0
 */
import type fc from 'fast-check'
import type { Attack } from '../../dsl/types.js'
import { certify, type Certificate } from '../../interpreters/certify.js'
import type { ClipConstraints } from '../arbitraries.js'
import { respectsCertificate, signalDependent, staysInRange, zeroIsFixed } from '../properties.js'
import { signalDependence } from './signal.js'

/** A fast-check property over any arguments, sync or async. */
export type AnyProperty = fc.IRawProperty<unknown[], boolean>

/** A property to run, or one that does not apply to the attack (and why). */
export type CheckProperty =
  | {
      readonly _tag: 'Run'
      /** The kit's name for it. */
      readonly name: string
      /** What it checks, in words. */
      readonly title: string
      readonly property: AnyProperty
      /** The kit call that builds the same property, for replay instructions. */
      readonly replay: string
      /** Said after a failure, when something already explains it. */
      readonly hint?: string
    }
  | { readonly _tag: 'Skip'; readonly name: string; readonly title: string; readonly reason: string }

const clipsText = (c: ClipConstraints): string => (c.shape ? `{ shape: [${c.shape.join(', ')}] }` : '{}')

/** The kit's properties for `attack` on `clips`, or why each does not apply. */
export const checkProperties = (attack: Attack, clips: ClipConstraints, certificate: Certificate = certify(attack)): ReadonlyArray<CheckProperty> => {
  const args = `attack, ${clipsText(clips)}`
  const reasonOf = (prefix: string) => certificate.reasons.find((r) => r.startsWith(prefix))
  const rangeHint =
    certificate.range === null || certificate.range.lo < 0 || certificate.range.hi > 1
      ? `its certificate promises no range within [0, 1]${reasonOf('no range') ? ` (${reasonOf('no range')})` : ''}`
      : undefined
  const signal = signalDependence(attack)
  return [
    { _tag: 'Run', name: 'respectsCertificate', title: 'respects its certificate', property: respectsCertificate(attack, clips), replay: `respectsCertificate(${args})` },
    {
      _tag: 'Run',
      name: 'staysInRange',
      title: 'stays in [0, 1]',
      property: staysInRange(attack, clips),
      replay: `staysInRange(${args})`,
      ...(rangeHint === undefined ? {} : { hint: rangeHint }),
    },
    certificate.zeroFixed
      ? { _tag: 'Run', name: 'zeroIsFixed', title: 'keeps zero pixels at zero, with no NaN/Inf', property: zeroIsFixed(attack, clips), replay: `zeroIsFixed(${args})` }
      : {
          _tag: 'Skip',
          name: 'zeroIsFixed',
          title: 'keeps zero pixels at zero',
          reason: `its certificate does not fix zero pixels (${reasonOf('zero pixels may change') ?? 'zero pixels may change'})`,
        },
    'maxPixel' in signal
      ? {
          _tag: 'Run',
          name: 'signalDependent',
          title: `is signal-dependent: attack(c·x) = c·attack(x), clips in [0, ${Number(signal.maxPixel.toPrecision(3))}]`,
          property: signalDependent(attack, { maxPixel: signal.maxPixel }),
          replay: `signalDependent(attack, { maxPixel: ${signal.maxPixel} })`,
        }
      : { _tag: 'Skip', name: 'signalDependent', title: 'is signal-dependent', reason: signal.reason },
  ]
}
