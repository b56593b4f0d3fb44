/**
 * The GPU backends' plumbing, in Node: the rank-5 folds are exact (checked against tfjs on cpu), and
 * initBackend reports 'webgl' and 'webgpu' honestly as unavailable here (no canvas, no navigator.gpu).
 * The backends themselves run in test/browser.test.ts (headless Chromium).
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { initBackend } from '../src/backend/backend.js'
import { BackendUnavailableError } from '../src/backend/gpu.js'
import { foldBroadcast, foldPad, foldTile } from '../src/backend/rank5.js'

test.before(async () => {
  await tf.setBackend('cpu')
})

const values = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i + 1), shape)
const same = async (a: tf.Tensor, b: tf.Tensor) => Array.from(await a.data()).every((v, i) => v === (b.dataSync()[i] as number)) && a.size === b.size

test('a rank-5 pad folds to rank ≤ 4 with the same result (conv3d\'s and the 3D ResNet\'s pads)', async (t) => {
  const cases: Array<[number[], Array<[number, number]>]> = [
    [[2, 3, 4, 5, 2], [[0, 0], [1, 1], [0, 0], [0, 0], [0, 0]]],
    [[2, 3, 4, 5, 2], [[0, 0], [1, 2], [3, 3], [3, 3], [0, 0]]],
    [[1, 2, 3, 3, 4], [[0, 0], [0, 0], [0, 0], [0, 0], [0, 4]]],
    [[2, 2, 2, 2, 2], [[1, 0], [0, 1], [1, 1], [0, 2], [2, 0]]],
  ]
  for (const [shape, pads] of cases) {
    const f = foldPad(shape, pads)
    const x = values(shape)
    const want = tf.pad(x, pads)
    if (f.shape.length <= 4) {
      t.true(await same(tf.reshape(tf.pad(tf.reshape(x, f.shape), f.paddings), want.shape), want), JSON.stringify([shape, pads]))
    } else t.is(f.shape.length, 5, 'every axis padded: the wrapper pads one axis at a time')
  }
  t.deepEqual(foldPad([2, 3, 4, 5, 2], [[0, 0], [1, 2], [3, 3], [3, 3], [0, 0]]).shape, [2, 3, 4, 10])
})

test('a rank-5 broadcast folds to rank ≤ 3 with the same result (masks, per-sample norms, batch norm)', async (t) => {
  const cases: Array<[number[], number[]]> = [
    [[2, 3, 4, 5, 2], [2, 1, 1, 1, 1]],
    [[2, 3, 4, 5, 2], [2, 3, 4, 5, 1]],
    [[2, 3, 4, 5, 2], [2]],
    [[2, 3, 4, 5, 2], []],
    [[2, 3, 4, 5, 2], [2, 3, 4, 5, 2]],
    [[1, 3, 1, 5, 2], [2, 1, 4, 5, 2]],
  ]
  for (const [a, b] of cases) {
    const f = foldBroadcast(a, b)
    t.true(f.a.length <= 4, JSON.stringify([a, b, f]))
    const x = values(a)
    const y = tf.add(values(b), 0.5)
    const want = tf.mul(x, y)
    t.true(await same(tf.reshape(tf.mul(tf.reshape(x, f.a), tf.reshape(y, f.b)), want.shape), want), JSON.stringify([a, b]))
  }
})

test('a rank-5 tile folds with the same result (tf.where\'s broadcastTo of a per-sample condition)', async (t) => {
  const cases: Array<[number[], number[]]> = [
    [[2, 1, 1, 1, 1], [1, 3, 4, 5, 2]],
    [[1, 1, 1, 1, 1], [2, 3, 4, 5, 2]],
    [[2, 3, 4, 5, 1], [1, 1, 1, 1, 2]],
  ]
  for (const [shape, reps] of cases) {
    const f = foldTile(shape, reps)
    t.true(f.shape.length <= 4, JSON.stringify([shape, reps, f]))
    const x = values(shape)
    const want = tf.tile(x, reps)
    t.true(await same(tf.reshape(tf.tile(tf.reshape(x, f.shape), f.reps), want.shape), want), JSON.stringify([shape, reps]))
  }
})

test("initBackend('webgl') and ('webgpu') say why they cannot run in Node", async (t) => {
  const gl = await t.throwsAsync(initBackend('webgl'), { instanceOf: BackendUnavailableError })
  t.regex(gl.message, /^initBackend\(webgl\): backend 'webgl' is not available: there is no canvas/)
  const gpu = await t.throwsAsync(initBackend('webgpu'), { instanceOf: BackendUnavailableError })
  t.regex(gpu.message, /^initBackend\(webgpu\): backend 'webgpu' is not available: no navigator\.gpu/)
  // the optional peer is not installed here: the message says how to get it
  t.regex(gpu.message, /npm install webgpu@0\.6\.2, Dawn's binding, an optional peer dependency/)
  t.is(tf.getBackend(), 'cpu', 'the backend in use is kept')
})

test("with the webgpu package (Dawn's Node binding) installed, initBackend('webgpu') sets navigator.gpu from it and says when it finds no adapter", async (t) => {
  const { execFile } = await import('node:child_process')
  const { promisify } = await import('node:util')
  // a child process whose `webgpu` resolves to a stand-in that finds no adapter (as Dawn without a Vulkan device)
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--import', './test/fixtures/node-webgpu/register.mjs', 'test/fixtures/node-webgpu/probe.ts'], { timeout: 60_000 })
  const said = JSON.parse(stdout.trim().split('\n').pop()!) as { error: string; gpu: boolean; flags: unknown; globals: boolean }
  t.deepEqual({ gpu: said.gpu, flags: said.flags, globals: said.globals }, { gpu: true, flags: [], globals: true })
  t.is(said.error, "initBackend(webgpu): backend 'webgpu' is not available: navigator.gpu found no adapter (Dawn's Node binding found no Vulkan, Metal or D3D12 device here)")
})
