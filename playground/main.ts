/// <reference lib="dom" />
/**
 * The playground page (playground/index.html): pick a built-in attack or edit its JSON spec (the
 * codec's issues marked at their paths), set ε and α with sliders, see its formula and certificate,
 * run it on the shipped default model (fetched from ./models/default/) and benchmark clips on the
 * best backend, and see clean / adversarial / ×15 difference frames with the predicted labels, the
 * per-clip figures and the `verify` result. The spec downloads as a .json file, and the location
 * hash carries it (`#spec=…&clips=…`: a link to the page opens it). Plain DOM; bundled by
 * playground/build.mjs.
 *
 * URL parameters (the browser tests use them): `attack` (a built-in's name), `backend`, `clips`
 * (e.g. `0,3`), `autorun=1`, and `small=1` (a seeded random network on 4×16×16 clips instead of the
 * default model: a quick look on a software renderer).
 */
import * as E from 'fp-ts/lib/Either.js'
import {
  attacks, certify, data, describeCertificate, encodeAttack, explain, formatIssues, initBackend, models, parseAttackJsonIssues,
  runAttack, tf, verify, type Attack, type BrowserBackendChoice, type BrowserBackendName,
} from '../src/browser.js'
import { editor as makeEditor } from './editor.js'
import { knobsOf, positionOf, rangeOf, showKnob, SLIDER_STEPS, valueAt, withKnob, type Knob } from './knobs.js'
import { downloadName, fromHash, toHash } from './share.js'
import type { Shown } from './shown.js'

const BUILT_IN: Readonly<Record<string, () => Attack>> = attacks.BUILT_IN
const PORTED: Readonly<Record<string, () => Attack>> = attacks.PORTED
const make = (name: string): Attack | undefined => (Object.hasOwn(BUILT_IN, name) ? BUILT_IN[name]!() : Object.hasOwn(PORTED, name) ? PORTED[name]!() : undefined)

const params = new URLSearchParams(location.search)
/** `small=1`: 4 frames of 16×16 and a narrow seeded random network (no weights fetched). */
const small = params.get('small') === '1'
/** The clips the default model takes (its model.json's config.clip; checked when it loads). */
const CLIP = small ? ({ T: 4, H: 16, W: 16 } as const) : ({ T: 8, H: 32, W: 32 } as const)
/** The benchmark's test clips offered: the first six, one of each class. */
const CLIP_COUNT = 6
const bench = data.benchmark({ split: 'test', count: CLIP_COUNT, ...CLIP })
const CLIP_SIZE = CLIP.T * CLIP.H * CLIP.W * 3

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const attackSelect = $<HTMLSelectElement>('attack')
const backendSelect = $<HTMLSelectElement>('backend')
const status = $<HTMLSpanElement>('status')
const progress = $<HTMLProgressElement>('progress')
const runButton = $<HTMLButtonElement>('run')
const spec = makeEditor($<HTMLTextAreaElement>('spec'), $('backdrop'), $<HTMLUListElement>('issues'))

const setStatus = (state: 'idle' | 'running' | 'done' | 'error', text: string) => {
  status.dataset['state'] = state
  status.textContent = text
  document.body.dataset['busy'] = String(state === 'running')
}

// ------------------------------------------------------------------------------------------------
// choosing: attacks, clips, backend
// ------------------------------------------------------------------------------------------------

const group = (label: string, names: ReadonlyArray<string>) => {
  const g = document.createElement('optgroup')
  g.label = label
  for (const name of names) g.append(new Option(name, name))
  attackSelect.append(g)
}
group("the paper's attacks", Object.keys(BUILT_IN))
group('ported (torchattacks defaults)', Object.keys(PORTED))
const customOption = new Option('(edited spec)', 'custom')
attackSelect.append(customOption)

const clipBoxes = bench.labels.map((label, n) => {
  const box = Object.assign(document.createElement('input'), { type: 'checkbox', value: String(n) })
  const wrap = document.createElement('label')
  wrap.className = 'clip'
  wrap.append(box, ` ${n}: ${bench.classes[label]}`)
  $('clips').append(wrap)
  box.addEventListener('change', () => shareState())
  return box
})
const chosenClips = (): number[] => clipBoxes.flatMap((b, n) => (b.checked ? [n] : []))
const chooseClips = (clips: ReadonlyArray<number>) => clipBoxes.forEach((b, n) => (b.checked = clips.includes(n)))

