/**
 * `multav list`: what there is to choose from. The built-in attacks (each with the first line of its
 * formula), the regions a spec can mask with (a table over every Region tag, so a new region is a
 * compile error here until it is described), and the shipped models (from their model.json).
 */
import { BUILT_IN, PORTED } from '../dsl/attacks.js'
import type { Attack, Region } from '../dsl/types.js'
import { TAGS } from '../dsl/match.js'
import { explain } from '../interpreters/pretty.js'
import { PRETRAINED, pretrainedDir } from '../models/pretrained.js'
import { readManifest } from '../models/weights.js'
import { defineCommand, optionalChoice } from './command.js'
import { boolean } from './options.js'

/** A region kind: its fields in a spec and what it selects. */
interface RegionHelp {
  readonly fields: string
  readonly text: string
}

/** One entry per Region tag (a missing one does not compile). */
const REGION_HELP: { readonly [K in Region['_tag']]: RegionHelp } = {
  Frames: { fields: 'indices', text: 'whole frames, by 0-based index' },
  Box: { fields: 'top, left, height, width', text: 'a fixed rectangle on every frame' },
  Rect: { fields: 'height, width, placement', text: "a rectangle at a random position, on each frame ('perFrame', ROA) or one for all ('shared')" },
  SearchedRect: { fields: 'height, width, search, scope, stride, topK, fill', text: 'the rectangle where a grey patch hurts the model most (exhaustive or gradient-ranked search)' },
  Ring: { fields: 'width', text: 'the border ring of every frame (adversarial framing, AF)' },
  Pixels: { fields: 'perFrame', text: 'random pixels on every frame, with replacement (salt-and-pepper, SPA)' },
  Union: { fields: 'regions', text: 'the pixels in any of the regions' },
  Intersection: { fields: 'regions', text: 'the pixels in all of the regions' },
  Complement: { fields: 'of', text: 'the pixels outside the region' },
}

interface ModelEntry {
  readonly name: string
  readonly folder?: string
  readonly description: string
  readonly config?: Readonly<Record<string, unknown>>
}

const percent = (v: unknown): string => (typeof v === 'number' ? `, test accuracy ${(100 * v).toFixed(1)}%` : '')

/** A shipped model as its model.json describes it (no weights are read). */
const modelEntry = async (name: (typeof PRETRAINED)[number]): Promise<ModelEntry> => {
  try {
    const folder = pretrainedDir(name)
    const config = (await readManifest(folder)).json['config'] as Readonly<Record<string, unknown>> | null
    if (config === null || typeof config !== 'object') return { name, folder, description: 'no config in its model.json' }
    const clip = config['clip'] as { T?: unknown; H?: unknown; W?: unknown } | undefined
    const classes = Array.isArray(config['classes']) ? config['classes'].length : '?'
    const widths = Array.isArray(config['widths']) ? `, widths ${config['widths'].join('-')}` : ''
    const denoise = typeof config['denoise'] === 'string' && config['denoise'] !== 'none' ? `, ${config['denoise']} denoising` : ''
    return {
      name,
      folder,
      description: `3D ResNet-18 (${String(config['layout'])}${widths}${denoise}), ${clip ? `${String(clip.T)}x${String(clip.H)}x${String(clip.W)}` : '?'} clips, ${classes} classes${percent(config['testAccuracy'])}`,
      config,
    }
  } catch (e) {
    return { name, description: `not available: ${(e as Error).message}` }
  }
}

const SECTIONS = ['attacks', 'regions', 'models'] as const
type Section = (typeof SECTIONS)[number]

const column = (rows: ReadonlyArray<readonly [string, string]>): string[] => {
  const width = Math.max(...rows.map(([a]) => a.length)) + 2
  return rows.map(([a, b]) => `  ${a.padEnd(width)}${b}`)
}

export const listCommand = defineCommand({
  name: 'list',
  positionals: optionalChoice(SECTIONS),
  options: { json: boolean({ description: 'print the lists as JSON' }) },
  summary: 'the built-in attacks (with their formulas), the regions a spec can use, and the shipped models',
  details: 'Attacks take overrides on the command line (mult-linf:eps=1.04:steps=10); regions are written in spec files as {"_tag": "Rect", "height": 30, …}; models are chosen with --model NAME.',
  run: async (v, [only], { io }) => {
    const wanted = (s: Section) => only === undefined || only === s
    const entry = (source: 'paper' | 'ported') => ([name, make]: [string, () => Attack]) => ({ name, source, formula: explain(make()).split('\n')[0]! })
    const attacks = [...Object.entries(BUILT_IN).map(entry('paper')), ...Object.entries(PORTED).map(entry('ported'))]
    const regions = TAGS.Region.map((tag) => ({ tag, ...REGION_HELP[tag] }))
    const models = wanted('models') ? await Promise.all(PRETRAINED.map(modelEntry)) : []
    if (v.json) {
      const all = { attacks, regions, models }
      io.log(JSON.stringify(Object.fromEntries(SECTIONS.filter(wanted).map((s) => [s, all[s]])), null, 1))
      return 0
    }
    const blocks: Record<Section, () => string[]> = {
      attacks: () => [
        `attacks (built-in; override fields with name:key=value):`,
        ...column(attacks.filter((a) => a.source === 'paper').map((a) => [a.name, a.formula])),
        `ported (torchattacks' names and defaults):`,
        ...column(attacks.filter((a) => a.source === 'ported').map((a) => [a.name, a.formula])),
      ],
      regions: () => ['regions (in spec files, as {"_tag": …} with these fields):', ...column(regions.map((r) => [r.tag, `{${r.fields}}: ${r.text}`]))],
      models: () => ['models (shipped; --model NAME):', ...column(models.map((m) => [m.name, m.description]))],
    }
    io.log(SECTIONS.filter(wanted).map((s) => blocks[s]().join('\n')).join('\n\n'))
    return 0
  },
})
