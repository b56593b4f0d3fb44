/**
 * Hostile model folders and safetensors files (issue 16, defects 1 and 12–14): generated corruptions of
 * a valid folder and of valid safetensors files (lengths, offsets, dtypes, names, links, FIFOs, NaN
 * weights, config fields) must each end in one clear Error naming what is wrong, within 2 s and with no
 * tensor left behind, or load exactly when the input is in fact valid.
 */
import test, { type ExecutionContext } from 'ava'
import fc from 'fast-check'
import * as tf from '@tensorflow/tfjs-core'
import { execFile, execFileSync } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { initBackend } from '../src/backend/backend.js'
import { InputError } from '../src/core/errors.js'
import { loadSafetensors } from '../src/models/pytorch.js'
import { loadModel } from '../src/models/pretrained.js'
import { r3d18, type R3dConfig } from '../src/models/r3d.js'
import { readSafetensors } from '../src/models/safetensors.js'
import { saveWeights } from '../src/models/weights.js'

/** Each case must settle within this (a hang or a decompression-bomb-like allocation fails it). */
const BOUND_MS = 8000 // generous for a loaded 2-core machine; the hostile cases it guards take tens of seconds or hang

const ARCH: R3dConfig = { layout: 'torchvision', classes: 3, widths: [2, 2, 2, 2], seed: 1 }
const CONFIG = { architecture: 'r3d18', layout: 'torchvision', widths: [2, 2, 2, 2], denoise: 'none', clip: { T: 4, H: 16, W: 16 }, classes: ['a', 'b', 'c'] }

interface Entry {
  readonly name: string
  readonly shape: number[]
}
interface Fixture {
  readonly root: string
  readonly base: string
  readonly paths: string[]
  readonly entries: Entry[]
  readonly shardBytes: number
  readonly values: ReadonlyMap<string, Float32Array>
}
let fx: Fixture

test.before(async () => {
  await initBackend('cpu')
  const root = await mkdtemp(join(tmpdir(), 'multav-hostile-'))
  const base = join(root, 'base')
  const source = r3d18(ARCH)
  const all = { ...source.variables, ...source.state }
  const values = new Map<string, Float32Array>()
  for (const [name, v] of Object.entries(all)) values.set(name, (await v.data()) as Float32Array)
  const total = [...values.values()].reduce((s, v) => s + v.length * 4, 0)
  const shardBytes = 4 * Math.ceil(total / 12) // three shards, the cuts inside weights
  await saveWeights(base, all, { config: CONFIG, shardBytes })
  source.dispose()
  const manifest = JSON.parse(await readFile(join(base, 'model.json'), 'utf8'))
  fx = { root, base, paths: manifest.weightsManifest[0].paths, entries: manifest.weightsManifest[0].weights, shardBytes, values }
})

test.after.always(async () => {
  if (fx) await rm(fx.root, { recursive: true, force: true })
})

let copies = 0
/** A fresh copy of the valid folder. */
const copy = async (): Promise<string> => {
  const dir = join(fx.root, `case${copies++}`)
  await cp(fx.base, dir, { recursive: true })
  return dir
}

type Outcome = { readonly ok: true; readonly value: unknown; readonly ms: number } | { readonly ok: false; readonly error: unknown; readonly ms: number }
const timed = async (f: () => Promise<unknown>): Promise<Outcome> => {
  const start = performance.now()
  try {
    const value = await f()
    return { ok: true, value, ms: performance.now() - start }
  } catch (error) {
    return { ok: false, error, ms: performance.now() - start }
  }
}

/** A clear refusal: an InputError (no TypeError or RangeError from inside), one line, starting with `prefix`. */
const clearMessage = (t: ExecutionContext, o: Outcome, prefix: string): string => {
  t.true(o.ms < BOUND_MS, `took ${o.ms.toFixed(0)} ms`)
  if (o.ok) {
    t.fail(`expected a refusal, it loaded`)
    return ''
  }
  const e = o.error as Error
  t.true(e instanceof InputError, `not an InputError: ${String(e)}`)
  t.false(e.message.includes('\n'), `more than one line: ${e.message}`)
  t.true(e.message.startsWith(prefix), `does not start with ${prefix}: ${e.message}`)
  return e.message
}

/** loadModel of `dir` must fail with exactly `expected` (or match it), leaving no tensor. */
const refused = async (t: ExecutionContext, dir: string, expected: string | RegExp) => {
  const before = tf.memory().numTensors
  const message = clearMessage(t, await timed(() => loadModel(dir)), dir)
  if (typeof expected === 'string') t.is(message, expected)
  else t.regex(message, expected)
  t.is(tf.memory().numTensors, before)
}

