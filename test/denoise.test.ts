/**
 * Feature-denoising blocks: the op against a plain loop of its formula, its gradients (cpu against
 * finite differences, wasm against cpu), and the blocks inside the 3D ResNet-18 family: names and
 * shapes, a fresh block is the identity, per-frame embeddings follow each stage's clip length, saving
 * and loading, and adversarial fine-tuning through them on wasm.
 */
import test from 'ava'
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initBackend } from '../src/backend/backend.js'
import { denoise, embedding, type DenoiseKind } from '../src/models/denoise.js'
import { loadModel } from '../src/models/pretrained.js'
import { r3d18, stageFrames } from '../src/models/r3d.js'
import { saveWeights } from '../src/models/weights.js'
import { initialiseFrom } from '../src/eval/train-run.js'

type Kind = Exclude<DenoiseKind, 'none'>

/** The block's formula with plain loops: out = x + softmax(θφᵀ/√D)·x·W_out, per frame. */
const reference = (kind: Kind, x: Float64Array, [N, T, H, W, C]: readonly [number, number, number, number, number], theta: Float64Array, phi: Float64Array, out: Float64Array): Float64Array => {
  const [P, D] = [H * W, embedding(C)]
  const result = Float64Array.from(x)
  const at = (n: number, t: number, p: number, c: number) => (((n * T + t) * P + p) * C + c)
  for (let n = 0; n < N; n++)
    for (let t = 0; t < T; t++) {
      const base = kind === '2d' ? t * C * D : 0
      const emb = (m: Float64Array, p: number) =>
        Array.from({ length: D }, (_, d) => Array.from({ length: C }, (_, c) => x[at(n, t, p, c)]! * m[base + c * D + d]!).reduce((a, b) => a + b, 0))
      const th = Array.from({ length: P }, (_, p) => emb(theta, p))
      const ph = Array.from({ length: P }, (_, p) => emb(phi, p))
      for (let p = 0; p < P; p++) {
        const logits = ph.map((q) => q.reduce((s, v, d) => s + v * th[p]![d]!, 0) / Math.sqrt(D))
        const top = Math.max(...logits)
        const e = logits.map((l) => Math.exp(l - top))
        const z = e.reduce((a, b) => a + b, 0)
        const y = Array.from({ length: C }, (_, c) => e.reduce((s, w, q) => s + (w / z) * x[at(n, t, q, c)]!, 0))
        for (let c = 0; c < C; c++) result[at(n, t, p, c)]! += y.reduce((s, v, k) => s + v * out[k * C + c]!, 0)
      }
    }
  return result
}

/** The model's logits on x, read back (the logits tensor is disposed). */
const logitsOf = async (net: { model: (x: tf.Tensor5D) => tf.Tensor2D }, x: tf.Tensor5D) => {
  const y = net.model(x)
  const data = await y.data()
  y.dispose()
  return data
}

const values = (n: number, seed: number, scale = 1) => Float64Array.from({ length: n }, (_, i) => scale * Math.sin(1.7 * i + seed) * Math.cos(0.3 * i))

const geometry = fc.record({
  kind: fc.constantFrom<Kind>('3d', '2d'),
  N: fc.integer({ min: 1, max: 2 }),
  T: fc.integer({ min: 1, max: 3 }),
  H: fc.integer({ min: 1, max: 3 }),
  W: fc.integer({ min: 1, max: 3 }),
  C: fc.integer({ min: 1, max: 5 }),
  seed: fc.integer({ min: 0, max: 1000 }),
})

const weightsFor = (kind: Kind, T: number, C: number, seed: number) => {
  const D = embedding(C)
  const perFrame = kind === '2d' ? [T] : []
  return {
    theta: { shape: [...perFrame, C, D], data: values((kind === '2d' ? T : 1) * C * D, seed + 1) },
    phi: { shape: [...perFrame, C, D], data: values((kind === '2d' ? T : 1) * C * D, seed + 2) },
    out: { shape: [C, C], data: values(C * C, seed + 3, 0.5) },
  }
}

