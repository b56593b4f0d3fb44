/**
 * Importing PyTorch state dicts (safetensors) into the 3D ResNet-18: a model's weights written in
 * PyTorch's layout load back into a fresh model that then computes the same logits; wrong files are
 * refused with the tensor named. (The comparison against PyTorch itself needs python3-torch.)
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initBackend } from '../src/backend/backend.js'
import { loadSafetensors } from '../src/models/pytorch.js'
import { r3d18, type R3dConfig } from '../src/models/r3d.js'

/** A state dict as PyTorch would save it: NCDHW conv kernels, [K, C] FC weights, num_batches_tracked. */
/** `counter`: the dtype of the num_batches_tracked entries (safetensors.torch writes PyTorch's I64). */
const asTorchSafetensors = async (model: ReturnType<typeof r3d18>, counter: 'F64' | 'I64' = 'F64'): Promise<Buffer> => {
  const header: Record<string, unknown> = {}
  const chunks: Buffer[] = []
  let offset = 0
  const put = (name: string, dtype: string, shape: number[], bytes: Buffer) => {
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] }
    chunks.push(bytes)
    offset += bytes.length
  }
  for (const [name, v] of Object.entries({ ...model.variables, ...model.state })) {
    const t = v.rank === 5 ? tf.transpose(v, [4, 3, 0, 1, 2]) : name === 'fc.weight' ? tf.transpose(v) : tf.clone(v)
    put(name, 'F32', t.shape, Buffer.from((await t.data() as Float32Array).buffer))
    t.dispose()
    if (name.endsWith('running_var')) put(name.replace('running_var', 'num_batches_tracked'), counter, [], Buffer.alloc(8))
  }
  const json = Buffer.from(JSON.stringify(header))
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(json.length))
  return Buffer.concat([length, json, ...chunks])
}

const config = (layout: R3dConfig['layout'], seed: number): R3dConfig => ({ layout, classes: 4, widths: [4, 4, 8, 8], seed })

for (const layout of ['hara', 'torchvision'] as const) {
  // the torchvision file holds its step counters as I64, as safetensors.torch.save_file writes them
  test.serial(`${layout}: weights in PyTorch's layout load into a fresh model that computes the same logits`, async (t) => {
    await initBackend('cpu')
    const dir = await mkdtemp(join(tmpdir(), 'multav-import-'))
    try {
      const source = r3d18(config(layout, 1))
      // give the BN statistics non-trivial values, as a trained model has
      tf.dispose(source.apply(tf.randomUniform([2, 4, 16, 16, 3], 0, 1, 'float32', 9) as tf.Tensor5D, true))
      const file = join(dir, 'r3d18.safetensors')
      await writeFile(file, await asTorchSafetensors(source, layout === 'torchvision' ? 'I64' : 'F64'))
      const before = tf.memory().numTensors
      const loaded = await loadSafetensors(file, config(layout, 2))
      const x = tf.randomUniform([2, 4, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor5D
      const [a, b] = [source.model(x), loaded.model(x)]
      const [va, vb] = [await a.data(), await b.data()]
      va.forEach((v, i) => t.true(Math.abs(v - vb[i]!) < 1e-5, `logit ${i}: ${v} vs ${vb[i]}`))
      tf.dispose([x, a, b])
      loaded.dispose()
      t.is(tf.memory().numTensors, before)
      source.dispose()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
}

test.serial('a wrong layout, class count or a missing tensor is refused, naming the tensor', async (t) => {
  await initBackend('cpu')
  const dir = await mkdtemp(join(tmpdir(), 'multav-import-'))
  try {
    const source = r3d18(config('torchvision', 1))
    const file = join(dir, 'tv.safetensors')
    await writeFile(file, await asTorchSafetensors(source))
    source.dispose()
    const before = tf.memory().numTensors
    await t.throwsAsync(loadSafetensors(file, config('hara', 0)), { message: `${file}: stem.0.weight, stem.1.weight, stem.1.bias and 97 more not in a hara 3D ResNet-18 (wrong layout?)` })
    await t.throwsAsync(loadSafetensors(file, { ...config('torchvision', 0), classes: 7 }), {
      message: `${file}: tensor fc.weight has shape [4, 8], expected [7, 8] for 7 classes and widths 4,4,8,8`,
    })
    t.is(tf.memory().numTensors, before)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