/** loadModel of `dir` must give the fixture's weights, bit for bit, and dispose cleanly. */
const loads = async (t: ExecutionContext, dir: string) => {
  const before = tf.memory().numTensors
  const o = await timed(() => loadModel(dir))
  t.true(o.ms < BOUND_MS, `took ${o.ms.toFixed(0)} ms`)
  if (!o.ok) return t.fail(`expected it to load: ${(o.error as Error).message}`)
  const model = o.value as Awaited<ReturnType<typeof loadModel>>
  for (const [name, v] of Object.entries({ ...model.variables, ...model.state })) t.deepEqual(await v.data(), fx.values.get(name), name)
  model.dispose()
  t.is(tf.memory().numTensors, before)
}

/** Runs `f` as an attempt and throws its failures, so that fast-check sees (and shrinks) a failing case. */
const check = async (t: ExecutionContext, label: string, f: (tt: ExecutionContext) => Promise<void>) => {
  const attempt = await t.try(f)
  attempt.discard()
  if (!attempt.passed) throw new Error(`${label}: ${attempt.errors.map((e) => e.message).join('; ')}`)
}

const manifestOf = async (dir: string) => JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'))
const writeManifest = (dir: string, m: unknown) => writeFile(join(dir, 'model.json'), JSON.stringify(m, null, 2) + '\n')
const editManifest = async (dir: string, edit: (m: any) => void) => {
  const m = await manifestOf(dir)
  edit(m)
  await writeManifest(dir, m)
}

/** Where float `g` of the concatenated weights lies: its weight, element, shard and byte in the shard. */
const locate = (g: number) => {
  let start = 0
  for (const e of fx.entries) {
    const count = e.shape.reduce((a, b) => a * b, 1)
    if (g < start + count) return { name: e.name, element: g - start, shard: Math.floor((g * 4) / fx.shardBytes), byte: (g * 4) % fx.shardBytes }
    start += count
  }
  throw new Error(`float ${g} is beyond the weights`)
}
const totalFloats = () => fx.entries.reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1), 0)

// --- defect 1: non-finite weights ----------------------------------------------------------------

test.serial('a NaN or ±Inf weight is refused at load, naming the weight and the shard that holds it', async (t) => {
  for (const [g, value] of [[0, Number.NaN], [totalFloats() - 1, Number.POSITIVE_INFINITY], [Math.floor(totalFloats() / 2), Number.NEGATIVE_INFINITY]] as const) {
    const dir = await copy()
    const at = locate(g)
    const shard = join(dir, fx.paths[at.shard]!)
    const bytes = await readFile(shard)
    bytes.writeFloatLE(value, at.byte)
    await writeFile(shard, bytes)
    await refused(t, dir, `${shard}: weight ${at.name} holds ${value} at element ${at.element} (weights must be finite)`)
  }
})

// --- defect 12: names from the file are never prototype keys ---------------------------------------

test.serial('weights named __proto__, toString or constructor are unknown names, not prototype members', async (t) => {
  for (const name of ['__proto__', 'constructor', 'hasOwnProperty']) {
    const dir = await copy()
    await editManifest(dir, (m) => (m.weightsManifest[0].weights[0].name = name))
    await refused(t, dir, `${join(dir, 'model.json')}: weight ${name} is not part of this architecture`)
  }
  // an extra scalar weight `toString` with its 4 bytes: the shapes of Function.prototype.toString (length 0) must not match
  const dir = await copy()
  await editManifest(dir, (m) => m.weightsManifest[0].weights.push({ name: 'toString', shape: [], dtype: 'float32' }))
  const last = join(dir, fx.paths[fx.paths.length - 1]!)
  await writeFile(last, Buffer.concat([await readFile(last), Buffer.alloc(4)]))
  await refused(t, dir, `${join(dir, 'model.json')}: weight toString is not part of this architecture`)
})

// --- defect 14: FIFOs and other non-regular files, sizes before reading ----------------------------

test.serial('a FIFO as a shard, as model.json or as a safetensors file is refused at once (a separate process, so a hang cannot stall the suite)', async (t) => {
  const shardFifo = await copy()
  await unlink(join(shardFifo, fx.paths[1]!))
  execFileSync('mkfifo', [join(shardFifo, fx.paths[1]!)])
  const manifestFifo = await copy()
  await unlink(join(manifestFifo, 'model.json'))
  execFileSync('mkfifo', [join(manifestFifo, 'model.json')])
  const safetensorsFifo = join(fx.root, 'fifo.safetensors')
  execFileSync('mkfifo', [safetensorsFifo])
  const script = `
    const { loadModel } = await import('./src/models/pretrained.ts')
    const { readSafetensors } = await import('./src/models/safetensors.ts')
    const [a, b, c] = JSON.parse(process.env.CASES)
    const outcome = (p) => p.then(() => 'loaded', (e) => e.message)
    console.log(JSON.stringify([await outcome(loadModel(a)), await outcome(loadModel(b)), await outcome(readSafetensors(c))]))`
  const started = performance.now()
  const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: process.cwd(),
    env: { ...process.env, CASES: JSON.stringify([shardFifo, manifestFifo, safetensorsFifo]) },
    timeout: 20_000,
  }).catch((e: Error & { killed?: boolean }) => ({ stdout: '', stderr: e.killed ? 'timed out: it hangs' : e.message }))
  t.is(run.stderr, '')
  t.deepEqual(JSON.parse(run.stdout || '[]'), [
    `${join(shardFifo, 'model.json')}: weightsManifest[0].paths[1]: "${fx.paths[1]}": is a FIFO, expected a regular file`,
    `${join(manifestFifo, 'model.json')}: is a FIFO, expected a regular file`,
    `${safetensorsFifo}: is a FIFO, expected a regular file`,
  ])
  t.true(performance.now() - started < 20_000)
})