backendSelect.value = params.get('backend') ?? 'auto'

// ------------------------------------------------------------------------------------------------
// the spec: decoding, formula, certificate, sliders, sharing
// ------------------------------------------------------------------------------------------------

/** The attack the editor holds, or undefined (its issues marked). */
const current = (): Attack | undefined => {
  const parsed = parseAttackJsonIssues(spec.text(), { clip: CLIP })
  if (E.isLeft(parsed)) {
    spec.show(parsed.left, formatIssues(parsed.left))
    $('formula').textContent = $('certificate').textContent = '(fix the spec)'
    return undefined
  }
  spec.show([], [])
  $('formula').textContent = explain(parsed.right)
  $('certificate').textContent = describeCertificate(certify(parsed.right))
  return parsed.right
}

/** The spec's JSON value when the text parses (the sliders edit it), else undefined. */
const specJson = (): unknown => {
  try {
    return JSON.parse(spec.text())
  } catch {
    return undefined
  }
}

interface Slider {
  readonly input: HTMLInputElement
  readonly output: HTMLOutputElement
  /** The knob the slider's range was made for (its default value); undefined: disabled. */
  base: Knob | undefined
}
const sliders: Record<'eps' | 'alpha', Slider> = {
  eps: { input: $<HTMLInputElement>('eps'), output: $<HTMLOutputElement>('eps-value'), base: undefined },
  alpha: { input: $<HTMLInputElement>('alpha'), output: $<HTMLOutputElement>('alpha-value'), base: undefined },
}

/** Fits the sliders to the spec: `reset` makes new ranges around its numbers (a newly loaded attack). */
const syncSliders = (reset: boolean) => {
  const json = specJson()
  const knobs = json === undefined ? {} : knobsOf(json)
  for (const name of ['eps', 'alpha'] as const) {
    const s = sliders[name]
    const knob = knobs[name]
    if (knob === undefined) {
      s.base = undefined
      s.input.disabled = true
      s.output.textContent = json === undefined ? '(the spec is not JSON)' : '(none in this attack)'
      continue
    }
    const fits = s.base !== undefined && s.base.kind === knob.kind && (() => {
      const { min, max } = rangeOf(s.base)
      return knob.value >= min && knob.value <= max
    })()
    if (reset || !fits) s.base = knob
    s.input.disabled = false
    s.input.min = '1'
    s.input.max = String(SLIDER_STEPS)
    s.input.step = '1'
    s.input.value = String(positionOf(s.base!, knob.value))
    s.output.textContent = showKnob(knob, knob.value)
  }
}

for (const name of ['eps', 'alpha'] as const) {
  sliders[name].input.addEventListener('input', () => {
    const s = sliders[name]
    const json = specJson()
    const knob = json === undefined ? undefined : knobsOf(json)[name]
    if (!s.base || !knob) return
    const value = valueAt(s.base, Number(s.input.value))
    spec.setText(JSON.stringify(withKnob(json, knob, value), null, 2))
    s.output.textContent = showKnob(knob, value)
    attackSelect.value = 'custom'
    current()
    shareState()
  })
}

/** The location hash follows the spec and the clips (replaceState: no history entry per keystroke). */
const shareState = () => history.replaceState(null, '', `${location.pathname}${location.search}${toHash({ spec: spec.text(), clips: chosenClips() })}`)

const loadBuiltIn = (name: string) => {
  const attack = make(name)
  if (!attack) return
  attackSelect.value = name
  spec.setText(JSON.stringify(encodeAttack(attack), null, 2))
  current()
  syncSliders(true)
  shareState()
}

attackSelect.addEventListener('change', () => loadBuiltIn(attackSelect.value))
$('spec').addEventListener('input', () => {
  attackSelect.value = 'custom'
  current()
  syncSliders(false)
  shareState()
})

