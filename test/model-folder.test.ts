/**
 * Model folders (src/models/folder): the format, `models.load` on each kind, backwards compatibility
 * with the folders `multav train` writes (models/default), and `multav import`'s checks, each refusal
 * a one-line InputError that leaves no folder (and no temporary folder) behind and no tensor.
 *
 * No Python: the ONNX graphs are built with onnx-proto (GlobalAveragePool → Flatten → Gemm, whose
 * logits are computed by hand here), the safetensors state dict of a small torchvision-layout 3D
 * ResNet-18 is written here. test/import-cli.test.ts runs a PyTorch export end to end.
 */
import test, { type ExecutionContext } from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pkg from 'onnx-proto'
import { initBackend } from '../src/backend/backend.js'
import { initialiseFrom } from '../src/eval/train-run.js'
import { InputError } from '../src/core/errors.js'
import { main } from '../src/cli/main.js'
import { checkData } from '../src/cli/shared.js'
import { UsageError } from '../src/cli/errors.js'
import { detectFormat } from '../src/models/folder/detect.js'
import { importModel, type ImportOptions } from '../src/models/folder/import.js'
import { readLabels } from '../src/models/folder/labels.js'
import { load } from '../src/models/folder/load.js'
import { loadModel, pretrainedDir, resolveModel } from '../src/models/pretrained.js'
import { loadSafetensors } from '../src/models/pytorch.js'
import { r3d18, type R3dConfig } from '../src/models/r3d.js'
import { saveWeights } from '../src/models/weights.js'
import * as multav from '../src/index.js'

const { onnx } = pkg
const KINETICS = { mean: [0.43216, 0.394666, 0.37645], std: [0.22803, 0.22145, 0.216989] }

let dir = ''
test.before(async () => {
  await initBackend('wasm')
  dir = await mkdtemp(join(tmpdir(), 'multav-folder-'))
})
test.after.always(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

let count = 0
const fresh = () => join(dir, `case-${count++}`)

// -------------------------------------------------------------------------------------------------
// fixtures: a hand-built ONNX classifier, a safetensors state dict
// -------------------------------------------------------------------------------------------------

const W = [1, 2, 3, -1, 0.5, 0, 0.2, -0.3, 0.7] // Gemm's B, [K=3, C=3] (transB)
const B = [0.25, -0.5, 0.1]

/**
 * clip [n, 3, T, H, W] → GlobalAveragePool → Flatten → Gemm (transB) → logits [n, K]: the logits of
 * class k are Σ_c W[k, c] · mean over T, H, W of channel c, plus B[k].
 */
const onnxBytes = (o: { dims?: Array<number | string>; classes?: number } = {}): Uint8Array => {
  const k = o.classes ?? 3
  const dims = (d: Array<number | string>) => ({ dim: d.map((v) => (typeof v === 'number' ? { dimValue: v } : { dimParam: v })) })
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'multav-test',
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'tiny',
        node: [
          { opType: 'GlobalAveragePool', name: 'pool', input: ['clip'], output: ['p'] },
          { opType: 'Flatten', name: 'flat', input: ['p'], output: ['f'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
          { opType: 'Gemm', name: 'fc', input: ['f', 'W', 'b'], output: ['logits'], attribute: [{ name: 'transB', type: 2, i: 1 }] },
        ],
        initializer: [
          { name: 'W', dims: [k, 3], dataType: 1, floatData: W.slice(0, 3 * k) },
          { name: 'b', dims: [k], dataType: 1, floatData: B.slice(0, k) },
        ],
        input: [{ name: 'clip', type: { tensorType: { elemType: 1, shape: dims(o.dims ?? ['n', 3, 2, 4, 4]) } } }],
        output: [{ name: 'logits', type: { tensorType: { elemType: 1, shape: dims(['n', k]) } } }],
      },
    }),
  ).finish()
}