test.serial('a directory, a link loop or a 3 GiB sparse file among the shards is refused by name, sizes checked before reading', async (t) => {
  const where = (dir: string) => `${join(dir, 'model.json')}: weightsManifest[0].paths[0]: "${fx.paths[0]}"`
  const asDir = await copy()
  await unlink(join(asDir, fx.paths[0]!))
  await mkdir(join(asDir, fx.paths[0]!))
  await refused(t, asDir, `${where(asDir)}: is a directory, expected a regular file`)
  const loop = await copy()
  await unlink(join(loop, fx.paths[0]!))
  await symlink(fx.paths[0]!, join(loop, fx.paths[0]!))
  await refused(t, loop, `${join(loop, 'model.json')}: weightsManifest[0].paths[0]: cannot read "${fx.paths[0]}" (ELOOP)`)
  const sparse = await copy()
  await truncate(join(sparse, fx.paths[0]!), 3 * 1024 ** 3)
  const needed = totalFloats() * 4
  const holds = 3 * 1024 ** 3 + needed - fx.shardBytes
  await refused(t, sparse, `${join(sparse, 'model.json')}: the shards hold ${holds} bytes but the weights need ${needed} (truncated or wrong files)`)
  const manifestDir = await copy()
  await rm(join(manifestDir, 'model.json'))
  await mkdir(join(manifestDir, 'model.json'))
  await refused(t, manifestDir, `${join(manifestDir, 'model.json')}: is a directory, expected a regular file`)
  const folderLoop = join(fx.root, 'folder-loop')
  await symlink(folderLoop, folderLoop)
  await refused(t, folderLoop, `${folderLoop}: cannot open the model folder (ELOOP)`)
  const file = join(fx.root, 'a-file')
  await writeFile(file, '{}')
  await refused(t, file, `${file}: not a model folder (a file, expected a folder holding model.json)`)
})

// --- the "Also" list: BOM, config fields, classes ----------------------------------------------------

test.serial('model.json with a BOM loads; one that is not UTF-8 is refused', async (t) => {
  const bom = await copy()
  await writeFile(join(bom, 'model.json'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), await readFile(join(bom, 'model.json'))]))
  await loads(t, bom)
  const latin1 = await copy()
  const text = (await readFile(join(latin1, 'model.json'), 'utf8')).replace('"a"', '"\u0000"')
  await writeFile(join(latin1, 'model.json'), Buffer.from(text, 'utf8').map((b) => (b === 0 ? 0xe9 : b))) // a lone Latin-1 é
  await refused(t, latin1, `${join(latin1, 'model.json')}: not valid UTF-8 text`)
})

/** Config fields and what loading must say about them (undefined: it is valid and must load). */
const CONFIG_CASES: ReadonlyArray<readonly [string, (c: any) => void, string | undefined]> = [
  ['clip T = 0', (c) => (c.clip = { T: 0, H: 16, W: 16 }), 'config.clip must be {T, H, W} with positive integers, got {"T":0,"H":16,"W":16}'],
  ['clip T a string', (c) => (c.clip = { T: '4', H: 16, W: 16 }), 'config.clip must be {T, H, W} with positive integers, got {"T":"4","H":16,"W":16}'],
  ['clip without W', (c) => (c.clip = { T: 4, H: 16 }), 'config.clip must be {T, H, W} with positive integers, got {"T":4,"H":16}'],
  ['clip H = 2.5', (c) => (c.clip = { T: 4, H: 2.5, W: 16 }), 'config.clip must be {T, H, W} with positive integers, got {"T":4,"H":2.5,"W":16}'],
  ['clip an array', (c) => (c.clip = [4, 16, 16]), 'config.clip must be {T, H, W} with positive integers, got [4,16,16]'],
  ['clip from the prototype', (c) => (c.clip = JSON.parse('{"__proto__": {"T": 4, "H": 16, "W": 16}}')), 'config.clip must be {T, H, W} with positive integers, got {"__proto__":{"T":4,"H":16,"W":16}}'],
  ['clip absent', (c) => delete c.clip, undefined],
  ['clip of another size', (c) => (c.clip = { T: 8, H: 32, W: 32 }), undefined],
  ['one class', (c) => (c.classes = ['only']), 'config.classes lists 1 class, expected at least two (an attack needs another class to move a clip to)'],
  ['no classes', (c) => delete c.classes, 'config.classes must list the class names, got null'],
  ['a duplicate class', (c) => (c.classes = ['a', 'b', 'a']), 'config.classes[2] "a" repeats config.classes[0]'],
  ['a number as class', (c) => (c.classes = ['a', 7, 'c']), 'config.classes[1] must be a non-empty string, got 7'],
  ['an empty class name', (c) => (c.classes = ['a', '', 'c']), 'config.classes[1] must be a non-empty string, got ""'],
  ['two classes for a 3-class head', (c) => (c.classes = ['a', 'b']), 'weight fc.weight has shape [2,3], expected [2, 2]'],
  ['widths of 4096 (the model is never built)', (c) => (c.widths = [4096, 4096, 4096, 4096]), 'weight stem.0.weight has shape [3,7,7,3,2], expected [3, 7, 7, 3, 4096]'],
  ['config empty', (c) => Object.keys(c).forEach((k) => delete c[k]), 'config must name architecture "r3d18" and layout "torchvision" or "hara"'],
]

