/**
 * Defining a new attack variant with `pipe`: a multiplicative L∞ attack whose steps alternate between
 * sign and L2-normalised directions, restricted to frames 1 and 2 — then running it, printing its
 * formula and certificate, and property-testing it with multav/testing.
 *
 * Run: node --import tsx examples/alternating-mult.ts (inside this repository `multav` resolves to src/
 * through tsconfig.json's paths; in your project it is the installed package)
 */
import {
  certify,
  clip,
  data,
  describeCertificate,
  explain,
  exponent,
  frames,
  gradient,
  initBackend,
  iterate,
  maskRegion,
  models,
  multiply,
  normalize,
  pipe,
  projectRatio,
  runAttack,
  sign,
  tf,
  verify,
} from 'multav'
import { fc, respectsCertificate, zeroIsFixed } from 'multav/testing'

const onFrames = maskRegion(frames([1, 2]))
const bounded = (s: Parameters<ReturnType<typeof clip>>[0]) => pipe(s, projectRatio({ norm: 'linf', eps: 1.06 }), clip(0, 1))

const signStep = pipe(gradient(), sign, onFrames, exponent(1.02), multiply, bounded)
const l2Step = pipe(gradient(), normalize(), onFrames, exponent(1.5), multiply, bounded)
const attack = iterate(6, { name: 'mult-linf-alternating-frames-1-2' })([signStep, l2Step])

console.log(explain(attack))
console.log()
console.log(describeCertificate(certify(attack)))

await initBackend('wasm')
const train = data.toyMotion({ count: 256, seed: 1 })
const test = data.toyMotion({ count: 64, seed: 2 })
const mlp = await models.trainTinyMlp(train.clips, train.labels, 2, { epochs: 30 })
const x = tf.tensor5d(test.clips.data, [...test.clips.shape])
const result = await runAttack(attack, mlp.model, x, test.labels)
const violations = verify(result.certificate, x, result.adversarial)
console.log()
console.log(`clean accuracy ${await models.accuracy(mlp.model, test.clips, test.labels)}`)
console.log(`accuracy under attack ${result.success.filter((s) => !s).length / result.success.length}`)
console.log(`max ratio ${Math.max(...result.sanity.ratioLinf).toFixed(4)}; certificate violations: ${violations.length}`)
tf.dispose([x, result.adversarial])
mlp.dispose()

// Property-test the variant on generated clips (4 frames so that frames 1 and 2 exist).
await fc.assert(respectsCertificate(attack, { shape: [2, 4, 3, 3, 3] }), { numRuns: 20 })
await fc.assert(zeroIsFixed(attack, { shape: [1, 4, 3, 3, 3] }), { numRuns: 20 })
console.log('properties hold: respectsCertificate, zeroIsFixed')