/** What the hand-built graph computes on `x` [N, T, H, W, 3], with `(x − mean) / std` first. */
const expectedLogits = (x: tf.Tensor5D, k: number, stats?: { mean: number[]; std: number[] }) =>
  tf.tidy(() => {
    const z = stats ? tf.div(tf.sub(x, tf.tensor1d(stats.mean)), tf.tensor1d(stats.std)) : x
    return tf.add(tf.matMul(tf.mean(z, [1, 2, 3]), tf.tensor2d(W.slice(0, 3 * k), [k, 3]), false, true), tf.tensor1d(B.slice(0, k)))
  })

const writeOnnx = async (bytes = onnxBytes(), name = 'tiny.onnx') => {
  const file = join(dir, `${count++}-${name}`)
  await writeFile(file, bytes)
  return file
}

const SMALL: R3dConfig = { layout: 'torchvision', classes: 3, widths: [2, 2, 2, 2], seed: 4 }

/** A PyTorch-layout safetensors state dict of `r3d18(SMALL)` (conv [Cout, Cin, kd, kh, kw], FC [K, C]), with a num_batches_tracked left out. */
const writeSafetensors = async (config: R3dConfig = SMALL): Promise<string> => {
  const net = r3d18(config)
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } }
  const blobs: Buffer[] = []
  let offset = 0
  for (const [name, v] of Object.entries({ ...net.variables, ...net.state })) {
    const t = tf.tidy(() => (v.rank === 5 ? tf.transpose(v, [4, 3, 0, 1, 2]) : name === 'fc.weight' ? tf.transpose(v) : v.clone()))
    const data = Buffer.from((await t.data() as Float32Array).buffer.slice(0))
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + data.length] }
    offset += data.length
    blobs.push(data)
    t.dispose()
  }
  net.dispose()
  const text = Buffer.from(JSON.stringify(header))
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(text.length))
  const file = join(dir, `${count++}-small.safetensors`)
  await writeFile(file, Buffer.concat([length, text, ...blobs]))
  return file
}

const labelFile = async (text: string | Buffer) => {
  const file = join(dir, `${count++}-labels.txt`)
  await writeFile(file, text)
  return file
}

const base = (out: string): ImportOptions => ({ out, command: 'multav import (test)', version: '0.0.0-test' })

/** Values of two tensors agree within `tol` (relative to the larger magnitude). */
const close = async (t: ExecutionContext, a: tf.Tensor, b: tf.Tensor, tol: number, what: string) => {
  const [x, y] = [Array.from(await a.data()), Array.from(await b.data())]
  t.deepEqual(a.shape, b.shape, what)
  const scale = Math.max(1e-6, ...y.map(Math.abs))
  const worst = Math.max(...x.map((v, i) => Math.abs(v - y[i]!)))
  t.true(worst <= tol * scale, `${what}: differs by ${worst} (scale ${scale})`)
}

// -------------------------------------------------------------------------------------------------
// backwards compatibility: models/default and the folders `multav train` writes
// -------------------------------------------------------------------------------------------------

