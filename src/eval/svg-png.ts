/**
 * SVG → PNG for the pictures multav writes (the budget curve, the labelled sheets' pairs), with
 * @resvg/resvg-wasm: pure wasm, its .wasm read from node_modules (no network), initialised once.
 * wasm sees no system fonts, so the first font file found is handed to it (MULTAV_FONT, then common
 * sans-serif fonts of Linux, macOS and Windows); without one there is no PNG, and a line says why.
 *
 * @since 0.2.0
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'

/** Font files tried in order (after MULTAV_FONT): common sans-serif fonts of Linux, macOS and Windows. */
export const FONT_CANDIDATES: ReadonlyArray<string> = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf',
  '/System/Library/Fonts/Supplemental/Arial.ttf',
  '/Library/Fonts/Arial.ttf',
  'C:\\Windows\\Fonts\\arial.ttf',
]

interface Resvg {
  readonly initWasm: (bytes: Uint8Array) => Promise<void>
  readonly Resvg: new (svg: string, options?: object) => { render(): { asPng(): Uint8Array; width: number; height: number; free(): void }; free(): void }
}

let ready: Promise<Resvg | string> | undefined

/** The renderer, initialised once; a string says why there is none. */
const renderer = (): Promise<Resvg | string> =>
  (ready ??= (async () => {
    let mod: Resvg
    try {
      mod = (await import('@resvg/resvg-wasm')) as unknown as Resvg
    } catch {
      return 'no PNG: the SVG renderer @resvg/resvg-wasm is not installed (npm install @resvg/resvg-wasm); the SVG and CSV hold everything'
    }
    // import.meta.url is empty in the CommonJS bundle, where __filename exists
    const require = createRequire(typeof import.meta?.url === 'string' ? import.meta.url : __filename)
    await mod.initWasm(await readFile(require.resolve('@resvg/resvg-wasm/index_bg.wasm')))
    return mod
  })())

/** The first readable font of `candidates`, with its bold face where one lies beside it (`…-Bold.ttf`). */
const findFont = async (candidates: ReadonlyArray<string>): Promise<Uint8Array[] | undefined> => {
  const read = (file: string) => readFile(file).then((b) => new Uint8Array(b), () => undefined)
  for (const file of candidates) {
    const regular = await read(file)
    if (regular === undefined) continue
    const bold = /\.(ttf|otf)$/i.test(file) ? await read(file.replace(/(-Regular)?\.(ttf|otf)$/i, '-Bold.$2')) : undefined
    return bold === undefined ? [regular] : [regular, bold]
  }
  return undefined
}

/**
 * The SVG as PNG at its own size (white background), or a string saying why not: the renderer is not
 * installed, or no font was found (without one resvg draws no text; set MULTAV_FONT to a .ttf/.otf).
 */
export const svgToPng = async (svg: string, o: { readonly fonts?: ReadonlyArray<string> } = {}): Promise<Buffer | string> => {
  const r = await renderer()
  if (typeof r === 'string') return r
  const env = process.env['MULTAV_FONT']
  const fonts = await findFont(o.fonts ?? [...(env ? [env] : []), ...FONT_CANDIDATES])
  if (fonts === undefined) return `no PNG: no font found (tried ${(o.fonts ?? FONT_CANDIDATES).length} files; set MULTAV_FONT to a .ttf file); the SVG and CSV hold everything`
  const doc = new r.Resvg(svg, { background: 'white', font: { fontBuffers: fonts }, fitTo: { mode: 'original' } })
  try {
    const image = doc.render()
    try {
      return Buffer.from(image.asPng())
    } finally {
      image.free()
    }
  } finally {
    doc.free()
  }
}
