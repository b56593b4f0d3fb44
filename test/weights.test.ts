/** Weights in the TensorFlow.js format and PyTorch safetensors: round trips and refusals. */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initBackend } from '../src/backend/backend.js'
import { readSafetensors } from '../src/models/safetensors.js'
import { loadWeights, saveWeights } from '../src/models/weights.js'

test.before(async () => {
  await initBackend('cpu')
})

const spec = { 'stem.conv.weight': [3, 3, 3, 3, 4], 'fc.bias': [5] } as const
const fresh = () => ({ 'stem.conv.weight': tf.randomNormal([3, 3, 3, 3, 4], 0, 1, 'float32', 1), 'fc.bias': tf.tensor1d([1, 2, 3, 4, 5]) })

const withDir = async (f: (dir: string) => Promise<void>) => {
  const dir = await mkdtemp(join(tmpdir(), 'multav-weights-'))
  try {
    await f(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

test.serial('save then load gives the same weights and config, across several shards', async (t) => {
  await withDir(async (dir) => {
    const before = tf.memory().numTensors
    const weights = fresh()
    await saveWeights(dir, weights, { config: { arch: 'test' }, shardBytes: 100 })
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'))
    t.is(manifest.weightsManifest[0].paths.length, Math.ceil((324 + 5) * 4 / 100))
    const loaded = await loadWeights(dir, spec)
    t.deepEqual(loaded.config, { arch: 'test' })
    for (const name of Object.keys(spec)) t.deepEqual(await loaded.weights[name]!.data(), await weights[name as keyof typeof weights].data())
    tf.dispose([...Object.values(weights), ...Object.values(loaded.weights)])
    t.is(tf.memory().numTensors, before)
  })
})

test.serial('wrong architecture, truncated shards and unsafe paths are refused before any tensor is made', async (t) => {
  await withDir(async (dir) => {
    const weights = fresh()
    await saveWeights(dir, weights)
    tf.dispose(Object.values(weights))
    const before = tf.memory().numTensors
    const manifestFile = join(dir, 'model.json')
    const where = join(dir, 'model.json')
    await t.throwsAsync(loadWeights(dir, { ...spec, 'fc.bias': [6] }), { message: `${where}: weight fc.bias has shape [5], expected [6]` })
    await t.throwsAsync(loadWeights(dir, { ...spec, 'fc.weight': [5, 8] }), { message: `${where}: missing weight fc.weight` })
    await t.throwsAsync(loadWeights(dir, { 'fc.bias': [5] }), { message: `${where}: weight stem.conv.weight is not part of this architecture` })
    const original = await readFile(manifestFile, 'utf8')
    const withPath = async (path: string) => writeFile(manifestFile, original.replace('group1-shard1of1.bin', path))
    await withPath('../outside.bin')
    await t.throwsAsync(loadWeights(dir, spec), { message: `${where}: weightsManifest[0].paths[0]: "../outside.bin" must be a relative path inside the model folder` })
    await withPath('/etc/passwd')
    await t.throwsAsync(loadWeights(dir, spec), { message: /"\/etc\/passwd" must be a relative path inside the model folder/ })
    const outside = await mkdtemp(join(tmpdir(), 'multav-outside-'))
    await writeFile(join(outside, 'secret.bin'), Buffer.alloc(1316))
    await symlink(join(outside, 'secret.bin'), join(dir, 'link.bin'))
    await withPath('link.bin')
    await t.throwsAsync(loadWeights(dir, spec), { message: `${where}: weightsManifest[0].paths[0]: "link.bin" is a link that leads outside the model folder` })
    await rm(outside, { recursive: true })
    await writeFile(manifestFile, original)
    const shard = join(dir, 'group1-shard1of1.bin')
    await writeFile(shard, (await readFile(shard)).subarray(0, 1000))
    await t.throwsAsync(loadWeights(dir, spec), { message: `${where}: the shards hold 1000 bytes but the weights need 1316 (truncated or wrong files)` })
    await writeFile(manifestFile, '{ nope')
    await t.throwsAsync(loadWeights(dir, spec), { message: new RegExp(`^${where.replace(/[.]/g, '\\.')}: not valid JSON`) })
    await t.throwsAsync(loadWeights(join(dir, 'missing'), spec), { message: `${join(dir, 'missing')}: not a model folder (it does not exist)` })
    t.is(tf.memory().numTensors, before)
  })
})

/** A safetensors file as PyTorch writes one. */
const safetensorsBytes = (tensors: Record<string, { dtype: string; shape: number[]; bytes: Buffer }>, extraHeader: Record<string, unknown> = {}) => {
  let offset = 0
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' }, ...extraHeader }
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] }
    offset += t.bytes.length
  }
  const json = Buffer.from(JSON.stringify(header))
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(json.length))
  return Buffer.concat([length, json, ...Object.values(tensors).map((t) => t.bytes)])
}
const f32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer)

