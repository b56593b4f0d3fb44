/**
 * Choosing the TensorFlow.js backend is the application's call: importing multav selects nothing.
 *
 * Preference for 'auto': 'tensorflow' (@tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node, when
 * installed; optional peer dependencies), then 'wasm' (SIMD, single-threaded in Node), then 'cpu'.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'

export type BackendName = 'tensorflow' | 'wasm' | 'cpu'
export type BackendChoice = 'auto' | BackendName

export const BACKEND_CHOICES: ReadonlyArray<BackendChoice> = ['auto', 'tensorflow', 'wasm', 'cpu']

/** Registers a backend's kernels (dynamic imports, so a missing optional package is not an error here). */
const loaders: Record<BackendName, () => Promise<void>> = {
  tensorflow: async () => {
    if (tf.findBackendFactory('tensorflow')) return
    const errors: string[] = []
    for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await import(name)
        return
      } catch (e) {
        errors.push(`${name}: ${(e as Error).message.split('\n')[0]}`)
      }
    }
    throw new Error(
      `backend 'tensorflow' is not available (install @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node 4.22.0):\n  ${errors.join('\n  ')}`,
    )
  },
  wasm: async () => {
    await import('@tensorflow/tfjs-backend-wasm')
  },
  cpu: async () => {
    await import('@tensorflow/tfjs-backend-cpu')
  },
}

/**
 * Registers and selects a backend; resolves to the name of the one in use.
 * 'auto' tries tensorflow → wasm → cpu and takes the first that initialises.
 * Honours `MULTAV_BACKEND` when `choice` is omitted.
 */
export const initBackend = async (choice?: BackendChoice): Promise<BackendName> => {
  const wanted = choice ?? parseChoice(process.env['MULTAV_BACKEND'])
  const order: ReadonlyArray<BackendName> = wanted === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [wanted]
  const failures: string[] = []
  for (const name of order) {
    try {
      await loaders[name]()
      if (await tf.setBackend(name)) {
        await tf.ready()
        return name
      }
      failures.push(`${name}: failed to initialise`)
    } catch (e) {
      failures.push((e as Error).message)
    }
  }
  throw new Error(`initBackend(${wanted}): no backend could be initialised:\n  ${failures.join('\n  ')}`)
}

const parseChoice = (value: string | undefined): BackendChoice => {
  if (value === undefined || value === '') return 'auto'
  if ((BACKEND_CHOICES as ReadonlyArray<string>).includes(value)) return value as BackendChoice
  throw new Error(`MULTAV_BACKEND must be one of ${BACKEND_CHOICES.join(', ')}, got "${value}"`)
}