$('download').addEventListener('click', () => {
  const json = specJson()
  const blob = new Blob([json === undefined ? spec.text() : `${JSON.stringify(json, null, 2)}\n`], { type: 'application/json' })
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: downloadName(json) })
  a.click()
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
})
$('share').addEventListener('click', () => {
  shareState()
  const link = $<HTMLInputElement>('link')
  link.value = location.href
  link.hidden = false
  link.select()
  void navigator.clipboard?.writeText(location.href).then(
    () => ($('share').textContent = 'link copied'),
    () => ($('share').textContent = 'copy the link below'),
  )
})

// the state on load: a shared spec in the hash, else ?attack=, else Mult-L∞
const shared = fromHash(location.hash, CLIP_COUNT)
const clipsParam = (params.get('clips') ?? params.get('clip') ?? '').split(',').filter((s) => /^\d+$/.test(s)).map(Number).filter((n) => n < CLIP_COUNT)
chooseClips(shared.clips ?? (clipsParam.length > 0 ? clipsParam : [0]))
if (shared.spec !== undefined) {
  const json = (() => {
    try {
      return JSON.stringify(JSON.parse(shared.spec), null, 2)
    } catch {
      return shared.spec
    }
  })()
  spec.setText(json)
  const named = specJson() as { name?: unknown } | undefined
  attackSelect.value = typeof named?.name === 'string' && make(named.name) !== undefined && JSON.stringify(encodeAttack(make(named.name)!)) === JSON.stringify(JSON.parse(shared.spec)) ? named.name : 'custom'
  current()
  syncSliders(true)
} else loadBuiltIn(make(params.get('attack') ?? '') ? params.get('attack')! : 'mult-linf')

// ------------------------------------------------------------------------------------------------
// running
// ------------------------------------------------------------------------------------------------

/** The model, built once per backend (its weights live on that backend). */
let loaded: { readonly backend: BrowserBackendName; readonly net: { readonly model: Parameters<typeof runAttack>[1]; readonly dispose: () => void }; readonly about: string } | undefined

const modelOn = async (backend: BrowserBackendName) => {
  if (loaded?.backend === backend) return loaded
  loaded?.net.dispose()
  loaded = undefined
  if (small) {
    const net = models.r3d18({ layout: 'torchvision', classes: 6, widths: [4, 4, 8, 8], seed: 0 })
    return (loaded = { backend, net, about: 'a seeded random 3D ResNet-18 (widths 4-4-8-8; small=1): its predictions are arbitrary' })
  }
  const net = await models.pretrained('default', { url: new URL('./models/default/', location.href).href })
  const clip = net.info['clip'] as { T?: number; H?: number; W?: number } | undefined
  if (clip?.T !== CLIP.T || clip.H !== CLIP.H || clip.W !== CLIP.W) {
    net.dispose()
    throw new Error(`the default model takes ${JSON.stringify(clip)} clips, the playground ${JSON.stringify(CLIP)}`)
  }
  const accuracy = typeof net.info['testAccuracy'] === 'number' ? `, test accuracy ${(100 * net.info['testAccuracy']).toFixed(1)}%` : ''
  return (loaded = { backend, net, about: `the default model: a 3D ResNet-18 (widths 8-16-32-64) trained on the benchmark${accuracy}` })
}

/** One frame [H, W, 3] of `values` from `offset`, as `bias + gain·v`, drawn on a canvas. */
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

const cell = (text: string, value?: number) => {
  const td = document.createElement('td')
  td.textContent = text
  if (value !== undefined) td.dataset['value'] = String(value)
  return td
}