test('safetensors: F32, F16, BF16 and F64 tensors are read as float32 with their shapes', async (t) => {
  await withDir(async (dir) => {
    const half = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x3800]).buffer) // 1, -2, 0.5
    const bf = Buffer.from(new Uint16Array([0x3f80, 0x4040]).buffer) // 1, 3
    const file = join(dir, 'model.safetensors')
    await writeFile(
      file,
      safetensorsBytes({
        'conv1.weight': { dtype: 'F32', shape: [2, 1, 1, 1, 2], bytes: f32([1, 2, 3, 4]) },
        'bn.weight': { dtype: 'F16', shape: [3], bytes: half },
        'fc.bias': { dtype: 'BF16', shape: [2], bytes: bf },
        'fc.weight': { dtype: 'F64', shape: [1], bytes: Buffer.from(new Float64Array([0.25]).buffer) },
      }),
    )
    const read = await readSafetensors(file)
    t.deepEqual([...read.keys()], ['conv1.weight', 'bn.weight', 'fc.bias', 'fc.weight'])
    t.deepEqual(read.get('conv1.weight')!.shape, [2, 1, 1, 1, 2])
    t.deepEqual(Array.from(read.get('conv1.weight')!.data), [1, 2, 3, 4])
    t.deepEqual(Array.from(read.get('bn.weight')!.data), [1, -2, 0.5])
    t.deepEqual(Array.from(read.get('fc.bias')!.data), [1, 3])
    t.deepEqual(Array.from(read.get('fc.weight')!.data), [0.25])
  })
})

test('safetensors: truncated, malformed and unsupported files give one clear error', async (t) => {
  await withDir(async (dir) => {
    const file = join(dir, 'bad.safetensors')
    const good = safetensorsBytes({ w: { dtype: 'F32', shape: [2, 2], bytes: f32([1, 2, 3, 4]) } })
    await writeFile(file, good.subarray(0, good.length - 4))
    await t.throwsAsync(readSafetensors(file), { message: `${file}: w: data ends at byte 16 of a 12-byte data buffer (truncated file)` })
    await writeFile(file, Buffer.from([1, 2, 3]))
    await t.throwsAsync(readSafetensors(file), { message: `${file}: not a safetensors file: 3 bytes, shorter than its 8-byte header length` })
    await writeFile(file, safetensorsBytes({ w: { dtype: 'I64', shape: [1], bytes: Buffer.alloc(8) } }))
    await t.throwsAsync(readSafetensors(file), { message: `${file}: w: dtype "I64" is not a float type multav reads (F64, F32, F16, BF16)` })
    await writeFile(file, safetensorsBytes({ w: { dtype: 'F32', shape: [3], bytes: f32([1, 2]) } }))
    await t.throwsAsync(readSafetensors(file), { message: `${file}: w: F32 [3] needs 12 bytes, its offsets span 8` })
    const overlap = safetensorsBytes({ a: { dtype: 'F32', shape: [2], bytes: f32([1, 2]) } }, { b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } })
    await writeFile(file, overlap)
    await t.throwsAsync(readSafetensors(file), { message: `${file}: tensors a and b overlap in the data buffer` })
    await t.throwsAsync(readSafetensors(join(dir, 'none.safetensors')), { message: /none\.safetensors: cannot open \(ENOENT\)/ })
  })
})
