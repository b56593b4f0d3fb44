/** `multav attack`: one clip attacked and written losslessly. */
import * as E from 'fp-ts/lib/Either.js'
import { statSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { loadFrameFolder } from '../data/frames.js'
import { loadVideo, writeFramesPng, writeVideoLossless } from '../data/video.js'
import { attackSucceeded, quantise } from '../eval/chunk.js'
import { writeSheet } from '../eval/pictures.js'
import { safeName } from '../eval/run.js'
import { loadAttackList } from '../eval/specs.js'
import { runAttack } from '../interpreters/tensor.js'
import { resolveModel } from '../models/pretrained.js'
import { defineCommand, type Io } from './command.js'
import { checkOutFolder, UsageError, withContext } from './errors.js'
import { string, type Values } from './options.js'
import { BACKEND_OPTIONS, checkFit, modelFacts, startBackend } from './shared.js'

const ATTACK_OPTIONS = {
  video: string({ metavar: 'FILE|FRAME_DIR', required: 'attack needs --video FILE|FRAME_DIR', description: 'the clip: a video file (read with ffmpeg) or a folder of PNG/JPEG frames' }),
  model: string({ metavar: 'default|DIR', default: 'default', description: 'the model: a shipped one by name (multav list models) or a model folder' }),
  attack: string({ metavar: 'name[:key=value…]|spec.json', default: 'mult-linf', description: 'the attack: a built-in with overrides, or a spec file' }),
  label: string({ metavar: 'CLASS', description: "the clip's true class (default: the model's class on the clean clip)" }),
  out: string({ metavar: 'DIR', default: join('multav-out', 'attack'), description: 'where the frames, the video and the picture go' }),
  ...BACKEND_OPTIONS,
} as const

export const attackCommand = defineCommand({
  name: 'attack',
  options: ATTACK_OPTIONS,
  summary: 'attack one clip; write it losslessly (PNG frames, and an FFV1 .mkv when ffmpeg is available) with a picture',
  details: 'Lossy re-encoding changes the clip and can undo the attack.',
  run: async (v, _p, { io }) => {
    await startBackend(v)
    return attackClip(v, io)
  },
})

/** Attacks one clip (a video file or a frame folder) and writes it losslessly, with its picture. */
const attackClip = async (a: Values<typeof ATTACK_OPTIONS>, io: Io): Promise<number> => {
  const modelRef = a.model
  const { clip, classes } = await modelFacts(modelRef)
  const listed = await loadAttackList(a.attack, undefined, '--attack')
  if (E.isLeft(listed)) throw new UsageError(listed.left.join('\n'))
  if (listed.right.length !== 1) throw new UsageError(`--attack takes one attack, got ${listed.right.length}`)
  const attack = listed.right[0]!
  checkFit([attack], clip, classes.length, '--attack', 'one')
  if (a.label !== undefined && !classes.includes(a.label)) throw new UsageError(`--label must be one of the model's classes (${classes.join(', ')}), got "${a.label}"`)
  const out = a.out
  checkOutFolder(out)
  let isDir: boolean
  try {
    isDir = statSync(a.video).isDirectory()
  } catch {
    throw new UsageError(`--video ${a.video}: no such file or folder`)
  }
  if (clip.H !== clip.W) throw new UsageError(`--model ${modelRef}: takes ${clip.H}x${clip.W} frames; videos are centre-cropped to squares`)
  const o = { T: clip.T, size: clip.H, crop: clip.H }
  const data = await (isDir ? loadFrameFolder(a.video, o) : loadVideo(a.video, o)).catch(withContext(''))
  const model = await resolveModel(modelRef)
  const x = tf.tensor5d(data.data, [...data.shape])
  try {
    const clean = tf.tidy(() => tf.argMax(model.model(x), 1))
    const cleanClass = (await clean.data())[0]!
    clean.dispose()
    const label = a.label === undefined ? cleanClass : classes.indexOf(a.label)
    const r = await runAttack(attack, model.model, x, [label])
    const q = quantise(r.adversarial)
    r.adversarial.dispose()
    try {
      const after = tf.tidy(() => tf.argMax(model.model(q), 1))
      const advClass = (await after.data())[0]!
      after.dispose()
      const adversarial = { shape: data.shape, data: (await q.data()) as Float32Array }
      await mkdir(out, { recursive: true })
      const frames = await writeFramesPng(adversarial, join(out, 'frames'))
      io.log(`clean: "${classes[cleanClass]}"; attacked with ${attack.name} (as "${classes[label]}"): "${classes[advClass]}"${attackSucceeded(attack.loss.target, advClass, label, 0) ? '' : ' (attack failed)'}`)
      io.log(`achieved: ‖x'−x‖∞ ${r.sanity.linf[0]!.toFixed(4)}, max ratio ${r.sanity.ratioLinf[0]!.toFixed(4)}`)
      io.log(`adversarial frames (lossless PNG): ${join(out, 'frames')} (${frames.length} files)`)
      try {
        await writeVideoLossless(adversarial, join(out, 'adversarial.mkv'))
        io.log(`adversarial video (lossless FFV1): ${join(out, 'adversarial.mkv')}`)
      } catch (e) {
        io.warn(`no lossless video written: ${(e as Error).message.split('\n')[0]}`)
      }
      const sheet = join(out, `${safeName(attack.name)}.png`)
      await writeSheet(sheet, { clip: 0, attack: attack.name, clean: data.data, adversarial: adversarial.data, shape: [clip.T, clip.H, clip.W, 3] })
      io.log(`picture: ${sheet}`)
      io.warn('note: re-encoding the adversarial clip with a lossy codec (H.264, MPEG-4, JPEG) changes it and may undo the attack; keep the PNG frames or the FFV1 video')
      return 0
    } finally {
      q.dispose()
    }
  } finally {
    x.dispose()
    model.dispose()
  }
}
