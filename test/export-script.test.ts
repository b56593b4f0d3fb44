/**
 * python/export_safetensors.py, the documented way to bring PyTorch weights to multav, run as the
 * docs say with Debian's torch alone (no `safetensors` package): test/fixtures/import/checkpoint.py
 * saves a torchvision r3d_18 checkpoint (seeded random weights, random BatchNorm statistics) and
 * PyTorch's logits on a clip; the script exports it; multav's loadSafetensors must reproduce the
 * logits (within 1e-4 of their scale). A narrow r3d_18 (widths 8-16-32-64) saved with the script's
 * importable `save_safetensors` goes through `multav import` with Kinetics' mean/std and must match
 * PyTorch's logits on normalised clips. The format itself is checked byte by byte (header length, 8-byte alignment, dtypes, offsets, no
 * num_batches_tracked), and the importable `save_safetensors` on float16/bfloat16/float64/integer
 * tensors. Needs /usr/bin/python3 with torch and torchvision (CI installs Debian's); skipped, saying
 * so, without them, and required when CI is set.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { execFile, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { initBackend } from '../src/backend/backend.js'
import { importModel } from '../src/models/folder/import.js'
import { load } from '../src/models/folder/load.js'
import { loadSafetensors } from '../src/models/pytorch.js'
import { readSafetensors } from '../src/models/safetensors.js'

const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0)
const required = process.env['CI'] !== undefined
const withTorch = python !== undefined || required ? test.serial : test.serial.skip
if (python === undefined && !required) console.log('export-script.test.ts: /usr/bin/python3 has no torch/torchvision: the export script is not tested')

const run = promisify(execFile)
const py = (args: ReadonlyArray<string>) => run(python ?? '/usr/bin/python3', [...args], { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 })

let dir = ''
/** The checkpoint and the references (checkpoint.py), started once for the tests that read them. */
let checkpoint: Promise<unknown> = Promise.resolve()
test.before(async () => {
  await initBackend('wasm')
  dir = await mkdtemp(join(tmpdir(), 'multav-export-'))
  if (python === undefined && !required) return
  checkpoint = py(['test/fixtures/import/checkpoint.py', dir, '--classes', '5'])
  checkpoint.catch(() => undefined) // awaited by each test that needs it
})
test.after.always(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

interface Reference {
  readonly clip: number[]
  readonly shape: [number, number, number, number, number]
  readonly classes: number
  readonly logits: number[]
  /** The narrow r3d_18's logits on the clip, Kinetics-normalised. */
  readonly narrow: number[]
  readonly mean: number[]
  readonly std: number[]
}

/** The header of a safetensors file, as written: its length, its JSON, the data's size. */
const headerOf = async (file: string) => {
  const bytes = await readFile(file)
  const length = Number(bytes.readBigUInt64LE(0))
  return { length, json: JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>, data: bytes.subarray(8 + length) }
}

withTorch('the documented command exports a torchvision r3d_18 checkpoint that loadSafetensors reads, matching PyTorch\'s logits', async (t) => {
  let last = Date.now()
  const lap = (what: string) => {
    t.log(`${what}: ${((Date.now() - last) / 1000).toFixed(1)} s`)
    last = Date.now()
  }
  await checkpoint
  lap('checkpoint (python)')
  const reference = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as Reference
  const file = join(dir, 'model.safetensors')
  // as docs/models.md and the script's usage say (the classes are read from the checkpoint)
  const { stderr } = await py(['python/export_safetensors.py', '--arch', 'r3d_18', '--weights', join(dir, 'checkpoint.pth'), '--out', file])
  lap('export_safetensors.py')
  t.regex(stderr, /wrote .*model\.safetensors: r3d_18, 5 classes, 102 tensors \(float32\)/)

  const { length, json, data } = await headerOf(file)
  t.is((8 + length) % 8, 0, 'the data starts 8-byte aligned')
  t.deepEqual(json['__metadata__'], { format: 'pt', arch: 'r3d_18', classes: '5' } as unknown)
  const names = Object.keys(json).filter((k) => k !== '__metadata__')
  t.is(names.length, 102)
  t.false(names.some((n) => n.endsWith('num_batches_tracked')), 'num_batches_tracked is left out')
  t.true(names.every((n) => json[n]!.dtype === 'F32'))
  t.deepEqual(json['fc.weight']!.shape, [5, 512])
  t.deepEqual(json['stem.0.weight']!.shape, [64, 3, 3, 7, 7])
  // offsets tile the data exactly, in order
  const spans = names.map((n) => json[n]!.data_offsets).sort((a, b) => a[0] - b[0])
  spans.forEach(([begin], i) => t.is(begin, i === 0 ? 0 : spans[i - 1]![1]))
  t.is(spans[spans.length - 1]![1], data.length)

  const before = tf.memory().numTensors
  const net = await loadSafetensors(file, { layout: 'torchvision', classes: 5 })
  const x = tf.tensor5d(reference.clip, reference.shape)
  const y = net.model(x)
  const ours = Array.from(await y.data())
  lap('loadSafetensors and a forward pass')
  const scale = Math.max(...reference.logits.map(Math.abs))
  const error = Math.max(...ours.map((v, i) => Math.abs(v - reference.logits[i]!)))
  t.log(`max logit error ${error.toExponential(2)} of scale ${scale.toFixed(3)}`)
  t.true(error <= 1e-4 * scale, `logits differ by ${error} (scale ${scale}): ${ours} vs ${reference.logits}`)

  tf.dispose([x, y])
  net.dispose()
  t.is(tf.memory().numTensors, before)
})

withTorch('multav import reads what save_safetensors wrote: a narrow torchvision r3d_18 with Kinetics normalisation matches PyTorch', async (t) => {
  await checkpoint
  const reference = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as Reference
  const before = tf.memory().numTensors
  const out = join(dir, 'imported')
  const [, T, H, W] = reference.shape
  const info = await importModel(join(dir, 'narrow.safetensors'), { out, arch: 'r3d18', clip: { T, H, W }, mean: reference.mean, std: reference.std, command: 'test', version: 'test' })
  t.deepEqual([info.kind, info.classes.length, info.source!.format], ['r3d18', 4, 'safetensors'])
  t.deepEqual(JSON.parse(await readFile(join(out, 'model.json'), 'utf8')).config.widths, [8, 16, 32, 64], 'widths read from the state dict')
  const folder = await load(out)
  const x = tf.tensor5d(reference.clip, reference.shape)
  const y = folder.model(x)
  const ours = Array.from(await y.data())
  const scale = Math.max(...reference.narrow.map(Math.abs))
  const error = Math.max(...ours.map((v, i) => Math.abs(v - reference.narrow[i]!)))
  t.log(`max logit error ${error.toExponential(2)} of scale ${scale.toFixed(3)}`)
  t.true(error <= 1e-4 * scale, `logits differ by ${error} (scale ${scale}): ${ours} vs ${reference.narrow}`)
  tf.dispose([x, y])
  folder.dispose()
  t.is(tf.memory().numTensors, before)
})

withTorch('without --weights the script writes torchvision\'s initialisation with --classes; save_safetensors keeps float16, bfloat16, float64 and integer tensors exact', async (t) => {
  const random = join(dir, 'random.safetensors')
  await py(['python/export_safetensors.py', '--arch', 'r3d_18', '--classes', '7', '--out', random])
  const { json } = await headerOf(random)
  t.deepEqual(json['fc.weight']!.shape, [7, 512])
  t.deepEqual(json['fc.bias']!.shape, [7])

  const mixed = join(dir, 'mixed.safetensors')
  const floats = join(dir, 'floats.safetensors')
  await py([
    '-c',
    [
      'import sys, torch',
      "sys.path.insert(0, 'python')",
      'from export_safetensors import save_safetensors',
      "h = torch.tensor([[0.5, -2.0, 65504.0], [1e-3, 0.0, -0.0]], dtype=torch.float16)",
      "b = torch.tensor([1.5, -3.0, 2.0 ** 100], dtype=torch.bfloat16)",
      "d = torch.tensor([1.0 / 3.0, 2.0 ** -20], dtype=torch.float64)",
      `save_safetensors({'h': h, 'b': b, 'd': d, 'empty': torch.zeros(0, 3)}, '${floats}')`,
      `save_safetensors({'h': h, 'i': torch.tensor([[1, -2], [3, 2 ** 40]]), 'flag': torch.tensor([True, False]), 'bn.num_batches_tracked': torch.tensor(5)}, '${mixed}')`,
    ].join('\n'),
  ])
  const read = await readSafetensors(floats)
  t.deepEqual([...read.keys()].sort(), ['b', 'd', 'empty', 'h'])
  t.deepEqual(Array.from(read.get('h')!.data), [0.5, -2, 65504, Math.fround(0.0010004043579101562), 0, -0])
  t.deepEqual(read.get('h')!.shape, [2, 3])
  t.deepEqual(Array.from(read.get('b')!.data), [1.5, -3, 2 ** 100])
  t.deepEqual(Array.from(read.get('d')!.data), [Math.fround(1 / 3), 2 ** -20])
  t.deepEqual(read.get('empty')!.shape, [0, 3])
  // integer tensors are written as safetensors' I64 / BOOL (multav reads float tensors; the format is checked here)
  const { json: m, data } = await headerOf(mixed)
  t.deepEqual(Object.keys(m).sort(), ['__metadata__', 'flag', 'h', 'i'])
  t.deepEqual([m['i']!.dtype, m['i']!.shape, m['flag']!.dtype], ['I64', [2, 2], 'BOOL'])
  const [begin] = m['i']!.data_offsets
  t.deepEqual([0, 1, 2, 3].map((k) => data.readBigInt64LE(begin + 8 * k)), [1n, -2n, 3n, 2n ** 40n])
  t.deepEqual([...data.subarray(m['flag']!.data_offsets[0], m['flag']!.data_offsets[1])], [1, 0])
})
