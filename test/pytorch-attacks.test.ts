/**
 * Differential test of every attack against PyTorch: test/fixtures/torch_attacks.py writes the ten
 * attacks' iterations from their formulas on torchvision's r3d_18 at the stage widths of multav's
 * shipped default model, 8-16-32-64 (seeded random weights, random BN statistics; the full-width r3d_18
 * is compared in test/pytorch.test.ts, and takes ~10 s per gradient on the cpu backend), on clips with exact zeros and saturated pixels, batch > 1, with the masks multav draws
 * passed in explicitly and no random starts; multav imports the same weights and runs its attack
 * values on the same clips, on cpu and on wasm. Required per attack and backend: ≥ 99.9% of the
 * returned values within 1e-5 of PyTorch's, and the same predictions.
 *
 * The "tiny gradients" configuration (a batch of 8, a classifier scaled by 1e-2) has the input
 * gradients of real models: about a fifth of them below float32's epsilon 1.19e-7 (asserted), where
 * tf.sign on wasm returns 0 — a dead zone anywhere in a sign-based attack fails it.
 *
 * Needs /usr/bin/python3 with torch and torchvision (`.ci/run` installs Debian's python3-torch and
 * python3-torchvision); outside CI the test is skipped when they are missing.
 */
import test from 'ava'
import * as tf from '@tensorflow/tfjs-core'
import { execFile, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import * as attacks from '../src/dsl/attacks.js'
import type { Attack, Direction, Region } from '../src/dsl/types.js'
import { initBackend } from '../src/backend/backend.js'
import { batchMask } from '../src/interpreters/regions.js'
import { runAttack } from '../src/interpreters/tensor.js'
import { loadSafetensors } from '../src/models/pytorch.js'

const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0)
const register = python !== undefined || process.env['CI'] !== undefined ? test.serial : test.skip

const CLASSES = 10
const WIDTHS = [8, 16, 32, 64] as const
const AGREE = 1e-5
const SHARE = 0.999

/** One attack: multav's value, and what the oracle needs (parameters in absolute units). */
interface Case {
  readonly name: string
  readonly attack: Attack
  readonly torch: (perSample: number) => Readonly<Record<string, number | string>>
}

const rms = (v: number, perSample: number) => v * Math.sqrt(perSample)

const CASES: ReadonlyArray<Case> = [
  { name: 'add-linf', attack: attacks.addLinf({ randomStart: false }), torch: () => ({ kind: 'add-linf', alpha: 1 / 255, eps: 4 / 255 }) },
  { name: 'add-l2', attack: attacks.addL2({ randomStart: false }), torch: (n) => ({ kind: 'add-l2', alpha: rms(1 / 1227, n), eps: rms(0.13, n) }) },
  { name: 'mult-linf', attack: attacks.multLinf(), torch: () => ({ kind: 'mult-linf', alpha: 1.01, eps: 1.04 }) },
  { name: 'mult-l2', attack: attacks.multL2(), torch: (n) => ({ kind: 'mult-l2', ln_alpha: rms(Math.log(1.002), n), ln_eps: rms(Math.log(1.32), n) }) },
  // regions sized for 16x20 frames; the rectangle is not square so that a transposed mask shows
  { name: 'roa', attack: attacks.roa({ height: 6, width: 5 }), torch: () => ({ kind: 'masked-add', alpha: 70 / 255, start: 0.5 }) },
  { name: 'mult-roa', attack: attacks.multRoa({ height: 6, width: 5 }), torch: () => ({ kind: 'masked-mult', alpha: 2 }) },
  { name: 'af', attack: attacks.af({ width: 2 }), torch: () => ({ kind: 'masked-add', alpha: 70 / 255 }) },
  { name: 'mult-af', attack: attacks.multAf({ width: 2 }), torch: () => ({ kind: 'masked-mult', alpha: 2 }) },
  { name: 'spa', attack: attacks.spa({ perFrame: 12 }), torch: () => ({ kind: 'masked-add', alpha: 70 / 255, start: 0 }) },
  { name: 'mult-spa', attack: attacks.multSpa({ perFrame: 12 }), torch: () => ({ kind: 'masked-mult', alpha: 2 }) },
]