test.serial('models/default loads with load(), resolveModel and loadModel alike: same info, the same logits bit for bit', async (t) => {
  const before = tf.memory().numTensors
  const folder = pretrainedDir('default')
  const [a, b, c] = [await load(folder), await resolveModel('default'), await loadModel(folder)]
  t.is(a.info.kind, 'r3d18')
  t.deepEqual(a.info.classes, ['moves right', 'moves left', 'moves down', 'moves up', 'turns clockwise', 'turns counter-clockwise'])
  t.deepEqual(a.info.clip, { T: 8, H: 32, W: 32 })
  t.is(a.info.mean, null)
  t.is(a.info.std, null)
  t.is(a.info.source, null)
  t.is(typeof a.info.config['testAccuracy'], 'number')
  t.deepEqual(b.info, a.info)
  t.deepEqual(c.info, a.info.config)
  t.is(Object.keys(a.variables ?? {}).length, Object.keys(c.variables).length)
  const x = tf.randomUniform([2, 8, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor5D
  const [ya, yb, yc] = [a.model(x), b.model(x), c.model(x)]
  t.deepEqual(await ya.data(), await yc.data())
  t.deepEqual(await yb.data(), await yc.data())
  tf.dispose([x, ya, yb, yc])
  for (const m of [a, b, c]) m.dispose()
  t.is(tf.memory().numTensors, before)
  t.true('load' in multav.models && multav.models.load === load, 'models.load is exported from multav')
})

test.serial('an r3d18 folder with mean/std normalises inside: load() and loadModel() equal r3d18 given them, and differ without', async (t) => {
  const before = tf.memory().numTensors
  const net = r3d18(SMALL)
  const out = fresh()
  await saveWeights(out, { ...net.variables, ...net.state }, {
    config: { architecture: 'r3d18', layout: 'torchvision', widths: [2, 2, 2, 2], clip: { T: 4, H: 16, W: 16 }, classes: ['a', 'b', 'c'], ...KINETICS },
  })
  const normalised = r3d18({ ...SMALL, mean: KINETICS.mean as [number, number, number], std: KINETICS.std as [number, number, number] })
  for (const [name, v] of Object.entries({ ...normalised.variables, ...normalised.state })) v.assign({ ...net.variables, ...net.state }[name]!)
  const [folder, legacy] = [await load(out), await loadModel(out)]
  t.deepEqual(folder.info.mean, KINETICS.mean)
  t.deepEqual(folder.info.std, KINETICS.std)
  const x = tf.randomUniform([2, 4, 16, 16, 3], 0, 1, 'float32', 5) as tf.Tensor5D
  const [y, yl, want, plain] = [folder.model(x), legacy.model(x), normalised.model(x), net.model(x)]
  t.deepEqual(await y.data(), await want.data())
  t.deepEqual(await yl.data(), await want.data())
  t.notDeepEqual(await y.data(), await plain.data())
  tf.dispose([x, y, yl, want, plain])
  for (const m of [folder, legacy, net, normalised]) m.dispose()
  t.is(tf.memory().numTensors, before)
})

// -------------------------------------------------------------------------------------------------
// importing: ONNX and safetensors
// -------------------------------------------------------------------------------------------------

test.serial('an imported ONNX folder records classes, clip, mean/std and provenance, and computes the graph on normalised clips', async (t) => {
  const before = tf.memory().numTensors
  const bytes = onnxBytes()
  const file = await writeOnnx(bytes)
  const labels = await labelFile('cat\r\ndog\nbird\n')
  const out = fresh()
  const started = Date.now()
  const info = await importModel(file, { ...base(out), ...KINETICS, labels })
  t.deepEqual(await readdir(out), ['model.json', 'model.onnx'])
  t.deepEqual(await readFile(join(out, 'model.onnx')), Buffer.from(bytes), 'the graph is copied as it was')
  const json = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'))
  t.is(json.config.architecture, 'onnx')
  t.is(json.config.file, 'model.onnx')
  t.is(json.config.layout, 'NCTHW')
  t.deepEqual(json.config.clip, { T: 2, H: 4, W: 4 })
  t.deepEqual(json.config.classes, ['cat', 'dog', 'bird'])
  t.deepEqual(json.config.mean, KINETICS.mean)
  t.deepEqual(json.config.std, KINETICS.std)
  const source = json.config.source
  t.deepEqual(
    { ...source, date: undefined },
    { file: file.split('/').pop(), format: 'onnx', sha256: createHash('sha256').update(bytes).digest('hex'), command: 'multav import (test)', multav: '0.0.0-test', date: undefined },
  )
  const date = Date.parse(source.date)
  t.true(date >= started - 1000 && date <= Date.now() + 1000, source.date)
  const m = await load(out)
  t.deepEqual(m.info, { ...info, config: json.config })
  t.is(m.variables, undefined)
  const x = tf.randomUniform([3, 2, 4, 4, 3], 0, 1, 'float32', 9) as tf.Tensor5D
  const y = m.model(x)
  const want = expectedLogits(x, 3, KINETICS)
  await close(t, y, want, 1e-5, 'logits')
  // a clip of another size is refused by the model, as the folder says which it takes
  const wrong = tf.zeros([1, 3, 4, 4, 3]) as tf.Tensor5D
  t.throws(() => m.model(wrong), { instanceOf: InputError, message: /takes clips of 2x4x4x3/ })
  tf.dispose([x, y, want, wrong])
  m.dispose()
  t.is(tf.memory().numTensors, before)
})

test.serial('without a label file the classes are named by index; mean alone gets std 1 (and the logits follow)', async (t) => {
  const before = tf.memory().numTensors
  const out = fresh()
  const info = await importModel(await writeOnnx(), { ...base(out), mean: [0.5, 0.25, 0] })
  t.deepEqual(info.classes, ['class 0', 'class 1', 'class 2'])
  t.deepEqual(info.std, [1, 1, 1])
  const m = await load(out)
  const x = tf.randomUniform([1, 2, 4, 4, 3], 0, 1, 'float32', 2) as tf.Tensor5D
  const [y, want] = [m.model(x), expectedLogits(x, 3, { mean: [0.5, 0.25, 0], std: [1, 1, 1] })]
  await close(t, y, want, 1e-5, 'logits')
  tf.dispose([x, y, want])
  m.dispose()
  t.is(tf.memory().numTensors, before)
})

test.serial('a symbolic ONNX clip needs --clip; a given clip must agree with the declared dims', async (t) => {
  const before = tf.memory().numTensors
  const symbolic = await writeOnnx(onnxBytes({ dims: ['n', 3, 't', 'h', 'w'] }))
  await t.throwsAsync(importModel(symbolic, base(fresh())), { instanceOf: InputError, message: /does not fix its clip size \(\?x\?x\?\); say which the model takes with --clip TxHxW/ })
  const out = fresh()
  const info = await importModel(symbolic, { ...base(out), clip: { T: 3, H: 5, W: 6 } })
  t.deepEqual(info.clip, { T: 3, H: 5, W: 6 })
  const m = await load(out)
  const x = tf.randomUniform([1, 3, 5, 6, 3], 0, 1, 'float32', 2) as tf.Tensor5D
  const [y, want] = [m.model(x), expectedLogits(x, 3)]
  await close(t, y, want, 1e-5, 'logits')
  tf.dispose([x, y, want])
  m.dispose()
  await t.throwsAsync(importModel(await writeOnnx(), { ...base(fresh()), clip: { T: 4, H: 4, W: 4 } }), { instanceOf: InputError, message: /the graph takes 2x4x4 clips \(T x H x W\), not 4x4x4/ })
  t.is(tf.memory().numTensors, before)
})

test.serial('a safetensors state dict imports as an r3d18 folder (classes and widths read from it) that equals loadSafetensors with the normalisation', async (t) => {
  const before = tf.memory().numTensors
  const file = await writeSafetensors()
  const out = fresh()
  const info = await importModel(file, { ...base(out), arch: 'r3d18', clip: { T: 4, H: 16, W: 16 }, ...KINETICS, labels: await labelFile('a\nb\nc') })
  t.is(info.kind, 'r3d18')
  t.is(info.source!.format, 'safetensors')
  const json = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'))
  t.deepEqual([json.config.architecture, json.config.layout, json.config.widths], ['r3d18', 'torchvision', [2, 2, 2, 2]])
  const [m, direct] = [await load(out), await loadSafetensors(file, SMALL)]
  const x = tf.randomUniform([2, 4, 16, 16, 3], 0, 1, 'float32', 6) as tf.Tensor5D
  const z = tf.tidy(() => tf.div(tf.sub(x, tf.tensor1d(KINETICS.mean)), tf.tensor1d(KINETICS.std))) as tf.Tensor5D
  const [y, want] = [m.model(x), direct.model(z)]
  await close(t, y, want, 1e-6, 'logits')
  tf.dispose([x, z, y, want])
  m.dispose()
  direct.dispose()
  // the architecture must be named, and ONNX options are not for it
  await t.throwsAsync(importModel(file, { ...base(fresh()), clip: { T: 4, H: 16, W: 16 } }), { instanceOf: InputError, message: /holds weights without the network; say which with --arch r3d18/ })
  await t.throwsAsync(importModel(file, { ...base(fresh()), arch: 'r3d18' }), { instanceOf: InputError, message: /does not say what clip size the model takes; give it with --clip TxHxW/ })
  await t.throwsAsync(importModel(file, { ...base(fresh()), arch: 'r3d18', clip: { T: 4, H: 16, W: 16 }, output: 1 }), { instanceOf: InputError, message: /is a safetensors state dict; --output is for ONNX models/ })
  await t.throwsAsync(importModel(file, { ...base(fresh()), arch: 'r3d18', clip: { T: 4, H: 16, W: 16 }, layout: 'hara' }), { instanceOf: InputError, message: /cannot read the stage widths \(no conv1\.weight\): wrong --layout/ })
  await t.throwsAsync(importModel(file, { ...base(fresh()), arch: 'r3d18', clip: { T: 4, H: 16, W: 16 }, widths: [4, 4, 4, 4] }), { instanceOf: InputError, message: /stem\.0\.weight has shape \[2, 3, 3, 7, 7\], expected \[4, 3, 3, 7, 7\]/ })
  t.is(tf.memory().numTensors, before)
})

// -------------------------------------------------------------------------------------------------
// refusals
// -------------------------------------------------------------------------------------------------

/** `importModel` must refuse with an InputError matching `message`, on one line, leaving no folder, no temporary folder and no tensor. */
const refuses = async (t: ExecutionContext, file: string, options: Partial<ImportOptions>, message: RegExp, out = fresh()) => {
  const before = tf.memory().numTensors
  const beside = await readdir(dir)
  const e = await t.throwsAsync(importModel(file, { ...base(out), ...options }), { instanceOf: InputError, message })
  t.false(e!.message.includes('\n'), `one line: ${e!.message}`)
  t.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp-')), [], 'no temporary folder left')
  t.deepEqual(await readdir(dir), beside, 'nothing written beside')
  t.is(tf.memory().numTensors, before, 'no tensor left')
}

test.serial('import refuses a missing file, a folder, and files of other kinds, by their bytes', async (t) => {
  await refuses(t, join(dir, 'no-such.onnx'), {}, /no-such\.onnx: cannot open \(ENOENT\)/)
  await refuses(t, dir, {}, /is a directory, expected a regular file/)
  const cases: ReadonlyArray<readonly [string, Buffer, RegExp]> = [
    ['empty.onnx', Buffer.alloc(0), /empty file, not an ONNX or safetensors model/],
    ['picture.onnx', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]), /a PNG image; multav imports ONNX models and safetensors state dicts/],
    ['checkpoint.pth', Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5, 6, 7, 8]), /a zip archive \(a PyTorch checkpoint saved with torch\.save\?\): export it with python\/export_safetensors\.py/],
    ['model.json', Buffer.from('{"format": "multav-weights"}'), /a JSON file/],
    ['noise.onnx', Buffer.from([0xfe, 0xed, 0xfa, 0xce, 1, 2, 3, 4, 5, 6, 7, 8]), /neither an ONNX model nor a safetensors file \(it starts with bytes fe ed fa ce 01 02 03 04\)/],
    // an ONNX-looking first byte, then garbage: the ONNX reader's own message
    ['broken.onnx', Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), /not a readable ONNX model|not an ONNX model/],
  ]
  for (const [name, bytes, message] of cases) await refuses(t, await writeOnnx(bytes, name), {}, message)
  // named .safetensors but ONNX inside (and the other way round): the bytes decide
  const onnxNamedSafetensors = await writeOnnx(onnxBytes(), 'really-onnx.safetensors')
  t.is(await detectFormat(onnxNamedSafetensors), 'onnx')
  await refuses(t, onnxNamedSafetensors, { arch: 'r3d18' }, /is an ONNX model; --arch is for safetensors state dicts/)
  t.is(await detectFormat(await writeSafetensors()), 'safetensors')
  // a safetensors header that is not JSON: the safetensors reader's message
  const header = Buffer.from('{"fc.weight": nope}')
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(header.length))
  await refuses(t, await writeOnnx(Buffer.concat([length, header, Buffer.alloc(16)]), 'bad.safetensors'), { arch: 'r3d18', clip: { T: 4, H: 16, W: 16 } }, /bad\.safetensors: header is not valid JSON/)
})