for (const backend of ['cpu', 'wasm'] as const)
  test.serial(`${backend}: the block computes x + softmax(θφᵀ/√D)·x·W_out within each frame, for generated shapes`, async (t) => {
    await initBackend(backend)
    const before = tf.memory().numTensors
    await fc.assert(
      fc.asyncProperty(geometry, async ({ kind, N, T, H, W, C, seed }) => {
        const shape = [N, T, H, W, C] as const
        const xs = values(N * T * H * W * C, seed)
        const w = weightsFor(kind, T, C, seed)
        const got = tf.tidy(() =>
          denoise(kind, tf.tensor5d(Float32Array.from(xs), shape as [number, number, number, number, number]), {
            theta: tf.tensor(Float32Array.from(w.theta.data), w.theta.shape),
            phi: tf.tensor(Float32Array.from(w.phi.data), w.phi.shape),
            out: tf.tensor(Float32Array.from(w.out.data), w.out.shape),
          }),
        )
        const data = await got.data()
        got.dispose()
        const want = reference(kind, xs, shape, w.theta.data, w.phi.data, w.out.data)
        want.forEach((v, i) => {
          if (Math.abs(v - data[i]!) > 1e-4 * (1 + Math.abs(v))) throw new Error(`${kind} [${shape}] value ${i}: ${data[i]} vs ${v}`)
        })
      }),
      { numRuns: 25, seed: 7 },
    )
    t.is(tf.memory().numTensors, before)
  })

/** Input and weight gradients of a fixed scalar loss through one block. */
const gradients = (kind: Kind, shape: [number, number, number, number, number], seed: number) =>
  tf.tidy(() => {
    const [, T, , , C] = shape
    const w = weightsFor(kind, T, C, seed)
    const x = tf.tensor5d(Float32Array.from(values(shape.reduce((a, b) => a * b, 1), seed)), shape)
    const [theta, phi, out] = [w.theta, w.phi, w.out].map((m) => tf.tensor(Float32Array.from(m.data), m.shape))
    const probe = tf.tensor(Float32Array.from(values(x.size, seed + 9)), shape)
    const loss = (xv: tf.Tensor, th: tf.Tensor, ph: tf.Tensor, o: tf.Tensor) =>
      tf.sum(tf.mul(tf.square(denoise(kind, xv as tf.Tensor5D, { theta: th, phi: ph, out: o })), probe)) as tf.Scalar
    return tf.grads(loss)([x, theta!, phi!, out!]).map((g) => Array.from(g.dataSync()))
  })

test.serial('gradients: cpu matches central finite differences, and wasm matches cpu (input and weights)', async (t) => {
  const shape: [number, number, number, number, number] = [2, 2, 2, 3, 4]
  for (const kind of ['3d', '2d'] as const) {
    await initBackend('cpu')
    const before = tf.memory().numTensors
    const cpu = gradients(kind, shape, 3)
    // finite differences of the input gradient on a few coordinates, in float64 with the reference
    const [, T, , , C] = shape
    const w = weightsFor(kind, T, C, 3)
    const xs = values(shape.reduce((a, b) => a * b, 1), 3)
    const probe = values(xs.length, 12)
    const f = (v: Float64Array) => reference(kind, v, shape, w.theta.data, w.phi.data, w.out.data).reduce((s, y, i) => s + y * y * probe[i]!, 0)
    for (const i of [0, 5, 17, 30, xs.length - 1]) {
      const h = 1e-4
      const [up, down] = [Float64Array.from(xs), Float64Array.from(xs)]
      up[i]! += h
      down[i]! -= h
      const numeric = (f(up) - f(down)) / (2 * h)
      t.true(Math.abs(numeric - cpu[0]![i]!) < 2e-3 * (1 + Math.abs(numeric)), `${kind} ∂/∂x[${i}]: ${cpu[0]![i]} vs ${numeric}`)
    }
    t.is(tf.memory().numTensors, before)
    await initBackend('wasm')
    const wasmBefore = tf.memory().numTensors
    const wasm = gradients(kind, shape, 3)
    t.is(tf.memory().numTensors, wasmBefore)
    cpu.forEach((g, k) =>
      g.forEach((v, i) => {
        if (Math.abs(v - wasm[k]![i]!) > 1e-4 * (1 + Math.abs(v))) t.fail(`${kind} gradient ${k}[${i}]: cpu ${v}, wasm ${wasm[k]![i]}`)
      }),
    )
    t.pass()
  }
})

