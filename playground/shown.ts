/**
 * What a playground run shows, also set on `globalThis.multavPlayground` after each run (the browser
 * tests read it; so can a curious user, in the console).
 */

export interface ShownClip {
  /** The benchmark test clip's index. */
  readonly clip: number
  /** Its true class, and the model's class on the clean and the adversarial clip (names). */
  readonly label: string
  readonly clean: string
  readonly adversarial: string
  readonly success: boolean
  /** ‖x' − x‖∞, ‖x' − x‖₂, and max over x > 0 of max(x'/x, x/x'). */
  readonly linf: number
  readonly l2: number
  readonly ratio: number
}

export interface Shown {
  readonly backend: 'webgpu' | 'webgl' | 'wasm' | 'cpu'
  readonly seconds: number
  readonly clips: ReadonlyArray<ShownClip>
  /** `verify`'s messages: empty when the output meets every bound of the certificate. */
  readonly violations: ReadonlyArray<string>
  /** Tensors left after the run beyond those before it (the model's weights are kept): 0. */
  readonly tensorsLeft: number
}
