/**
 * PyTorch weights into multav's 3D ResNet-18: a state dict saved as safetensors (the script below
 * writes one) loads into `r3d18(config)` for either layout. Conv kernels go from PyTorch's
 * [Cout, Cin, kd, kh, kw] to [kd, kh, kw, Cin, Cout], FC weights from [K, C] to [C, K]; BN tensors
 * keep their shape; `num_batches_tracked` is ignored. Every tensor is checked (present, expected,
 * right shape, finite) before the model is even built: a wrong file never leaves a half-loaded model.
 *
 * Export from PyTorch with the script multav ships (`python/export_safetensors.py`, in the package at
 * `node_modules/multav/python/`; it needs only PyTorch and torchvision, e.g. Debian's
 * python3-torch and python3-torchvision: it writes the safetensors format itself, so the `safetensors`
 * package is not needed); `num_batches_tracked` is left out:
 * ```sh
 * python3 python/export_safetensors.py --arch r3d_18 --weights checkpoint.pth --out r3d18.safetensors
 * ```
 * (`--classes K` when the checkpoint does not say; without `--weights`, torchvision's random
 * initialisation). From Python code: `from export_safetensors import save_safetensors;
 * save_safetensors(model.state_dict(), "r3d18.safetensors")`. `multav import r3d18.safetensors --arch
 * r3d18 --clip 16x112x112 --mean … --std … --out DIR` makes a model folder of it (docs/models.md).
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { r3d18, r3dShapes, type R3dConfig, type VideoModel } from './r3d.js'
import { readSafetensors, type RawTensor } from './safetensors.js'
import { nameOf } from './weights.js'
import { InputError } from '../core/errors.js'

/** PyTorch's shape of a weight given multav's. */
const torchShape = (name: string, shape: ReadonlyArray<number>): number[] =>
  shape.length === 5 ? [shape[4]!, shape[3]!, shape[0]!, shape[1]!, shape[2]!] : name === 'fc.weight' ? [shape[1]!, shape[0]!] : [...shape]

/** multav's layout of a PyTorch tensor (a transpose for conv and FC weights). */
const toMultav = (name: string, raw: RawTensor): tf.Tensor =>
  tf.tidy(() => {
    const t = tf.tensor(raw.data, [...raw.shape])
    return raw.shape.length === 5 ? tf.transpose(t, [2, 3, 4, 1, 0]) : name === 'fc.weight' ? tf.transpose(t) : t
  })

/**
 * A 3D ResNet-18 of `config` with the weights of a PyTorch state dict saved as safetensors. Tensor names
 * from the file are looked up as own keys only (`toString` or `__proto__` is an unexpected name), and
 * every value assigned must be finite.
 */
export const loadSafetensors = async (file: string, config: R3dConfig): Promise<VideoModel> => {
  const raw = await readSafetensors(file)
  const shapes = new Map(Object.entries(r3dShapes(config)))
  const unexpected = [...raw.keys()].filter((n) => !shapes.has(n) && !n.endsWith('num_batches_tracked'))
  if (unexpected.length > 0)
    throw new InputError(`${file}: ${unexpected.slice(0, 3).map(nameOf).join(', ')}${unexpected.length > 3 ? ` and ${unexpected.length - 3} more` : ''} not in a ${config.layout} 3D ResNet-18 (wrong layout?)`)
  for (const [name, shape] of shapes) {
    const t = raw.get(name)
    const expected = torchShape(name, shape)
    if (t === undefined) throw new InputError(`${file}: missing tensor ${name} (PyTorch shape [${expected.join(', ')}])`)
    if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i]))
      throw new InputError(`${file}: tensor ${name} has shape [${t.shape.join(', ')}], expected [${expected.join(', ')}] for ${config.classes} classes and widths ${config.widths ?? [64, 128, 256, 512]}`)
    const bad = t.data.findIndex((v) => !Number.isFinite(v))
    if (bad >= 0) throw new InputError(`${file}: tensor ${name} holds ${t.data[bad]} at element ${bad} (weights must be finite)`)
  }
  const model = r3d18(config)
  try {
    const all = new Map(Object.entries({ ...model.variables, ...model.state }))
    for (const name of shapes.keys()) {
      const value = toMultav(name, raw.get(name)!)
      all.get(name)!.assign(value)
      value.dispose()
    }
    return model
  } catch (e) {
    model.dispose()
    throw e
  }
}