test.serial('import refuses an existing non-empty --out or a file there, and replaces an empty folder', async (t) => {
  const file = await writeOnnx()
  const full = fresh()
  await mkdir(full)
  await writeFile(join(full, 'keep.txt'), 'mine')
  await refuses(t, file, {}, /exists and is not empty; choose a new folder for the model/, full)
  t.deepEqual(await readdir(full), ['keep.txt'])
  const aFile = fresh()
  await writeFile(aFile, 'x')
  await refuses(t, file, {}, /exists and is not a folder/, aFile)
  const empty = fresh()
  await mkdir(empty)
  await importModel(file, base(empty))
  t.deepEqual(await readdir(empty), ['model.json', 'model.onnx'])
})

test.serial('import refuses bad mean/std: wrong length, std ≤ 0, non-finite values', async (t) => {
  const file = await writeOnnx()
  await refuses(t, file, { mean: [0.5, 0.5] }, /import: mean has 2 values, the model takes 3 channels/)
  await refuses(t, file, { std: [0.2, 0, 0.2] }, /import: std\[1\] is 0; it must be a finite number > 0 \(a standard deviation\)/)
  await refuses(t, file, { std: [0.2, -1, 0.2] }, /import: std\[1\] is -1/)
  await refuses(t, file, { mean: [0.5, Number.NaN, 0.5] }, /import: mean\[1\] is NaN; it must be a finite number/)
  await refuses(t, file, { std: [Infinity, 1, 1] }, /import: std\[0\] is Infinity/)
})