test.serial('model.json config fields are checked at load, naming model.json and the field', async (t) => {
  for (const [what, edit, expected] of CONFIG_CASES) {
    const dir = await copy()
    await editManifest(dir, (m) => edit(m.config))
    await check(t, what, (tt) => (expected === undefined ? loads(tt, dir) : refused(tt, dir, `${join(dir, 'model.json')}: ${expected}`)))
  }
  const nullConfig = await copy()
  await editManifest(nullConfig, (m) => (m.config = null))
  await refused(t, nullConfig, `${join(nullConfig, 'model.json')}: config must be an object describing the model, got null`)
})

// --- generated corruptions of a valid model folder -------------------------------------------------

const HOSTILE_NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '', 'a\nb', 'x'.repeat(300), 'ünïcödé', 'stem.0.weight ']
const HOSTILE_DTYPES: unknown[] = ['int32', 'float16', 'bool', 'constructor', '__proto__', 'toString', 5, null, 'FLOAT32']
const HOSTILE_PATHS = ['../outside.bin', '/etc/passwd', '', 'a/../../b.bin', 'nope.bin', '__proto__', 'constructor']

/** One corruption of the valid folder and the message it must give (undefined: still valid). */
type Corruption = { readonly label: string; readonly apply: (dir: string) => Promise<void>; readonly expect: (dir: string) => string | RegExp | undefined }

const manifestMessage = (text: string) => (dir: string) => `${join(dir, 'model.json')}: ${text}`
const pathsAt = (k: number) => `weightsManifest[0].paths[${k}]`