/** The region a masked attack's direction is confined to. */
const regionOf = (attack: Attack): Region | undefined => {
  const inner = (d: Direction): Region | undefined => (d._tag === 'MaskRegion' ? d.region : d._tag === 'Gradient' ? undefined : inner(d.of))
  const u = attack.body[0]!.update
  return inner(u._tag === 'Add' ? u.offset.of : u.factor.of)
}

interface Reference {
  readonly clip: number[]
  readonly labels: number[]
  readonly torch: string
  readonly attacks: Readonly<Record<string, { adversarial: number[]; predictions: number[]; dead_zone: number }>>
}

const differential = (title: string, shape: [number, number, number, number, number], fcScale: number, cases: ReadonlyArray<Case>, minDeadZone: number) =>
  register(title, async (t) => {
    const [N, T, H, W, C] = shape
    const perSample = T * H * W * C
    const dir = await mkdtemp(join(tmpdir(), 'multav-torch-attacks-'))
    try {
      const task = {
        shape, classes: CLASSES, widths: WIDTHS, fc_scale: fcScale, seed: 0,
        attacks: cases.map((c) => {
          const region = regionOf(c.attack)
          return { name: c.name, steps: c.attack.steps, ...c.torch(perSample), mask: region ? Array.from(batchMask(region, { T, H, W }, N, c.attack.seed)) : null }
        }),
      }
      await writeFile(join(dir, 'task.json'), JSON.stringify(task))
      await promisify(execFile)(python ?? 'python3', ['test/fixtures/torch_attacks.py', join(dir, 'task.json'), dir], { timeout: 240_000 })
      const ref = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as Reference
      for (const c of cases) {
        const dead = ref.attacks[c.name]!.dead_zone
        t.true(dead >= minDeadZone, `${c.name}: ${(100 * dead).toFixed(1)}% of the first gradient below 1.19e-7, wanted ≥ ${100 * minDeadZone}%`)
      }
      for (const backend of ['cpu', 'wasm'] as const) {
        await initBackend(backend)
        const before = tf.memory().numTensors
        const net = await loadSafetensors(join(dir, 'r3d18.safetensors'), { layout: 'torchvision', classes: CLASSES, widths: WIDTHS })
        const x = tf.tensor5d(ref.clip, shape)
        try {
          for (const c of cases) {
            const want = ref.attacks[c.name]!
            const result = await runAttack(c.attack, net.model, x, ref.labels)
            const got = await result.adversarial.data()
            result.adversarial.dispose()
            let close = 0
            let worst = 0
            got.forEach((v, i) => {
              const d = Math.abs(v - want.adversarial[i]!)
              if (d <= AGREE) close++
              worst = Math.max(worst, d)
            })
            const share = close / got.length
            t.log(`${backend} ${c.name}: ${(100 * share).toFixed(3)}% within ${AGREE}, max |Δ| ${worst.toExponential(2)}, first-step dead zone ${(100 * want.dead_zone).toFixed(1)}%`)
            t.true(share >= SHARE, `${backend} ${c.name}: ${(100 * share).toFixed(3)}% of ${got.length} values within ${AGREE} of PyTorch (max |Δ| ${worst})`)
            t.deepEqual([...result.predictions], want.predictions, `${backend} ${c.name}: predictions`)
          }
        } finally {
          x.dispose()
          net.dispose()
        }
        t.is(tf.memory().numTensors, before, `${backend}: tensors leaked`)
      }
      t.log(`PyTorch ${ref.torch}`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

differential('all ten attacks agree with PyTorch on r3d_18 (batch 3, 4x16x20 clips with zeros and saturated pixels), on cpu and wasm', [3, 4, 16, 20, 3], 1, CASES, 0)

const SIGN_BASED = ['add-linf', 'mult-linf', 'roa', 'mult-af']
differential(
  'tiny gradients (batch 8, mean loss, ~20% of |g| below 1.19e-7): the sign-based attacks still agree with PyTorch on cpu and wasm',
  [8, 4, 16, 20, 3],
  0.01,
  CASES.filter((c) => SIGN_BASED.includes(c.name)),
  0.1,
)
