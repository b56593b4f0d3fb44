/**
 * The ONNX interpreter keeps values channels-last between convolutions and element-wise ops and
 * converts to ONNX's layout only where an op needs its axes (src/models/onnx/layout.ts). A hand-built
 * graph that mixes the two — Conv → Add of a per-channel [C, 1, 1, 1] constant → Relu → Mul by a
 * scalar → Transpose (ONNX axes) → Reshape → logits — is checked against the same formula written as
 * plain loops over NCTHW arrays, with its input gradient against central finite differences, on cpu
 * and wasm. No Python needed.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import pkg from 'onnx-proto'
import { initBackend } from '../src/backend/backend.js'
import { loadOnnx } from '../src/models/onnx/index.js'

const { onnx } = pkg

const [N, C, T, H, W, CO] = [1, 2, 3, 4, 4, 3]
/** Seeded values in [−1, 1). */
const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.37) * 0.9)
const FILTER = values(CO * C * 1 * 3 * 3, 1) // [Co, C, 1, 3, 3]
const BIAS = values(CO, 2) // [Co, 1, 1, 1]
const SCALE = 2.5

const graph = (): Uint8Array =>
  onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'multav-test',
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'mixed-layouts',
        node: [
          { opType: 'Conv', name: 'conv', input: ['clip', 'w'], output: ['c'], attribute: [{ name: 'pads', type: 7, ints: [0, 1, 1, 0, 1, 1] }, { name: 'kernel_shape', type: 7, ints: [1, 3, 3] }] },
          { opType: 'Add', name: 'bias', input: ['c', 'b'], output: ['a'] },
          { opType: 'Relu', name: 'relu', input: ['a'], output: ['r'] },
          { opType: 'Mul', name: 'scale', input: ['r', 's'], output: ['m'] },
          // ONNX's axes: channels last, then time — a layout bug would permute the logits
          { opType: 'Transpose', name: 'swap', input: ['m'], output: ['tr'], attribute: [{ name: 'perm', type: 7, ints: [0, 3, 4, 1, 2] }] },
          { opType: 'Reshape', name: 'flat', input: ['tr', 'shape'], output: ['logits'] },
        ],
        initializer: [
          { name: 'w', dims: [CO, C, 1, 3, 3], dataType: 1, floatData: FILTER },
          { name: 'b', dims: [CO, 1, 1, 1], dataType: 1, floatData: BIAS },
          { name: 's', dims: [], dataType: 1, floatData: [SCALE] },
          { name: 'shape', dims: [2], dataType: 7, int64Data: [N, CO * T * H * W] },
        ],
        input: [{ name: 'clip', type: { tensorType: { elemType: 1, shape: { dim: [N, C, T, H, W].map((d) => ({ dimValue: d })) } } } }],
        output: [{ name: 'logits', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: N }, { dimValue: CO * T * H * W }] } } } }],
      },
    }),
  ).finish()

/** The graph's formula by loops: x given as [N, T, H, W, C] (the model's input), logits in the Transpose's order [n, h, w, o, t]. */
const expected = (x: Float32Array): number[] => {
  const at = (t: number, h: number, w: number, c: number) => (h < 0 || h >= H || w < 0 || w >= W ? 0 : x[((t * H + h) * W + w) * C + c]!)
  const out: number[] = []
  for (let h = 0; h < H; h++)
    for (let w = 0; w < W; w++)
      for (let o = 0; o < CO; o++)
        for (let t = 0; t < T; t++) {
          let sum = BIAS[o]!
          for (let c = 0; c < C; c++)
            for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) sum += FILTER[((o * C + c) * 3 + i) * 3 + j]! * at(t, h + i - 1, w + j - 1, c)
          out.push(SCALE * Math.max(0, sum))
        }
  return out
}

for (const backend of ['cpu', 'wasm'] as const) {
  test.serial(`${backend}: a graph mixing channels-last and ONNX-layout ops computes its formula, and its input gradient matches finite differences`, async (t) => {
    await initBackend(backend)
    const before = tf.memory().numTensors
    const net = await loadOnnx(graph())
    const clip = new Float32Array(values(N * T * H * W * C, 3).map((v) => 0.5 + 0.5 * v))
    const x = tf.tensor5d(clip, [N, T, H, W, C])
    const y = net.model(x)
    t.deepEqual(y.shape, [N, CO * T * H * W])
    const got = Array.from(await y.data())
    const want = expected(clip)
    const worst = Math.max(...got.map((v, i) => Math.abs(v - want[i]!)))
    t.true(worst < 1e-5, `logits differ by ${worst}`)
    // the gradient of Σ_k v_k · logit_k (v fixed), against central differences of the loop formula in float64
    const v = values(CO * T * H * W, 4)
    const g = tf.tidy(() => tf.grad((z: tf.Tensor) => tf.sum(tf.mul(net.model(z as tf.Tensor5D), tf.tensor2d(v, [N, v.length]))))(x))
    const grad = await g.data()
    const objective = (c: Float32Array) => expected(c).reduce((s, l, k) => s + l * v[k]!, 0)
    for (const i of [0, 5, 17, 40, 77, clip.length - 1]) {
      const [up, down] = [Float32Array.from(clip), Float32Array.from(clip)]
      up[i]! += 1e-3
      down[i]! -= 1e-3
      const numeric = (objective(up) - objective(down)) / 2e-3
      t.true(Math.abs(grad[i]! - numeric) < 1e-3 * Math.max(1, Math.abs(numeric)), `∂/∂x[${i}]: ${grad[i]} vs ${numeric}`)
    }
    tf.dispose([x, y, g])
    net.dispose()
    t.is(tf.memory().numTensors, before)
  })
}
