/**
 * Differential test against PyTorch: torchvision's r3d_18 (random weights, widths as shipped) built in
 * Python, exported as safetensors, loaded into multav's 3D ResNet-18 (torchvision layout); logits and
 * the input gradient of the cross-entropy must match PyTorch's on the same clip, on wasm (the
 * custom-gradient conv3d). Needs python3 with torch and torchvision (`.ci/run` installs Debian's
 * python3-torch and python3-torchvision); outside CI the test is skipped when they are missing.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { execFile, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { initBackend } from '../src/backend/backend.js'
import { loadSafetensors } from '../src/models/pytorch.js'

// Debian's python3-torch lives in the system python, which may not be the first python3 on PATH.
const python = ['/usr/bin/python3', 'python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0,
)
const hasTorch = python !== undefined
const required = process.env['CI'] !== undefined
const register = hasTorch || required ? test.serial : test.skip

register("multav's r3d18 matches PyTorch's logits and input gradient (torchvision r3d_18, safetensors import)", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'multav-torch-'))
  try {
    await promisify(execFile)(python ?? 'python3', ['test/fixtures/torch_r3d18.py', dir, '--frames', '4', '--size', '32'], { timeout: 240_000 })
    const ref = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as {
      clip: number[]; shape: [number, number, number, number, number]; label: number; classes: number; logits: number[]; grad: number[]; torch: string
    }
    await initBackend('wasm')
    const before = tf.memory().numTensors
    const model = await loadSafetensors(join(dir, 'r3d18.safetensors'), { layout: 'torchvision', classes: ref.classes })
    const x = tf.tensor5d(ref.clip, ref.shape)
    const logits = model.model(x)
    const grad = tf.grad((v: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([ref.label], 'int32'), ref.classes), model.model(v as tf.Tensor5D)))(x)
    const [ours, g] = [Array.from(await logits.data()), Array.from(await grad.data())]
    tf.dispose([x, logits, grad])
    model.dispose()
    t.is(tf.memory().numTensors, before)
    const scale = Math.max(...ref.logits.map(Math.abs))
    ours.forEach((v, i) => t.true(Math.abs(v - ref.logits[i]!) <= 1e-3 * scale, `logit ${i}: multav ${v}, PyTorch ${ref.logits[i]}`))
    const dot = g.reduce((s, v, i) => s + v * ref.grad[i]!, 0)
    const norm = (v: number[]) => Math.sqrt(v.reduce((s, e) => s + e * e, 0))
    const cosine = dot / (norm(g) * norm(ref.grad))
    const signs = g.filter((v, i) => Math.sign(v) === Math.sign(ref.grad[i]!)).length / g.length
    t.log(`PyTorch ${ref.torch}: gradient cosine ${cosine}, sign agreement ${signs}`)
    t.true(cosine > 0.999, `gradient cosine ${cosine}`)
    t.true(signs > 0.99, `sign agreement ${signs}`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