const corruption = (): fc.Arbitrary<Corruption> => {
  const n = fx.entries.length
  const shard = fc.nat(fx.paths.length - 1)
  const entry = fc.nat(n - 1)
  const needed = totalFloats() * 4
  return fc.oneof(
    fc.record({ k: shard, cut: fc.integer({ min: 1, max: 64 }) }).map(({ k, cut }) => ({
      label: `truncate shard ${k} by ${cut}`,
      apply: async (dir: string) => {
        const p = join(dir, fx.paths[k]!)
        const b = await readFile(p)
        await writeFile(p, b.subarray(0, Math.max(0, b.length - cut)))
      },
      expect: manifestMessage(`the shards hold ${needed - cut} bytes but the weights need ${needed} (truncated or wrong files)`),
    })),
    fc.record({ k: shard, extra: fc.integer({ min: 1, max: 64 }) }).map(({ k, extra }) => ({
      label: `extend shard ${k} by ${extra}`,
      apply: async (dir: string) => {
        const p = join(dir, fx.paths[k]!)
        await writeFile(p, Buffer.concat([await readFile(p), Buffer.alloc(extra, 7)]))
      },
      expect: manifestMessage(`the shards hold ${needed + extra} bytes but the weights need ${needed} (truncated or wrong files)`),
    })),
    fc.record({ g: fc.nat(totalFloats() - 1), v: fc.constantFrom(Number.NaN, Infinity, -Infinity) }).map(({ g, v }) => {
      const at = locate(g)
      return {
        label: `${v} at float ${g}`,
        apply: async (dir: string) => {
          const p = join(dir, fx.paths[at.shard]!)
          const b = await readFile(p)
          b.writeFloatLE(v, at.byte)
          await writeFile(p, b)
        },
        expect: (dir: string) => `${join(dir, fx.paths[at.shard]!)}: weight ${at.name} holds ${v} at element ${at.element} (weights must be finite)`,
      }
    }),
    fc.record({ i: entry, name: fc.constantFrom(...HOSTILE_NAMES) }).map(({ i, name }) => ({
      label: `weight ${i} renamed ${JSON.stringify(name)}`,
      apply: (dir: string) => editManifest(dir, (m) => (m.weightsManifest[0].weights[i].name = name)),
      expect: manifestMessage(`weight ${/^[\w.:/-]{1,200}$/.test(name) ? name : JSON.stringify(name.length > 200 ? `${name.slice(0, 197)}...` : name)} is not part of this architecture`),
    })),
    fc.record({ i: entry, shape: fc.array(fc.oneof(fc.nat(8), fc.constantFrom<unknown>(-1, 1.5, 'a', null)), { maxLength: 5 }) }).map(({ i, shape }) => {
      const e = fx.entries[i]!
      const same = JSON.stringify(shape) === JSON.stringify(e.shape)
      return {
        label: `weight ${i} reshaped ${JSON.stringify(shape)}`,
        apply: (dir: string) => editManifest(dir, (m) => (m.weightsManifest[0].weights[i].shape = shape)),
        expect: same ? () => undefined : manifestMessage(`weight ${e.name} has shape ${JSON.stringify(shape)}, expected [${e.shape.join(', ')}]`),
      }
    }),
    fc.record({ i: entry, dtype: fc.constantFrom(...HOSTILE_DTYPES) }).map(({ i, dtype }) => ({
      label: `weight ${i} dtype ${JSON.stringify(dtype)}`,
      apply: (dir: string) => editManifest(dir, (m) => (m.weightsManifest[0].weights[i].dtype = dtype)),
      expect: manifestMessage(`weight ${fx.entries[i]!.name} has dtype ${JSON.stringify(dtype)}, expected float32`),
    })),
    entry.map((i) => ({
      label: `weight ${i} dropped`,
      apply: (dir: string) => editManifest(dir, (m) => m.weightsManifest[0].weights.splice(i, 1)),
      expect: manifestMessage(`missing weight ${fx.entries[i]!.name}`),
    })),
    entry.map((i) => ({
      label: `weight ${i} listed twice`,
      apply: (dir: string) => editManifest(dir, (m) => m.weightsManifest[0].weights.push(m.weightsManifest[0].weights[i])),
      expect: manifestMessage(`weight ${fx.entries[i]!.name} is listed twice`),
    })),
    fc.record({ i: entry, value: fc.constantFrom<unknown>(null, 5, 'w', [1], true) }).map(({ i, value }) => ({
      label: `weight ${i} replaced by ${JSON.stringify(value)}`,
      apply: (dir: string) => editManifest(dir, (m) => (m.weightsManifest[0].weights[i] = value)),
      expect: manifestMessage(`weightsManifest[0].weights[${i}]: expected {name, shape, dtype}, got ${JSON.stringify(value)}`),
    })),
    fc.record({ k: shard, path: fc.constantFrom(...HOSTILE_PATHS) }).map(({ k, path }) => ({
      label: `shard ${k} path ${JSON.stringify(path)}`,
      apply: (dir: string) => editManifest(dir, (m) => (m.weightsManifest[0].paths[k] = path)),
      expect: manifestMessage(
        path === '' || path.startsWith('/') || path.includes('..')
          ? `${pathsAt(k)}: ${JSON.stringify(path)} must be a relative path inside the model folder`
          : `${pathsAt(k)}: cannot read ${JSON.stringify(path)} (ENOENT)`,
      ),
    })),
    fc.record({ k: shard, link: fc.constantFrom('loop', 'directory', 'outside', 'inside') }).map(({ k, link }) => ({
      label: `shard ${k} replaced by a ${link} link`,
      apply: async (dir: string) => {
        const p = join(dir, fx.paths[k]!)
        if (link === 'inside') return cp(p, join(dir, 'moved.bin')).then(() => unlink(p)).then(() => symlink('moved.bin', p))
        if (link === 'outside') return cp(p, `${dir}-outside.bin`).then(() => unlink(p)).then(() => symlink(`${dir}-outside.bin`, p))
        await unlink(p)
        return link === 'loop' ? symlink(fx.paths[k]!, p) : mkdir(p)
      },
      expect: (dir: string) =>
        link === 'inside'
          ? undefined
          : manifestMessage(
              link === 'loop'
                ? `${pathsAt(k)}: cannot read "${fx.paths[k]}" (ELOOP)`
                : link === 'outside'
                  ? `${pathsAt(k)}: "${fx.paths[k]}" is a link that leads outside the model folder`
                  : `${pathsAt(k)}: "${fx.paths[k]}": is a directory, expected a regular file`,
            )(dir),
    })),
    fc.nat(10_000).map((cut) => ({
      label: `model.json cut`,
      apply: async (dir: string) => {
        const b = await readFile(join(dir, 'model.json'))
        await writeFile(join(dir, 'model.json'), b.subarray(0, cut % (b.length - 1)))
      },
      expect: (dir: string) => new RegExp(`^${join(dir, 'model.json').replace(/[.]/g, '\\.')}: not valid JSON: `),
    })),
    fc.nat(CONFIG_CASES.length - 1).map((c) => ({
      label: CONFIG_CASES[c]![0],
      apply: (dir: string) => editManifest(dir, (m) => CONFIG_CASES[c]![1](m.config)),
      expect: (dir: string) => (CONFIG_CASES[c]![2] === undefined ? undefined : manifestMessage(CONFIG_CASES[c]![2]!)(dir)),
    })),
    fc.constant({ label: 'untouched', apply: async () => {}, expect: () => undefined }),
  )
}

