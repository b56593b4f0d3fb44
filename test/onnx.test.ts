/**
 * ONNX import (src/models/onnx): differential tests against PyTorch and hostile files.
 *
 * test/fixtures/onnx/export.py builds torchvision's r3d_18, mc3_18, r2plus1d_18 and s3d, plus two
 * small networks made of the operators those fold away (ops11, ops17: opsets 11 and 17), with seeded
 * random weights and BN statistics, exports them with torch.onnx.export into a temporary folder and
 * writes, per clip size, PyTorch's logits and the input gradient of the cross-entropy with Kinetics'
 * mean/std applied outside the graph. multav loads each with loadOnnx(…, { mean, std }) and must
 * match: logits within 1e-3 of their scale, gradient cosine > 0.999 and sign agreement > 99%, on wasm
 * (1x8x32x32 clips, 2 for the small networks) and cpu (1x4x16x16; S3D needs 8x32x32). Needs
 * /usr/bin/python3 with torch and torchvision (CI installs Debian's); skipped, saying so, without them.
 * The hostile-file and hand-built-graph tests need no Python.
 */
import test, { type ExecutionContext } from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { execFile, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pkg from 'onnx-proto'
import type { onnx as Onnx } from 'onnx-proto'
import { initBackend } from '../src/backend/backend.js'
import { InputError } from '../src/core/errors.js'
import { loadOnnx } from '../src/models/onnx/index.js'
import * as attacks from '../src/dsl/attacks.js'
import { runAttack } from '../src/interpreters/tensor.js'

const { onnx } = pkg

const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0)
const required = process.env['CI'] !== undefined
const withTorch = python !== undefined || required ? test.serial : test.serial.skip
if (python === undefined && !required) console.log('onnx.test.ts: /usr/bin/python3 has no torch/torchvision: the PyTorch differential tests are skipped')

interface Ref {
  readonly clip: number[]
  readonly shape: [number, number, number, number, number]
  readonly labels: number[]
  readonly logits: number[]
  readonly grad: number[]
}
interface Reference {
  readonly model: string
  readonly opset: number
  readonly classes: number
  readonly mean: number[]
  readonly std: number[]
  readonly refs: ReadonlyArray<Ref>
  readonly torch: string
}

const MODELS = ['r3d_18', 'mc3_18', 'r2plus1d_18', 's3d', 'ops11', 'ops17'] as const
/** Two export processes (the machine's two cores are otherwise idle while they run), by model. */
const GROUPS: ReadonlyArray<ReadonlyArray<(typeof MODELS)[number]>> = [['r3d_18', 'mc3_18', 's3d'], ['ops11', 'ops17', 'r2plus1d_18']]
let dir = ''
const exported = new Map<string, Promise<void>>()

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'multav-onnx-'))
  if (python === undefined && !required) return
  for (const group of GROUPS) {
    const done = promisify(execFile)(python ?? 'python3', ['test/fixtures/onnx/export.py', dir, '--models', group.join(','), '--sizes', '1x8x32x32,1x4x16x16'], { timeout: 240_000 }).then(() => undefined)
    // keep a rejection from going unhandled while other tests run; each torch test awaits its group
    done.catch(() => undefined)
    for (const name of group) exported.set(name, done)
  }
})
test.after.always(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

const reference = async (name: string): Promise<Reference> => {
  await exported.get(name)
  return JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as Reference
}

const agreement = (ours: number[], g: number[], ref: Ref) => {
  const scale = Math.max(...ref.logits.map(Math.abs))
  const logitError = Math.max(...ours.map((v, i) => Math.abs(v - ref.logits[i]!))) / scale
  const dot = g.reduce((s, v, i) => s + v * ref.grad[i]!, 0)
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, e) => s + e * e, 0))
  const cosine = dot / (norm(g) * norm(ref.grad))
  const signs = g.filter((v, i) => Math.sign(v) === Math.sign(ref.grad[i]!)).length / g.length
  return { logitError, cosine, signs }
}

// -------------------------------------------------------------------------------------------------
// hand-built graphs (no Python): a tiny classifier, and hostile files
// -------------------------------------------------------------------------------------------------

