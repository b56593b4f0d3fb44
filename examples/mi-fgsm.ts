/**
 * MI-FGSM (Dong et al. 2018) as a value: the sign of an accumulated gradient (momentum, μ = 1), a step
 * size decaying by 0.8 per iteration, and 3 restarts keeping each clip's best run — then its formula,
 * its JSON spec (what `multav eval --attacks` reads), and a run on a toy model.
 *
 * Run: node --import tsx examples/mi-fgsm.ts (inside this repository `multav` resolves to src/
 * through tsconfig.json's paths; in your project it is the installed package)
 */
import {
  add,
  clip,
  data,
  encodeAttack,
  explain,
  exponentialDecay,
  gradient,
  initBackend,
  iterate,
  models,
  momentum,
  pipe,
  projectBall,
  runAttack,
  scale,
  sign,
  tf,
  uniform,
  withRestarts,
} from 'multav'

const eps = 8 / 255
// x' ← clip[0,1](Π_∞(ε)(x' + α·0.8^i·sign(m))), m ← m + ∇ₓL / mean|∇ₓL|
const miFgsm = pipe(
  gradient(),
  momentum(1),
  sign,
  scale(2 / 255, { schedule: exponentialDecay(0.8) }),
  add,
  projectBall({ norm: 'linf', eps }),
  clip(0, 1),
  iterate(10, { name: 'mi-fgsm', init: uniform({ norm: 'linf', eps }) }),
  withRestarts(3),
)

console.log(explain(miFgsm))
console.log()
console.log(JSON.stringify(encodeAttack(miFgsm)))

await initBackend('wasm')
const train = data.toyMotion({ count: 256, seed: 1 })
const test = data.toyMotion({ count: 64, seed: 2 })
const mlp = await models.trainTinyMlp(train.clips, train.labels, 2, { epochs: 30 })
const x = tf.tensor5d(test.clips.data, [...test.clips.shape])
const result = await runAttack(miFgsm, mlp.model, x, test.labels)
console.log()
console.log(`clean accuracy ${await models.accuracy(mlp.model, test.clips, test.labels)}`)
console.log(`accuracy under attack ${result.success.filter((s) => !s).length / result.success.length}`)
console.log(`best runs per clip: ${[0, 1, 2].map((r) => `run ${r} ${result.bestRun.filter((b) => b === r).length}`).join(', ')}`)
tf.dispose([x, result.adversarial])
mlp.dispose()