test.serial('generated corruptions of a valid model folder: a clear refusal within 2 s and no tensor leak, or an exact load', async (t) => {
  await fc.assert(
    fc.asyncProperty(corruption(), async (c) => {
      const dir = await copy()
      try {
        await c.apply(dir)
        const expected = c.expect(dir)
        await check(t, c.label, (tt) => (expected === undefined ? loads(tt, dir) : refused(tt, dir, expected)))
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    }),
    { numRuns: 80, seed: 16 },
  )
  t.pass()
})

// --- safetensors ----------------------------------------------------------------------------------

const F16_BITS = new Map([[0, 0x0000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800]])
const BF16_BITS = new Map([[0, 0x0000], [1, 0x3f80], [-2, 0xc000], [0.5, 0x3f00]])
const DTYPES = ['F32', 'F64', 'F16', 'BF16'] as const
const WIDTH = { F32: 4, F64: 8, F16: 2, BF16: 2 } as const

interface Tensor {
  readonly name: string
  readonly dtype: (typeof DTYPES)[number]
  readonly shape: number[]
  readonly values: number[]
}

const encode = (t: Tensor): Buffer => {
  const b = Buffer.alloc(t.values.length * WIDTH[t.dtype])
  t.values.forEach((v, i) =>
    t.dtype === 'F32' ? b.writeFloatLE(v, 4 * i) : t.dtype === 'F64' ? b.writeDoubleLE(v, 8 * i) : b.writeUInt16LE((t.dtype === 'F16' ? F16_BITS : BF16_BITS).get(v)!, 2 * i),
  )
  return b
}

/** A safetensors file as PyTorch writes one: data in order, an empty tensor at its neighbour's offset; names written as JSON keys as they are. */
const safetensorsFile = (tensors: ReadonlyArray<Tensor>) => {
  let offset = 0
  const specs = tensors.map((t) => {
    const bytes = encode(t)
    const spec = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] }
    offset += bytes.length
    return [t.name, spec, bytes] as const
  })
  const json = `{"__metadata__":{"format":"pt"},${specs.map(([name, spec]) => `${JSON.stringify(name)}:${JSON.stringify(spec)}`).join(',')}}`
  const header = Buffer.from(json, 'utf8')
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(header.length))
  return { bytes: Buffer.concat([length, header, ...specs.map(([, , b]) => b)]), header, dataSize: offset, specs }
}

const tensorArb: fc.Arbitrary<Tensor> = fc
  .record({
    name: fc.oneof(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom(...HOSTILE_NAMES, 'fc.bias', '0', '1')),
    dtype: fc.constantFrom(...DTYPES),
    shape: fc.array(fc.nat(3), { maxLength: 3 }),
  })
  .filter((t) => t.name !== '__metadata__')
  .chain((t) => fc.array(fc.constantFrom(0, 1, -2, 0.5), { minLength: t.shape.reduce((a, b) => a * b, 1), maxLength: t.shape.reduce((a, b) => a * b, 1) }).map((values) => ({ ...t, values })))
const tensorsArb = fc.uniqueArray(tensorArb, { selector: (t) => t.name, minLength: 1, maxLength: 6 })

const withFile = async <A>(bytes: Uint8Array, f: (file: string) => Promise<A>): Promise<A> => {
  const file = join(fx.root, `st${copies++}.safetensors`)
  await writeFile(file, bytes)
  try {
    return await f(file)
  } finally {
    await rm(file, { force: true })
  }
}

test('safetensors: generated valid files (empty tensors at a neighbour\'s offset, hostile names) read back exactly', async (t) => {
  await fc.assert(
    fc.asyncProperty(tensorsArb, async (tensors) => {
      const read = await withFile(safetensorsFile(tensors).bytes, readSafetensors)
      await check(t, JSON.stringify(tensors.map((x) => x.name)), async (tt) => {
        tt.deepEqual([...read.keys()].sort(), tensors.map((x) => x.name).sort())
        for (const x of tensors) {
          const got = read.get(x.name)!
          tt.deepEqual([...got.shape], x.shape)
          tt.deepEqual(Array.from(got.data), x.values)
        }
      })
    }),
    { numRuns: 150, seed: 13 },
  )
  t.pass()
})

