/**
 * The README's picture of the playground (docs/pictures/playground.png): the page built and served
 * here, opened in headless Chromium, Mult-L∞ at its defaults run on the default model on webgl on two
 * benchmark test clips (1 and 3, both fooled), and the page captured once the run is done.
 *
 *   node --import tsx scripts/playground-screenshot.ts [out.png]     (needs /usr/bin/chromium or MULTAV_CHROMIUM)
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import writeFileAtomic from 'write-file-atomic'
import { buildWeb } from '../playground/build.mjs'
import { serveStatic } from '../src/cli/playground.js'

const out = process.argv[2] ?? 'docs/pictures/playground.png'
const CHROMIUM = process.env['MULTAV_CHROMIUM'] ?? '/usr/bin/chromium'

const site = await mkdtemp(join(tmpdir(), 'multav-screenshot-'))
try {
  await buildWeb(site, {}, { sourcemap: false })
  const serving = await serveStatic({ mounts: [{ prefix: '/', dir: site }], port: 0 })
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
  try {
    const page = await browser.newPage({ viewport: { width: 1240, height: 900 }, deviceScaleFactor: 1 })
    const problems: string[] = []
    page.on('console', (m) => void (m.type() === 'error' || m.type() === 'warning' ? problems.push(m.text()) : undefined))
    page.on('pageerror', (e) => problems.push(e.message))
    await page.goto(`${serving.url}?backend=webgl&autorun=1#clips=1,3`)
    await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]', { timeout: 300_000 })
    const status = await page.$eval('#status', (e) => (e as unknown as { textContent: string }).textContent)
    if ((await page.$eval('#status', (e) => (e as unknown as { dataset: { state: string } }).dataset.state)) !== 'done') throw new Error(`the run failed: ${status}`)
    if (problems.length > 0) throw new Error(`the console tells of problems:\n${problems.join('\n')}`)
    await writeFileAtomic(out, await page.screenshot({ fullPage: true, type: 'png' }))
    console.log(`${out}: ${status}`)
  } finally {
    await browser.close()
    await serving.close()
  }
} finally {
  await rm(site, { recursive: true, force: true })
}