test.serial('import refuses label files that do not fit: count, NUL bytes, huge, duplicates, blank lines, not UTF-8, control characters', async (t) => {
  const file = await writeOnnx()
  const labels = async (text: string | Buffer, message: RegExp) => refuses(t, file, { labels: await labelFile(text) }, message)
  await labels('a\nb\n', /names 2 classes, but .*tiny\.onnx gives 3 logits/)
  await labels('a\nb\nc\nd\n', /names 4 classes, but .*tiny\.onnx gives 3 logits/)
  await labels('a\nb\u0000\nc\n', /holds a NUL byte at byte 3; a label file is text/)
  await labels('a\na\nc\n', /line 2 "a" repeats line 1/)
  await labels('a\n\nc\n', /line 2 is empty/)
  await labels('', /empty; a label file holds one class name per line/)
  await labels(Buffer.from([0x61, 0x0a, 0xe9, 0x0a, 0x63]), /not valid UTF-8 text/)
  await labels('a\nb\u001b[31m\nc', /line 2 .* holds a control character/)
  await labels(`a\n${'x'.repeat(201)}\nc`, /line 2 is 201 characters long, more than 200/)
  const huge = await labelFile('')
  await truncate(huge, 50_000_000) // sparse: nothing is written
  await refuses(t, file, { labels: huge }, /50000000 bytes, larger than a label file may be/)
  await refuses(t, file, { labels: join(dir, 'no-labels.txt') }, /no-labels\.txt: cannot open \(ENOENT\)/)
  t.deepEqual(await readLabels(await labelFile('\ufeffone\r\ntwo')), ['one', 'two'], 'a BOM and CRLF line ends are fine')
})