const f32 = (data: number[]) => new Uint8Array(new Float32Array(data).buffer)
const dims = (...d: Array<number | string>) => ({ dim: d.map((v) => (typeof v === 'number' ? { dimValue: v } : { dimParam: v })) })

interface Build {
  readonly nodes?: Onnx.INodeProto[]
  readonly initializers?: Onnx.ITensorProto[]
  readonly opset?: number
}
/** clip [n, 3, 2, 4, 4] → GlobalAveragePool → Flatten → Gemm(W [2, 3], b [2], transB) → logits [n, 2]. */
const build = (b: Build = {}): Uint8Array =>
  onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'multav-test',
      opsetImport: [{ domain: '', version: b.opset ?? 17 }],
      graph: {
        name: 'tiny',
        node: b.nodes ?? [
          { opType: 'GlobalAveragePool', name: 'pool', input: ['clip'], output: ['p'] },
          { opType: 'Flatten', name: 'flat', input: ['p'], output: ['f'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
          { opType: 'Gemm', name: 'fc', input: ['f', 'W', 'b'], output: ['logits'], attribute: [{ name: 'transB', type: 2, i: 1 }] },
        ],
        initializer: b.initializers ?? [
          { name: 'W', dims: [2, 3], dataType: 1, rawData: f32([1, 2, 3, -1, 0.5, 0]) },
          { name: 'b', dims: [2], dataType: 1, floatData: [0.25, -0.5] },
        ],
        input: [{ name: 'clip', type: { tensorType: { elemType: 1, shape: dims('n', 3, 2, 4, 4) } } }],
        output: [{ name: 'logits', type: { tensorType: { elemType: 1, shape: dims('n', 2) } } }],
      },
    }),
  ).finish()

test.serial('a hand-built ONNX graph computes what it says, with gradients, and frees its tensors', async (t) => {
  await initBackend('wasm')
  const before = tf.memory().numTensors
  const m = await loadOnnx(build(), { mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 1] })
  t.is(m.classes, 2)
  t.deepEqual(m.clip, { frames: 2, height: 4, width: 4, channels: 3 })
  const x = tf.randomUniform([2, 2, 4, 4, 3], 0, 1, 'float32', 7) as tf.Tensor5D
  const expected = tf.tidy(() => {
    const z = tf.div(tf.sub(x, tf.tensor1d([0.5, 0.5, 0.5])), tf.tensor1d([0.25, 0.5, 1]))
    return tf.add(tf.matMul(tf.mean(z, [1, 2, 3]), tf.tensor2d([1, 2, 3, -1, 0.5, 0], [2, 3]), false, true), tf.tensor1d([0.25, -0.5]))
  })
  const y = m.model(x)
  const g = tf.grad((v: tf.Tensor) => tf.sum(m.model(v as tf.Tensor5D)))(x)
  const want = Array.from(await expected.data())
  Array.from(await y.data()).forEach((v, i) => t.true(Math.abs(v - want[i]!) < 1e-5, `logit ${i}: ${v} vs ${want[i]}`))
  // d/dx of the summed logits: (W[0, c] + W[1, c]) / std[c] / 32 everywhere
  const grad = Array.from(await g.data())
  const perChannel = [0 / 0.25 / 32, 2.5 / 0.5 / 32, 3 / 1 / 32]
  t.true(grad.every((v, i) => Math.abs(v - perChannel[i % 3]!) < 1e-6))
  const wrong = tf.zeros([1, 3, 4, 4, 3]) as tf.Tensor5D
  t.throws(() => m.model(wrong), { instanceOf: InputError, message: /takes clips of 2x4x4x3/ })
  tf.dispose([x, expected, y, g, wrong])
  m.dispose()
  t.is(tf.memory().numTensors, before)
})

const rejects = async (t: ExecutionContext, source: string | Uint8Array, message: RegExp, options = {}) => {
  const before = tf.memory().numTensors
  const e = await t.throwsAsync(loadOnnx(source, options), { instanceOf: InputError, message })
  t.is(tf.memory().numTensors, before, 'no tensor left behind')
  return e
}

