/**
 * Where a pool's worker module is: `<name>.ts` beside the eval modules under tsx, `<bundled>.js`
 * beside the bundle in the built package (build.mjs writes both workers into dist/).
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const workerFile = (source: string, bundled: string): string => {
  const here = typeof import.meta?.url === 'string' ? fileURLToPath(import.meta.url) : __filename
  return join(dirname(here), here.endsWith('.ts') ? `${source}.ts` : `${bundled}.js`)
}