test('safetensors: an empty tensor at its neighbour\'s offset is accepted, a real overlap still refused', async (t) => {
  const file = safetensorsFile([
    { name: 'a', dtype: 'F32', shape: [2], values: [1, 1] },
    { name: 'b', dtype: 'F32', shape: [1], values: [0.5] },
  ])
  const json = JSON.parse(file.header.toString())
  json.e = { dtype: 'F32', shape: [0], data_offsets: [8, 8] } // listed after b, which starts at 8
  const withEmpty = Buffer.from(JSON.stringify(json))
  const len = (h: Buffer) => {
    const l = Buffer.alloc(8)
    l.writeBigUInt64LE(BigInt(h.length))
    return l
  }
  const data = file.bytes.subarray(8 + file.header.length)
  const read = await withFile(Buffer.concat([len(withEmpty), withEmpty, data]), readSafetensors)
  t.deepEqual([...read.keys()], ['a', 'b', 'e'])
  t.deepEqual(Array.from(read.get('e')!.data), [])
  json.e = { dtype: 'F32', shape: [1], data_offsets: [4, 8] }
  const overlapping = Buffer.from(JSON.stringify(json))
  await withFile(Buffer.concat([len(overlapping), overlapping, data]), async (f) =>
    t.is((await t.throwsAsync(readSafetensors(f)))!.message, `${f}: tensors a and e overlap in the data buffer`),
  )
})

test('safetensors: a header claiming 100 MiB is too large, not "truncated"; a non-UTF-8 header is refused', async (t) => {
  const good = safetensorsFile([{ name: 'w', dtype: 'F32', shape: [2], values: [1, -2] }]).bytes
  const huge = Buffer.from(good)
  huge.writeBigUInt64LE(BigInt(100 * 1024 * 1024))
  await withFile(huge, async (f) =>
    t.is((await t.throwsAsync(readSafetensors(f)))!.message, `${f}: header of 104857600 bytes is larger than the 100000000-byte limit (corrupt or not safetensors)`),
  )
  const short = Buffer.from(good)
  short.writeBigUInt64LE(BigInt(good.length))
  await withFile(short, async (f) =>
    t.is((await t.throwsAsync(readSafetensors(f)))!.message, `${f}: header of ${good.length} bytes does not fit the file's ${good.length} bytes (truncated or not safetensors)`),
  )
  const latin1 = Buffer.from(good)
  latin1[latin1.indexOf('"pt"') + 1] = 0xe9
  await withFile(latin1, async (f) => t.is((await t.throwsAsync(readSafetensors(f)))!.message, `${f}: header: not valid UTF-8 text`))
})

test('safetensors: dtypes "constructor", "__proto__" and "toString" are not float types', async (t) => {
  for (const dtype of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const json = `{"w":{"dtype":"${dtype}","shape":[1],"data_offsets":[0,4]}}`
    const header = Buffer.from(json)
    const len = Buffer.alloc(8)
    len.writeBigUInt64LE(BigInt(header.length))
    await withFile(Buffer.concat([len, header, Buffer.alloc(4)]), async (f) =>
      t.is((await t.throwsAsync(readSafetensors(f)))!.message, `${f}: w: dtype "${dtype}" is not a float type multav reads (F64, F32, F16, BF16)`),
    )
  }
})

/** One corruption of a valid safetensors file; `expected` is the message when certain, else any clear refusal or a valid read. */
type StCorruption = { readonly label: string; readonly bytes: Buffer; readonly expected?: (file: string) => string }