const render = (shown: Shown, clean: Float32Array, adversarial: Float32Array) => {
  const table = document.createElement('table')
  const head = table.insertRow()
  for (const h of ['clip', 'true', 'clean →', 'adversarial', 'success', '‖δ‖∞', '‖δ‖₂', 'ratio']) head.append(Object.assign(document.createElement('th'), { textContent: h }))
  for (const c of shown.clips) {
    const row = table.insertRow()
    row.dataset['clip'] = String(c.clip)
    row.append(cell(String(c.clip)), cell(c.label), cell(c.clean), cell(c.adversarial), cell(c.success ? 'yes' : 'no'), cell(c.linf.toFixed(5), c.linf), cell(c.l2.toFixed(4), c.l2), cell(c.ratio.toFixed(5), c.ratio))
  }
  $('report').replaceChildren(table)
  $('verify').textContent =
    shown.violations.length === 0 ? 'verify: the output meets every bound of the certificate' : `verify: ${shown.violations.length} bound(s) violated: ${shown.violations.join('; ')}`
  $('verify').dataset['ok'] = String(shown.violations.length === 0)
  const frames = $('frames')
  frames.replaceChildren()
  const difference = adversarial.map((v, i) => v - clean[i]!)
  shown.clips.forEach((c, k) => {
    const block = document.createElement('div')
    block.className = 'clip-frames'
    block.append(Object.assign(document.createElement('h3'), { textContent: `clip ${c.clip} (${c.label}): clean → ${c.clean}, adversarial → ${c.adversarial}${c.success ? ' (fooled)' : ''}` }))
    for (const [label, values, gain, bias] of [[`clean: ${c.clean}`, clean, 1, 0], [`adversarial: ${c.adversarial}`, adversarial, 1, 0], ['difference ×15', difference, 15, 0.5]] as const) {
      const row = document.createElement('div')
      row.append(Object.assign(document.createElement('span'), { textContent: label }))
      for (let t = 0; t < CLIP.T; t++) row.append(draw(values, k * CLIP_SIZE + t * CLIP.H * CLIP.W * 3, gain, bias))
      block.append(row)
    }
    frames.append(block)
  })
}

const run = async () => {
  const attack = current()
  if (!attack) return setStatus('error', 'the spec has problems (marked in it and listed under it)')
  const clips = chosenClips()
  if (clips.length === 0) return setStatus('error', 'choose at least one clip')
  runButton.disabled = true
  progress.value = 0
  try {
    setStatus('running', 'starting a backend…')
    const backend = await initBackend(backendSelect.value as BrowserBackendChoice, { wasmPaths: new URL('./', location.href).href })
    $('backend-shown').textContent = `backend: ${backend}${backendSelect.value === 'auto' ? ' (the best this browser has)' : ''}`
    setStatus('running', `${backend}: loading the model…`)
    const { net, about } = await modelOn(backend)
    $('model-shown').textContent = about
    const before = tf.memory().numTensors
    const clean = new Float32Array(clips.length * CLIP_SIZE)
    clips.forEach((n, k) => clean.set(bench.clips.data.subarray(n * CLIP_SIZE, (n + 1) * CLIP_SIZE), k * CLIP_SIZE))
    const shape = [clips.length, CLIP.T, CLIP.H, CLIP.W, 3] as const
    const x = tf.tensor5d(clean, [...shape])
    const started = performance.now()
    setStatus('running', `${backend}: step 0 of ${attack.steps * attack.restarts}`)
    let result
    try {
      result = await runAttack(attack, net.model, x, clips.map((n) => bench.labels[n]!), {
        onStep: ({ step, steps }) => {
          progress.value = step / steps
          setStatus('running', `${backend}: step ${step} of ${steps}`)
        },
      })
    } finally {
      x.dispose()
    }
    const adversarial = (await result.adversarial.data()) as Float32Array
    result.adversarial.dispose()
    const seconds = (performance.now() - started) / 1000
    const violations = verify(result.certificate, { shape, data: clean }, { shape, data: adversarial }).map((v) => v.message)
    const s = result.sanity
    const name = (k: number) => bench.classes[k] ?? String(k)
    const shown: Shown = {
      backend,
      seconds,
      violations,
      tensorsLeft: tf.memory().numTensors - before,
      clips: clips.map((n, k) => ({
        clip: n,
        label: name(bench.labels[n]!),
        clean: name(result.cleanPredictions[k]!),
        adversarial: name(result.predictions[k]!),
        success: result.success[k]!,
        linf: s.linf[k]!,
        l2: s.l2[k]!,
        ratio: s.ratioLinf[k]!,
      })),
    }
    ;(globalThis as { multavPlayground?: Shown }).multavPlayground = shown
    render(shown, clean, adversarial)
    progress.value = 1
    setStatus('done', `done on ${backend}: ${clips.length} clip${clips.length > 1 ? 's' : ''}, ${attack.steps * attack.restarts} steps in ${seconds.toFixed(2)} s`)
  } catch (e) {
    setStatus('error', (e as Error).message)
  } finally {
    runButton.disabled = false
  }
}
runButton.addEventListener('click', () => void run())
if (params.get('autorun') === '1') void run()