test.serial('hostile ONNX files are InputErrors with a clear message, never a crash', async (t) => {
  await initBackend('wasm')
  const good = build()
  await rejects(t, good.slice(0, Math.floor(good.length * 0.6)), /truncated|not an ONNX model|not a readable ONNX model/)
  await rejects(t, good.slice(0, 5), /truncated|not an ONNX model|not a readable ONNX model/)
  await rejects(t, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({ length: 64 }, (_, i) => (i * 37) & 255)]), /not (a readable )?an? ?ONNX model|not a readable ONNX model/)
  await rejects(t, new TextEncoder().encode('{"__metadata__": {"format": "pt"}}'), /ONNX model/)
  await rejects(t, new Uint8Array(), /empty/)
  await rejects(t, join(dir, 'no-such-model.onnx'), /cannot read the ONNX model \(ENOENT\)/)
  await rejects(t, build({ opset: 3 }), /opset 3 is outside/)
  // absurd sizes and short data
  await rejects(t, build({ initializers: [{ name: 'W', dims: [1_000_000, 1_000_000], dataType: 1, rawData: f32([1, 2]) }] }), /claims 1000000000000 elements.*limit/)
  await rejects(t, build({ initializers: [{ name: 'W', dims: [2, 3], dataType: 1, rawData: f32([1, 2]) }] }), /holds 8 bytes of float, expected 24.*truncated/)
  await rejects(t, build({ initializers: [{ name: 'W', dims: [-2, 3], dataType: 1 }] }), /non-negative/)
  await rejects(t, build({ initializers: [{ name: 'W', dims: [2, 3], dataType: 8 }] }), /string tensor/)
  // shapes that do not fit are found on the first call, as InputErrors
  const badShape = await loadOnnx(build({ initializers: [{ name: 'W', dims: [2, 4], dataType: 1, floatData: [1, 2, 3, 4, 5, 6, 7, 8] }, { name: 'b', dims: [2], dataType: 1, floatData: [0, 0] }] }))
  t.throws(() => tf.tidy(() => badShape.model(tf.zeros([1, 2, 4, 4, 3]) as tf.Tensor5D)))
  badShape.dispose()
})

test.serial('one error lists every unsupported op type with a node, before anything runs', async (t) => {
  await initBackend('wasm')
  const e = await rejects(
    t,
    build({
      nodes: [
        { opType: 'FooOp', name: 'first_foo', input: ['clip'], output: ['a'] },
        { opType: 'Relu', name: 'relu', input: ['a'], output: ['b'] },
        { opType: 'BarOp', name: 'the_bar', input: ['b'], output: ['c'] },
        { opType: 'FooOp', name: 'second_foo', input: ['c'], output: ['d'] },
        { opType: 'FusedConv', domain: 'com.microsoft', name: 'ms', input: ['d'], output: ['logits'] },
      ],
    }),
    /3 operator types multav does not support: FooOp \(node "first_foo"\), BarOp \(node "the_bar"\), com\.microsoft:FusedConv \(node "ms"\)/,
  )
  t.is((e as InputError).issues.length, 3)
  await rejects(t, build({ nodes: [{ opType: 'Relu', name: 'r', input: ['nowhere'], output: ['logits'] }] }), /reads "nowhere", which no earlier node/)
  await rejects(
    t,
    build({ nodes: [{ opType: 'BatchNormalization', name: 'bn', input: ['clip', 'W', 'W', 'W', 'W'], output: ['logits'], attribute: [{ name: 'training_mode', type: 2, i: 1 }] }] }),
    /training_mode 1 is not supported/,
  )
  await rejects(t, build(), /options\.std must be/, { std: [1, 0, 1] })
  await rejects(t, build(), /no graph output "scores"/, { output: 'scores' })
})