const stCorruption = (tensors: ReadonlyArray<Tensor>): fc.Arbitrary<StCorruption> => {
  const { bytes, header, dataSize, specs } = safetensorsFile(tensors)
  const n = header.length
  const setLength = (claimed: bigint) => {
    const b = Buffer.from(bytes)
    b.writeBigUInt64LE(claimed)
    return b
  }
  return fc.oneof(
    fc.nat(bytes.length - 1).map((cut) => ({
      label: `cut to ${cut} bytes`,
      bytes: bytes.subarray(0, cut),
      // cut inside the data: some tensor runs past the end (which one first depends on the header's key order)
      ...(cut < 8
        ? { expected: (f: string) => `${f}: not a safetensors file: ${cut} bytes, shorter than its 8-byte header length` }
        : cut < 8 + n
          ? { expected: (f: string) => `${f}: header of ${n} bytes does not fit the file's ${cut} bytes (truncated or not safetensors)` }
          : {}),
    })),
    fc.bigInt({ min: 100_000_001n, max: 2n ** 64n - 1n }).map((claimed) => ({
      label: `header length ${claimed}`,
      bytes: setLength(claimed),
      expected: (f: string) => `${f}: header of ${claimed} bytes is larger than the 100000000-byte limit (corrupt or not safetensors)`,
    })),
    fc.integer({ min: -n, max: dataSize + 16 }).filter((d) => d !== 0).map((d) => ({ label: `header length off by ${d}`, bytes: setLength(BigInt(n + d)) })),
    fc.record({ i: fc.nat(specs.length - 1), by: fc.integer({ min: -16, max: 16 }), which: fc.constantFrom(0, 1, 2) }).map(({ i, by, which }) => {
      const json = JSON.parse(header.toString())
      const name = specs[i]![0]
      const o = json[name].data_offsets
      if (which !== 1) o[0] += by
      if (which !== 0) o[1] += by
      const h = Buffer.from(JSON.stringify(json))
      const l = Buffer.alloc(8)
      l.writeBigUInt64LE(BigInt(h.length))
      return { label: `offsets of ${JSON.stringify(name)} shifted by ${by} (${which})`, bytes: Buffer.concat([l, h, bytes.subarray(8 + n)]) }
    }),
    fc.record({ i: fc.nat(specs.length - 1), dtype: fc.constantFrom<unknown>('constructor', '__proto__', 'toString', 'I64', 'f32', 5, null) }).map(({ i, dtype }) => {
      const json = JSON.parse(header.toString())
      const name = specs[i]![0]
      json[name].dtype = dtype
      const h = Buffer.from(JSON.stringify(json))
      const l = Buffer.alloc(8)
      l.writeBigUInt64LE(BigInt(h.length))
      const shown = /^[\w.:/-]{1,200}$/.test(name) ? name : JSON.stringify(name.length > 200 ? `${name.slice(0, 197)}...` : name)
      return {
        label: `dtype of ${JSON.stringify(name)} ${JSON.stringify(dtype)}`,
        bytes: Buffer.concat([l, h, bytes.subarray(8 + n)]),
        expected: (f: string) => `${f}: ${shown}: dtype ${JSON.stringify(dtype)} is not a float type multav reads (F64, F32, F16, BF16)`,
      }
    }),
    fc.constant({
      label: 'a Latin-1 byte in the header',
      bytes: (() => {
        const b = Buffer.from(bytes)
        b[8 + header.indexOf('"pt"') + 1] = 0xe9
        return b
      })(),
      expected: (f: string) => `${f}: header: not valid UTF-8 text`,
    }),
    fc.nat(64).map((extra) => ({ label: `${extra} bytes appended`, bytes: Buffer.concat([bytes, Buffer.alloc(extra)]) })),
  )
}

test('safetensors: generated corruptions give a clear refusal naming the file within 2 s, or read consistently', async (t) => {
  await fc.assert(
    fc.asyncProperty(tensorsArb.chain((tensors) => stCorruption(tensors).map((c) => ({ tensors, c }))), async ({ tensors, c }) => {
      const o = await withFile(c.bytes, async (file) => ({ file, o: await timed(() => readSafetensors(file)) }))
      await check(t, c.label, async (tt) => {
        if (o.o.ok) {
          tt.is(c.expected, undefined, `read, expected ${c.expected?.(o.file)}`)
          for (const [name, raw] of o.o.value as Awaited<ReturnType<typeof readSafetensors>>) {
            tt.true(tensors.some((x) => x.name === name), `unknown tensor ${name}`)
            tt.is(raw.data.length, raw.shape.reduce((a, b) => a * b, 1), name)
          }
        } else {
          const message = clearMessage(tt, o.o, `${o.file}: `)
          if (c.expected) tt.is(message, c.expected(o.file))
        }
      })
    }),
    { numRuns: 200, seed: 14 },
  )
  t.pass()
})

test.serial('PyTorch import: an extra tensor toString is unexpected, a NaN tensor is refused by name, before any model is built', async (t) => {
  const source = r3d18(ARCH)
  const entries = Object.entries({ ...source.variables, ...source.state })
  const tensors: Tensor[] = []
  for (const [name, v] of entries) {
    const torch = v.rank === 5 ? tf.transpose(v, [4, 3, 0, 1, 2]) : name === 'fc.weight' ? tf.transpose(v) : tf.clone(v)
    tensors.push({ name, dtype: 'F32', shape: torch.shape, values: Array.from(await torch.data()) })
    torch.dispose()
  }
  source.dispose()
  const before = tf.memory().numTensors
  const extra = safetensorsFile([...tensors, { name: 'toString', dtype: 'F32', shape: [], values: [1] }]).bytes
  await withFile(extra, async (f) => t.is((await t.throwsAsync(loadSafetensors(f, ARCH)))!.message, `${f}: toString not in a torchvision 3D ResNet-18 (wrong layout?)`))
  const file = safetensorsFile(tensors)
  const [, bias] = file.specs.find(([name]) => name === 'fc.bias')!
  const nan = Buffer.from(file.bytes)
  nan.writeFloatLE(Number.NaN, 8 + file.header.length + bias.data_offsets[0]! + 4)
  await withFile(nan, async (f) => t.is((await t.throwsAsync(loadSafetensors(f, ARCH)))!.message, `${f}: tensor fc.bias holds NaN at element 1 (weights must be finite)`))
  await withFile(safetensorsFile(tensors).bytes, async (f) => {
    const model = await loadSafetensors(f, ARCH)
    model.dispose()
  })
  t.is(tf.memory().numTensors, before)
})
