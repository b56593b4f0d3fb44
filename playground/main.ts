/// <reference lib="dom" />
/**
 * The playground page (playground/index.html): pick a built-in attack or edit its JSON spec (the
 * codec's issues shown at their paths), see its formula and certificate, run it on a benchmark clip
 * on the best backend, and see clean / adversarial / ×15 difference frames, the per-clip figures and
 * the `verify` result. Plain DOM; bundled by playground/build.mjs. URL parameters: `attack`,
 * `backend`, `clip`, `autorun=1` (the browser test uses them).
 */
import * as E from 'fp-ts/lib/Either.js'
import {
  attacks, certify, data, describeCertificate, encodeAttack, explain, formatIssues, initBackend, models, parseAttackJsonIssues,
  runAttack, tf, verify, type Attack, type BrowserBackendChoice,
} from '../src/browser.js'

const BUILT_IN: Record<string, () => Attack> = {
  'add-linf': () => attacks.addLinf(),
  'mult-linf': () => attacks.multLinf(),
  'add-l2': () => attacks.addL2(),
  'mult-l2': () => attacks.multL2(),
  'roa (5x5)': () => attacks.roa({ height: 5, width: 5 }),
  'mult-roa (5x5)': () => attacks.multRoa({ height: 5, width: 5 }),
}
const params = new URLSearchParams(location.search)
/** `small=1`: 4 frames of 16x16 and a narrower network (a software renderer's test runs it). */
const small = params.get('small') === '1'
const CLIP = small ? ({ T: 4, H: 16, W: 16 } as const) : ({ T: 8, H: 32, W: 32 } as const)
const WIDTHS: readonly [number, number, number, number] = small ? [4, 4, 8, 8] : [8, 16, 32, 64]

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const attackSelect = $<HTMLSelectElement>('attack')
const spec = $<HTMLTextAreaElement>('spec')
const status = $<HTMLSpanElement>('status')

const setStatus = (state: string, text: string) => {
  status.dataset['state'] = state
  status.textContent = text
}

for (const name of Object.keys(BUILT_IN)) attackSelect.add(new Option(name, name))
attackSelect.value = params.get('attack') && params.get('attack')! in BUILT_IN ? params.get('attack')! : 'mult-linf'
$<HTMLSelectElement>('backend').value = params.get('backend') ?? 'auto'
$<HTMLInputElement>('clip').value = params.get('clip') ?? '0'

/** The attack the spec box holds, or undefined (its issues shown). */
const current = (): Attack | undefined => {
  const parsed = parseAttackJsonIssues(spec.value, { clip: CLIP })
  const list = $<HTMLUListElement>('issues')
  list.replaceChildren()
  if (E.isLeft(parsed)) {
    for (const line of formatIssues(parsed.left)) list.append(Object.assign(document.createElement('li'), { textContent: line }))
    return undefined
  }
  $('formula').textContent = explain(parsed.right)
  $('certificate').textContent = describeCertificate(certify(parsed.right))
  return parsed.right
}

const loadBuiltIn = () => {
  spec.value = JSON.stringify(encodeAttack(BUILT_IN[attackSelect.value]!()), null, 2)
  current()
}
attackSelect.addEventListener('change', loadBuiltIn)
spec.addEventListener('input', () => void current())
loadBuiltIn()

/** One frame [H, W, 3] of values (scaled by `gain`, around `offset`) drawn on a canvas. */
const draw = (values: Float32Array, offset: number, gain: number, bias: number): HTMLCanvasElement => {
  const canvas = Object.assign(document.createElement('canvas'), { width: CLIP.W, height: CLIP.H })
  const ctx = canvas.getContext('2d')!
  const image = ctx.createImageData(CLIP.W, CLIP.H)
  for (let p = 0; p < CLIP.H * CLIP.W; p++) {
    for (let c = 0; c < 3; c++) image.data[4 * p + c] = Math.max(0, Math.min(255, Math.round((bias + gain * values[offset + 3 * p + c]!) * 255)))
    image.data[4 * p + 3] = 255
  }
  ctx.putImageData(image, 0, 0)
  return canvas
}

const run = async () => {
  const attack = current()
  if (!attack) return setStatus('error', 'the spec has problems (listed above)')
  setStatus('running', 'starting a backend…')
  try {
    const backend = await initBackend($<HTMLSelectElement>('backend').value as BrowserBackendChoice, { wasmPaths: new URL('./', location.href).href })
    const bench = data.benchmark({ split: 'test', count: 6, ...CLIP })
    const n = Math.max(0, Math.min(5, Number($<HTMLInputElement>('clip').value) | 0))
    const size = CLIP.T * CLIP.H * CLIP.W * 3
    const clean = bench.clips.data.slice(n * size, (n + 1) * size)
    const net = models.r3d18({ layout: 'torchvision', classes: 6, widths: WIDTHS, seed: 0 })
    const x = tf.tensor5d(clean, [1, CLIP.T, CLIP.H, CLIP.W, 3])
    const started = performance.now()
    const result = await runAttack(attack, net.model, x, [bench.labels[n]!], {
      onStep: ({ step, steps }) => {
        $<HTMLProgressElement>('progress').value = step / steps
        setStatus('running', `${backend}: step ${step} of ${steps}`)
      },
    })
    const adversarial = (await result.adversarial.data()) as Float32Array
    const seconds = (performance.now() - started) / 1000
    tf.dispose([x, result.adversarial])
    net.dispose()
    const checked = verify(result.certificate, { shape: [1, CLIP.T, CLIP.H, CLIP.W, 3], data: clean }, { shape: [1, CLIP.T, CLIP.H, CLIP.W, 3], data: adversarial })
    const difference = adversarial.map((v, i) => v - clean[i]!)
    const frames = $('frames')
    frames.replaceChildren()
    for (const [label, values, gain, bias] of [['clean', clean, 1, 0], ['adversarial', adversarial, 1, 0], ['difference ×15', difference, 15, 0.5]] as const) {
      const row = document.createElement('div')
      row.append(Object.assign(document.createElement('span'), { textContent: label }))
      for (let t = 0; t < CLIP.T; t += 2) row.append(draw(values, t * CLIP.H * CLIP.W * 3, gain, bias))
      frames.append(row)
    }
    const classes = bench.classes
    const s = result.sanity
    $('report').innerHTML = `<table><tr><th>true</th><th>clean →</th><th>adversarial</th><th>success</th><th>‖δ‖∞</th><th>‖δ‖₂</th><th>max ratio</th></tr>
      <tr><td>${classes[bench.labels[n]!]}</td><td>${classes[result.cleanPredictions[0]!]}</td><td>${classes[result.predictions[0]!]}</td>
      <td>${result.success[0]}</td><td>${s.linf[0]!.toFixed(4)}</td><td>${s.l2[0]!.toFixed(3)}</td><td>${s.ratioLinf[0]!.toFixed(4)}</td></tr></table>`
    $("verify").textContent = checked.length === 0 ? "verify: the output meets every bound of the certificate" : `verify: ${checked.map((v) => v.message).join("; ")}`
    setStatus('done', `done on ${backend} in ${seconds.toFixed(2)} s`)
  } catch (e) {
    setStatus('error', (e as Error).message)
  }
}
$('run').addEventListener('click', () => void run())
if (params.get('autorun') === '1') void run()