test.serial('external data is read only from inside the model folder', async (t) => {
  await initBackend('wasm')
  const folder = join(dir, 'external')
  await mkdir(join(folder, 'weights'), { recursive: true })
  await writeFile(join(dir, 'secret.bin'), f32([1, 2, 3, 4, 5, 6]))
  await writeFile(join(folder, 'weights', 'w.bin'), f32([9, 9, 1, 2, 3, -1, 0.5, 0]))
  const external = (location: string, offset = 0) =>
    build({
      initializers: [
        { name: 'W', dims: [2, 3], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: '24' }] },
        { name: 'b', dims: [2], dataType: 1, floatData: [0.25, -0.5] },
      ],
    })
  await writeFile(join(folder, 'inside.onnx'), external('weights/w.bin', 8))
  await writeFile(join(folder, 'escape.onnx'), external('../secret.bin'))
  await writeFile(join(folder, 'absolute.onnx'), external(join(dir, 'secret.bin')))
  await writeFile(join(folder, 'beyond.onnx'), external('weights/w.bin', 16))
  const before = tf.memory().numTensors
  const m = await loadOnnx(join(folder, 'inside.onnx'))
  const zeros = tf.zeros([1, 2, 4, 4, 3]) as tf.Tensor5D
  const y = m.model(zeros)
  t.deepEqual(Array.from(await y.data()), [0.25, -0.5])
  tf.dispose([y, zeros])
  m.dispose()
  t.is(tf.memory().numTensors, before)
  await rejects(t, join(folder, 'escape.onnx'), /outside the model's folder \(refused\)/)
  await rejects(t, join(folder, 'absolute.onnx'), /must be a relative path inside the model's folder/)
  await rejects(t, join(folder, 'beyond.onnx'), /lies outside weights\/w\.bin/)
  await rejects(t, external('weights/w.bin'), /load the model from its path, not bytes/)
})

// -------------------------------------------------------------------------------------------------
// against PyTorch (after the tests above, which run while the models export)
// -------------------------------------------------------------------------------------------------

for (const backend of ['wasm', 'cpu'] as const)
  for (const name of MODELS)
    withTorch(`${name} from ONNX matches PyTorch's logits and input gradient on ${backend}`, async (t) => {
      const ref = await reference(name)
      const r = ref.refs[backend === 'wasm' ? 0 : 1]!
      await initBackend(backend)
      const before = tf.memory().numTensors
      let start = Date.now()
      const m = await loadOnnx(join(dir, `${name}.onnx`), { mean: ref.mean, std: ref.std })
      const load = Date.now() - start
      t.is(m.classes, ref.classes)
      t.is(m.opset, ref.opset)
      const x = tf.tensor5d(r.clip, r.shape)
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d(r.labels, 'int32'), ref.classes))
      start = Date.now()
      const logits = m.model(x)
      const forward = Date.now() - start
      start = Date.now()
      const grad = tf.grad((v: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, m.model(v as tf.Tensor5D)))(x)
      const ours = Array.from(await logits.data())
      const g = Array.from(await grad.data())
      const gradient = Date.now() - start
      tf.dispose([x, y, logits, grad])
      m.dispose()
      t.is(tf.memory().numTensors, before)
      const a = agreement(ours, g, r)
      t.log(
        `${name} ${backend} ${r.shape.join('x')} opset ${ref.opset} (PyTorch ${ref.torch}): logit error ${a.logitError.toExponential(2)} of scale, ` +
          `gradient cosine ${a.cosine.toFixed(9)}, sign agreement ${(100 * a.signs).toFixed(3)}%; load ${load} ms, forward ${forward} ms, gradient ${gradient} ms`,
      )
      t.true(a.logitError <= 1e-3, `logit error ${a.logitError}`)
      t.true(a.cosine > 0.999, `gradient cosine ${a.cosine}`)
      t.true(a.signs > 0.99, `sign agreement ${a.signs}`)
    })

withTorch('runAttack on an ONNX model raises its loss (Mult-L∞ on ops17, wasm)', async (t) => {
  const ref = await reference('ops17')
  const r = ref.refs[0]!
  await initBackend('wasm')
  const before = tf.memory().numTensors
  const m = await loadOnnx(join(dir, 'ops17.onnx'), { mean: ref.mean, std: ref.std })
  const x = tf.tensor5d(r.clip, r.shape)
  const losses: number[] = []
  const result = await runAttack(attacks.multLinf({ steps: 4 }), m.model, x, r.labels, { onStep: ({ loss }) => void losses.push(loss) })
  tf.dispose([x, result.adversarial])
  m.dispose()
  t.is(tf.memory().numTensors, before)
  t.log(`loss ${losses[0]} → ${result.loss}`)
  t.true(result.loss > losses[0]!, `the loss rose: ${losses[0]} → ${result.loss}`)
})
