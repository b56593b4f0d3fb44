/**
 * WebGPU in Node through Dawn's binding, the optional peer `webgpu` (dawn-gpu/node-webgpu, which
 * ships prebuilt binaries for Linux, macOS and Windows in its npm package): where no `navigator.gpu`
 * exists and that package is installed, its WebGPU globals and `navigator.gpu` are set up so that
 * tfjs-backend-webgpu can start. Whether an adapter exists is Dawn's to say (it needs a Vulkan, Metal
 * or D3D12 device; a machine without a GPU driver has none), and gpu.ts reports it.
 *
 * @since 0.3.0
 */

/** What `import('webgpu')` gives (the parts used here). */
interface DawnBinding {
  readonly create: (flags: ReadonlyArray<string>) => unknown
  readonly globals: Readonly<Record<string, unknown>>
}

export type NodeWebGpu = 'present' | 'installed' | 'absent'

/**
 * Sets `navigator.gpu` from the `webgpu` package when there is none: 'present' (there was one
 * already), 'installed' (set up from the package), 'absent' (the package is not installed). A
 * package that is installed but fails to load throws with its reason.
 */
export const installNodeWebGpu = async (): Promise<NodeWebGpu> => {
  const g = globalThis as { navigator?: { gpu?: unknown } }
  if (g.navigator?.gpu !== undefined) return 'present'
  let dawn: DawnBinding
  try {
    // a name in a variable: bundlers leave the optional package alone
    const name = 'webgpu'
    dawn = (await import(name)) as DawnBinding
  } catch (e) {
    if (['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes(String((e as NodeJS.ErrnoException).code))) return 'absent'
    throw new Error(`the webgpu package (Dawn's Node binding) did not load: ${(e as Error).message.split('\n')[0]}`)
  }
  Object.assign(globalThis, dawn.globals)
  const gpu = dawn.create([])
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true })
  else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true })
  return 'installed'
}