test.serial('import refuses a one-class model', async (t) => {
  await refuses(t, await writeOnnx(onnxBytes({ classes: 1 })), {}, /the model gives 1 logit\(s\); an attack needs at least two classes/)
})

// -------------------------------------------------------------------------------------------------
// the folder format, checked at load
// -------------------------------------------------------------------------------------------------

test.serial('load checks an ONNX folder\'s model.json: file inside the folder, layout, classes and clip against the graph, mean/std, source', async (t) => {
  const good = fresh()
  await importModel(await writeOnnx(), { ...base(good), ...KINETICS })
  const original = JSON.parse(await readFile(join(good, 'model.json'), 'utf8'))
  const outside = await writeOnnx()
  const cases: ReadonlyArray<readonly [string, (c: any) => unknown, RegExp]> = [
    ['file escaping', (c) => (c.file = '../x.onnx'), /config\.file must name the \.onnx file inside the folder/],
    ['file absolute', (c) => (c.file = outside), /config\.file must name the \.onnx file inside the folder/],
    ['file missing', (c) => (c.file = 'gone.onnx'), /config\.file "gone\.onnx": cannot open it in the folder \(ENOENT\)/],
    ['layout', (c) => (c.layout = 'NHWC'), /config\.layout must be "NCTHW" or "NTHWC"/],
    ['classes vs graph', (c) => (c.classes = ['a', 'b']), /config\.classes names 2 classes but the graph gives 3 logits/],
    ['clip vs graph', (c) => (c.clip = { T: 8, H: 4, W: 4 }), /config\.clip is 8x4x4 but the graph takes 2x4x4/],
    ['clip missing', (c) => delete c.clip, /config\.clip must say the clip size the model takes/],
    ['mean length', (c) => (c.mean = [0.5]), /config\.mean has 1 value, the model takes 3 channels/],
    ['std zero', (c) => (c.std = [1, 0, 1]), /config\.std\[1\] is 0/],
    ['std a string', (c) => (c.std = '1,1,1'), /config\.std must be 3 finite numbers > 0/],
    ['source sha256', (c) => (c.source.sha256 = 'abc'), /config\.source\.sha256 must be 64 lowercase hex digits/],
    ['source format', (c) => (c.source.format = 'pickle'), /config\.source\.format must be "onnx" or "safetensors"/],
    ['output', (c) => (c.output = -1), /config\.output must name the graph output/],
  ]
  for (const [what, edit, message] of cases) {
    const before = tf.memory().numTensors
    const copy = fresh()
    await mkdir(copy)
    await writeFile(join(copy, 'model.onnx'), await readFile(join(good, 'model.onnx')))
    const config = structuredClone(original.config)
    await edit(config)
    await writeFile(join(copy, 'model.json'), JSON.stringify({ ...original, config }))
    const e = await t.throwsAsync(load(copy), { instanceOf: InputError }, what)
    t.regex(e!.message, message, what)
    t.true(e!.message.startsWith(join(copy, 'model.json')), `${what}: names model.json: ${e!.message}`)
    t.is(tf.memory().numTensors, before, what)
  }
  // a link to a graph outside the folder
  const linked = fresh()
  await mkdir(linked)
  await symlink(outside, join(linked, 'model.onnx'))
  await writeFile(join(linked, 'model.json'), JSON.stringify(original))
  await t.throwsAsync(load(linked), { instanceOf: InputError, message: /config\.file "model\.onnx" is a link that leads outside the model folder/ })
  // the 3D ResNet-18 loader names the other kind
  await t.throwsAsync(loadModel(good), { instanceOf: InputError, message: /holds an ONNX model; load it with models\.load/ })
  const m = await load(good)
  m.dispose()
})