test.serial('in the 3D ResNet-18: one block per stage, per-frame embeddings per stage length, and a fresh block is the identity', async (t) => {
  await initBackend('wasm')
  const before = tf.memory().numTensors
  t.deepEqual(stageFrames('torchvision', 8), [8, 4, 2, 1])
  t.deepEqual(stageFrames('hara', 8), [4, 2, 1, 1])
  t.deepEqual(stageFrames('torchvision', 5), [5, 3, 2, 1])
  const config = { classes: 4, widths: [4, 6, 8, 10] as const, seed: 3 }
  const x = tf.tensor5d(Float32Array.from(values(2 * 5 * 16 * 16 * 3, 1)).map((v) => (v + 1) / 2), [2, 5, 16, 16, 3])
  for (const layout of ['torchvision', 'hara'] as const) {
    const plain = r3d18({ layout, ...config })
    const logits = await logitsOf(plain, x)
    for (const kind of ['3d', '2d'] as const) {
      const net = r3d18({ layout, ...config, denoise: kind, frames: 5 })
      const frames = stageFrames(layout, 5)
      config.widths.forEach((c, s) => {
        const perFrame = kind === '2d' ? [frames[s]!] : []
        t.deepEqual(net.shapes[`denoise${s + 1}.theta.weight`], [...perFrame, c, Math.ceil(c / 2)])
        t.deepEqual(net.shapes[`denoise${s + 1}.phi.weight`], [...perFrame, c, Math.ceil(c / 2)])
        t.deepEqual(net.shapes[`denoise${s + 1}.out.weight`], [c, c])
      })
      // the backbone's initialisation does not depend on the blocks, and W_out = 0 makes them the identity
      const fresh = await logitsOf(net, x)
      fresh.forEach((v, i) => t.true(Math.abs(v - logits[i]!) < 1e-5, `${layout}/${kind} logit ${i}: ${v} vs ${logits[i]}`))
      // a trained W_out changes the logits
      tf.tidy(() => net.variables['denoise2.out.weight']!.assign(tf.fill([6, 6], 0.3)))
      const changed = await logitsOf(net, x)
      t.true(changed.some((v, i) => Math.abs(v - logits[i]!) > 1e-3), `${layout}/${kind}: a non-zero block changes nothing`)
      net.dispose()
    }
    plain.dispose()
  }
  x.dispose()
  t.throws(() => r3d18({ layout: 'torchvision', classes: 2, denoise: '2d' }), { message: /denoise '2d' needs the clip length \(config\.frames/ })
  t.is(tf.memory().numTensors, before)
})

test.serial("a '2d' block refuses features of another clip length", async (t) => {
  await initBackend('cpu')
  const net = r3d18({ layout: 'torchvision', classes: 2, widths: [2, 2, 2, 2], denoise: '2d', frames: 4 })
  const x = tf.zeros([1, 6, 16, 16, 3]) as tf.Tensor5D
  t.throws(() => net.model(x), { message: /embeddings for 4 frames, the features have 6/ })
  x.dispose()
  net.dispose()
})

test.serial('denoising models save and load through loadModel (the config names the kind and the clip length)', async (t) => {
  await initBackend('wasm')
  const dir = await mkdtemp(join(tmpdir(), 'multav-denoise-'))
  try {
    for (const kind of ['3d', '2d'] as const) {
      const before = tf.memory().numTensors
      const net = r3d18({ layout: 'torchvision', classes: 3, widths: [2, 4, 4, 6], denoise: kind, frames: 4, seed: 2 })
      tf.tidy(() => net.variables['denoise1.out.weight']!.assign(tf.fill([2, 2], 0.25)))
      const x = tf.tensor5d(Float32Array.from(values(4 * 16 * 16 * 3, 4)).map((v) => (v + 1) / 2), [1, 4, 16, 16, 3])
      const want = await logitsOf(net, x)
      const folder = join(dir, kind)
      await saveWeights(folder, { ...net.variables, ...net.state }, {
        config: { architecture: 'r3d18', layout: 'torchvision', widths: [2, 4, 4, 6], denoise: kind, clip: { T: 4, H: 16, W: 16 }, classes: ['a', 'b', 'c'] },
      })
      net.dispose()
      const loaded = await loadModel(folder)
      t.is(loaded.config.denoise, kind)
      const got = await logitsOf(loaded, x)
      t.deepEqual(Array.from(got), Array.from(want))
      loaded.dispose()
      x.dispose()
      t.is(tf.memory().numTensors, before)
    }
    // a model folder that names an unknown kind is refused before any weight is read
    await saveWeights(join(dir, 'bad'), {}, { config: { architecture: 'r3d18', layout: 'torchvision', widths: [2, 4, 4, 6], denoise: '4d', classes: ['a', 'b'] } })
    await t.throwsAsync(loadModel(join(dir, 'bad')), { message: /config\.denoise must be one of none, 3d, 2d, got "4d"/ })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.serial('--init copies a trained backbone under fresh denoising blocks, and refuses a network of another shape', async (t) => {
  await initBackend('cpu')
  const dir = await mkdtemp(join(tmpdir(), 'multav-init-'))
  try {
    const before = tf.memory().numTensors
    const config = { architecture: 'r3d18', layout: 'torchvision', widths: [2, 4, 4, 6], clip: { T: 4, H: 16, W: 16 }, classes: ['a', 'b', 'c'] }
    const source = r3d18({ layout: 'torchvision', classes: 3, widths: [2, 4, 4, 6], seed: 9 })
    await saveWeights(dir, { ...source.variables, ...source.state }, { config })
    const x = tf.tensor5d(Float32Array.from(values(4 * 16 * 16 * 3, 5)).map((v) => (v + 1) / 2), [1, 4, 16, 16, 3])
    const want = await logitsOf(source, x)
    source.dispose()
    const net = r3d18({ layout: 'torchvision', classes: 3, widths: [2, 4, 4, 6], seed: 1, denoise: '2d', frames: 4 })
    const lines: string[] = []
    await initialiseFrom(net, dir, (l) => void lines.push(l))
    t.regex(lines[0]!, /12 new weights keep their fresh initialisation/)
    // the blocks start as the identity, so the network computes what the source did
    const got = await logitsOf(net, x)
    got.forEach((v, i) => t.true(Math.abs(v - want[i]!) < 1e-5, `logit ${i}: ${v} vs ${want[i]}`))
    net.dispose()
    const wider = r3d18({ layout: 'torchvision', classes: 3, widths: [2, 4, 4, 8] })
    const weightsBefore = await Promise.all(Object.values(wider.variables).map((v) => v.data()))
    await t.throwsAsync(initialiseFrom(wider, dir, () => undefined), { message: /weight layer4\.0\.conv1\.0\.weight has shape \[3,3,3,4,6\], the network being trained needs \[3,3,3,4,8\]/ })
    // nothing was copied
    const weightsAfter = await Promise.all(Object.values(wider.variables).map((v) => v.data()))
    t.deepEqual(weightsAfter, weightsBefore)
    wider.dispose()
    x.dispose()
    t.is(tf.memory().numTensors, before)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
