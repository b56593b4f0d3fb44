/**
 * README.md's "Attack your own PyTorch model" runs as written: its python block (torchvision's
 * r2plus1d_18 exported with torch.onnx.export) runs with /usr/bin/python3 in a temporary folder, then
 * its TypeScript block runs there (its `// needs: …` first line dropped; `multav` resolved to src/
 * through tsconfig.json's `paths`, as test/snippets.test.ts runs the docs' blocks), and what it
 * prints is checked: classes of a 400-class model, success exactly when the class changed, and the
 * Mult-L∞ ratio bound kept (≤ 1.04) while the clip moved. Needs torch and torchvision (CI installs Debian's); skipped, saying so, without them.
 */
import test from 'ava'
import { execFile, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const SECTION = '## Attack your own PyTorch model'

const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0)
const required = process.env['CI'] !== undefined
const withTorch = python !== undefined || required ? test.serial : test.serial.skip
if (python === undefined && !required) console.log('readme-pytorch.test.ts: /usr/bin/python3 has no torch/torchvision: the README PyTorch example is not run')

/** The fenced blocks of `lang` in README.md's section `SECTION` (up to the next `## ` heading). */
const blocksOf = (readme: string, lang: string): string[] => {
  const start = readme.indexOf(`\n${SECTION}\n`)
  if (start < 0) return []
  const rest = readme.slice(start + SECTION.length + 2)
  const end = rest.search(/^## /m)
  const lines = (end < 0 ? rest : rest.slice(0, end)).split('\n')
  const out: string[] = []
  for (let k = 0; k < lines.length; k++) {
    if (lines[k]!.trim() !== '```' + lang) continue
    const close = lines.findIndex((l, j) => j > k && l.trim() === '```')
    out.push(lines.slice(k + 1, close).join('\n'))
    k = close
  }
  return out
}

test('the README section has one python and one TypeScript block', async (t) => {
  const readme = await readFile('README.md', 'utf8')
  t.is(blocksOf(readme, 'python').length, 1)
  const ts = blocksOf(readme, 'ts')
  t.is(ts.length, 1)
  // type-checked (not run) by test/snippets.test.ts; run here
  t.regex(ts[0]!, /^\/\/ needs: /)
  t.regex(ts[0]!, /models\.loadOnnx\(/)
  t.regex(ts[0]!, /attacks\.multLinf\(/)
})

withTorch("the README's PyTorch export and Mult-L∞ attack run as written", async (t) => {
  const readme = await readFile('README.md', 'utf8')
  const [py] = blocksOf(readme, 'python')
  const [ts] = blocksOf(readme, 'ts')
  const dir = await mkdtemp(join(tmpdir(), 'multav-readme-pytorch-'))
  try {
    await writeFile(join(dir, 'export.py'), py!)
    let start = Date.now()
    await run(python ?? '/usr/bin/python3', ['export.py'], { cwd: dir, timeout: 300_000 })
    const exportMs = Date.now() - start
    // the `// needs:` line says what the block needs; everything else runs as written, in an ES module
    // project (top-level await)
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }))
    await writeFile(join(dir, 'attack.ts'), `${ts!.replace(/^\/\/ needs: .*\n/, '')}\n`)
    start = Date.now()
    const { stdout } = await run(process.execPath, ['--import', pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href, 'attack.ts'], {
      cwd: dir,
      timeout: 300_000,
      // `multav` → src/index.ts through tsconfig.json's paths
      env: { ...process.env, TSX_TSCONFIG_PATH: resolve('tsconfig.json') },
    })
    const attackMs = Date.now() - start
    t.log(`export ${exportMs} ms, attack ${attackMs} ms: ${stdout.trim()}`)
    const m = /class \[ (\d+) \] -> \[ (\d+) \] success \[ (true|false) \] max ratio ([\d.e+-]+)/.exec(stdout)
    t.truthy(m, `unexpected output: ${stdout}`)
    const [clean, adversarial, success, ratio] = [Number(m![1]), Number(m![2]), m![3] === 'true', Number(m![4])]
    for (const c of [clean, adversarial]) t.true(Number.isInteger(c) && c >= 0 && c < 400, `class ${c} of 400`)
    // untargeted against the model's own clean class: success means the class changed
    t.is(success, adversarial !== clean)
    t.true(ratio <= 1.04 * (1 + 1e-6), `max ratio ${ratio} within Mult-L∞'s bound 1.04`)
    t.true(ratio > 1.001, `the attack moved the clip (max ratio ${ratio})`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