test.serial('eval checks the benchmark against the model: the number of classes (an error), their names (a warning), the clip size', (t) => {
  const data = { kind: 'benchmark', split: 'test', clip: { T: 8, H: 32, W: 32 } } as const
  const warnings: string[] = []
  const io = { warn: (l: string) => warnings.push(l) }
  const names = ['moves right', 'moves left', 'moves down', 'moves up', 'turns clockwise', 'turns counter-clockwise']
  t.notThrows(() => checkData(data, 'default', data.clip, names, io))
  t.deepEqual(warnings, [])
  t.throws(() => checkData(data, 'DIR', data.clip, ['a', 'b', 'c'], io), { instanceOf: UsageError, message: /^--data benchmark has 6 classes \(moves right, .*\) but --model DIR has 3 \(a, b, c\): the benchmark's labels would not be the model's classes$/ })
  t.throws(() => checkData(data, 'DIR', { T: 1, H: 32, W: 32 }, names, io), { instanceOf: UsageError, message: /at least 2 frames of 12x12; --model DIR takes 1x32x32/ })
  checkData(data, 'DIR', data.clip, names.map((n) => n.toUpperCase()), io)
  t.is(warnings.length, 1)
  t.regex(warnings[0]!, /--model DIR names its classes MOVES RIGHT, .*labels are matched by index/)
})

// -------------------------------------------------------------------------------------------------
// the command line, in this process
// -------------------------------------------------------------------------------------------------

const cli = async (args: ReadonlyArray<string>) => {
  const lines = { out: [] as string[], err: [] as string[] }
  const code = await main(args, { log: (l) => lines.out.push(l), warn: (l) => lines.err.push(l), tty: false })
  return { code, stdout: lines.out.join('\n'), stderr: lines.err.join('\n') }
}

test.serial('multav import: makes the folder and says what it holds; bad options exit 2 with the option named', async (t) => {
  const before = tf.memory().numTensors
  const file = await writeOnnx()
  const labels = await labelFile('cat\ndog\nbird\n')
  const out = fresh()
  const ok = await cli(['import', file, '--mean', KINETICS.mean.join(','), '--std', KINETICS.std.join(','), '--classes', labels, '--out', out, '--backend', 'wasm'])
  t.is(ok.code, 0, ok.stderr)
  t.regex(ok.stdout, /ONNX graph from .*tiny\.onnx \(sha256 [0-9a-f]{12}…\)\n {2}classes: cat, dog, bird\n {2}clips: 2x4x4 \(T x H x W\), \[0, 1\] RGB; normalised inside with mean 0\.43216,0\.394666,0\.37645 and std 0\.22803,0\.22145,0\.216989/)
  const json = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'))
  t.regex(json.config.source.command, /^multav import .*tiny\.onnx --mean 0\.43216,0\.394666,0\.37645 .* --out .*case-\d+ --backend wasm$/)
  t.regex(json.config.source.multav, /^\d+\.\d+\.\d+/)
  const bad: ReadonlyArray<readonly [string[], RegExp]> = [
    [['--std', '0.2,0,0.2'], /--std must be three positive numbers like 0\.22803,0\.22145,0\.216989, got "0\.2,0,0\.2"/],
    [['--mean', '0.5,0.5'], /--mean must be three numbers like/],
    [['--mean', 'a,b,c'], /--mean must be three numbers like/],
    [['--clip', '8x32'], /--clip must be TxHxW, three positive integers/],
    [['--arch', 'resnet50'], /--arch must be one of r3d18, got "resnet50"/],
    [['--out', out], /--out .*: exists and is not empty/],
    [['--arch', 'r3d18'], /is an ONNX model; --arch is for safetensors state dicts/],
  ]
  for (const [args, message] of bad) {
    const r = await cli(['import', file, '--out', fresh(), ...args])
    t.is(r.code, 2, args.join(' '))
    t.regex(r.stderr, message, args.join(' '))
  }
  const none = await cli(['import', '--out', fresh()])
  t.is(none.code, 2)
  t.regex(none.stderr, /import takes one model file/)
  const noOut = await cli(['import', file])
  t.regex(noOut.stderr, /import needs --out DIR/)
  t.is(tf.memory().numTensors, before)
})

test.serial('multav eval refuses an imported folder whose classes do not fit the benchmark, before any work', async (t) => {
  const out = fresh()
  await importModel(await writeOnnx(), base(out))
  const run = fresh()
  const r = await cli(['eval', '--model', out, '--data', 'benchmark', '--limit', '2', '--attacks', 'fgsm', '--out', run, '--backend', 'wasm'])
  t.is(r.code, 2)
  t.regex(r.stderr, /--data benchmark has 6 classes .* but --model .* has 3 \(class 0, class 1, class 2\)/)
  t.throws(() => execFileSync('ls', [run], { stdio: 'ignore' }), undefined, 'no run folder was made')
})

test.serial('train --init refuses an ONNX folder (it has no 3D ResNet-18 weights to copy), naming it', async (t) => {
  const out = fresh()
  await importModel(await writeOnnx(), { ...base(out), ...KINETICS })
  const net = r3d18({ layout: 'torchvision', classes: 3, widths: [2, 2, 2, 2], seed: 1 })
  const before = tf.memory().numTensors
  await t.throwsAsync(initialiseFrom(net, out, () => undefined), { instanceOf: InputError, message: `--init ${out}: is an onnx model folder; --init takes a 3D ResNet-18 folder (multav train's, or an imported state dict)` })
  t.is(tf.memory().numTensors, before)
  net.dispose()
})
