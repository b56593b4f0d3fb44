/**
 * A small WebAssembly SIMD module for an attack step's pointwise work, run on tfjs-backend-wasm's own
 * memory (it imports the backend's `WebAssembly.Memory`, so it reads and writes tensors in place).
 * Six functions over float32 arrays given as byte offsets, 4 values at a time (the caller does the
 * last n mod 4):
 *
 *   ball(v, x, out, n, ε):        out = pmin(pmax(v, x − ε), x + ε)
 *   ratioBall(v, x, out, n, ε):   out = pmin(pmax(v, x / ε), x · ε)
 *   power(v, d, out, n, e⁺, e⁻):  out = v · (d > 0 ? e⁺ : d < 0 ? e⁻ : 1), NaN where d is NaN
 *   sign(v, out, n):              out = v > 0 ? 1 : v < 0 ? −1 : 0, NaN where v is NaN
 *   ratio(v, x, out, n):          out = x > 0 ? v / x : 1
 *   positive(v, x, out, n):       out = x > 0 ? v : 0
 *
 * Why these give tfjs's own values bit for bit: f32x4 add, sub, mul and div are IEEE float32
 * operations, as in tfjs's kernels; pmax(a, b) = (a < b) ? b : a and pmin(a, b) = (b < a) ? b : a
 * are exactly C++'s std::max and std::min, which tfjs-backend-wasm's Maximum and Minimum use (a NaN
 * x' stays NaN). tfjs-backend-wasm 4.22 runs Maximum, Minimum, comparisons, Select and Exp one value
 * at a time (1.2–2.9 ms each on [8, 8, 32, 32, 3], against 0.1 ms for an add).
 *
 * The module is assembled here from its instructions (no build step, ~850 bytes) and instantiated
 * once per backend memory. Where it cannot be (no SIMD, no memory exposed), `simdFor` returns
 * undefined and the kernels do every value in JavaScript (the same values, slower).
 *
 * @since 0.3.0
 */

/** The functions, on byte offsets into the memory, n values (a multiple of 4 is processed). */
export interface Simd {
  readonly ball: (v: number, x: number, out: number, n: number, eps: number) => void
  readonly ratioBall: (v: number, x: number, out: number, n: number, eps: number) => void
  readonly power: (v: number, d: number, out: number, n: number, up: number, down: number) => void
  readonly sign: (v: number, out: number, n: number) => void
  readonly ratio: (v: number, x: number, out: number, n: number) => void
  readonly positive: (v: number, x: number, out: number, n: number) => void
}

// --- encoding ----------------------------------------------------------------------------------
const uleb = (n: number): number[] => {
  const out: number[] = []
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
  return out
}
const sleb = (n: number): number[] => {
  const out: number[] = []
  for (;;) {
    const byte = n & 0x7f
    n >>= 7
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte]
    out.push(byte | 0x80)
  }
}
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))]

const I32 = 0x7f
const F32 = 0x7d
const V128 = 0x7b

// instructions
const get = (i: number) => [0x20, ...uleb(i)]
const set = (i: number) => [0x21, ...uleb(i)]
const i32 = (n: number) => [0x41, ...sleb(n)]
const f32 = (v: number) => [0x43, ...new Uint8Array(Float32Array.of(v).buffer)]
const ADD = [0x6a]
const AND = [0x71]
const SHL = [0x74]
const GE_U = [0x4f]
const simd = (op: number) => [0xfd, ...uleb(op)]
const LOAD = [...simd(0x00), 2, 0] // v128.load, 4-byte alignment hint, offset 0
const STORE = [...simd(0x0b), 2, 0]
const ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)]
const SPLAT = simd(0x13)
const [EQ, LT, GT] = [simd(0x41), simd(0x43), simd(0x44)]
const BITSELECT = simd(0x52) // (a & c) | (b & ~c), operands a, b, c
const [FADD, FSUB, FMUL, FDIV, PMIN, PMAX] = [simd(0xe4), simd(0xe5), simd(0xe6), simd(0xe7), simd(0xea), simd(0xeb)]

/**
 * A function body: `setup`, then for i = 0, 16, … below 4·⌊n/4⌋ bytes, `value(i)` stored at
 * out + i. `n` is parameter `nAt`, `out` parameter `outAt`, i is local `iAt`.
 */
const loopBody = (locals: number[][], o: { nAt: number; outAt: number; iAt: number }, setup: number[], value: number[]): number[] => {
  const { nAt, outAt, iAt } = o
  const code = [
    ...setup,
    ...get(nAt), ...i32(-4), ...AND, ...i32(2), ...SHL, ...set(nAt), // n ← 4·⌊n/4⌋ values, in bytes
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(iAt), ...get(nAt), ...GE_U, 0x0d, 1, // i ≥ n: done
    ...get(outAt), ...get(iAt), ...ADD,
    ...value,
    ...STORE,
    ...get(iAt), ...i32(16), ...ADD, ...set(iAt),
    0x0c, 0, 0x0b, 0x0b, // br loop; end loop; end block
    0x0b,
  ]
  const body = [...vec(locals), ...code]
  return [...uleb(body.length), ...body]
}
const at = (base: number, i: number) => [...get(base), ...get(i), ...ADD, ...LOAD]

// ball and ratio: params v 0, x 1, out 2, n 3, ε 4; locals i 5, ε×4 6
const clamp = (lo: number[], hi: number[]) =>
  loopBody([[1, I32], [1, V128]], { nAt: 3, outAt: 2, iAt: 5 }, [...get(4), ...SPLAT, ...set(6)], [
    ...at(0, 5), ...at(1, 5), ...get(6), ...lo, ...PMAX, // std::max(v, lo)
    ...at(1, 5), ...get(6), ...hi, ...PMIN, // std::min(m, hi)
  ])
// power: params v 0, d 1, out 2, n 3, e⁺ 4, e⁻ 5; locals i 6, e⁺×4 7, e⁻×4 8, 1×4 9, d 10
const power = loopBody(
  [[1, I32], [4, V128]],
  { nAt: 3, outAt: 2, iAt: 6 },
  [...get(4), ...SPLAT, ...set(7), ...get(5), ...SPLAT, ...set(8), ...f32(1), ...SPLAT, ...set(9)],
  [
    ...at(1, 6), ...set(10),
    ...get(7), ...get(8), ...get(9), ...get(10), ...ZERO, ...LT, ...BITSELECT, ...get(10), ...ZERO, ...GT, ...BITSELECT,
    ...get(10), ...get(10), ...get(10), ...EQ, ...BITSELECT, // NaN d: the factor is d itself
    ...at(0, 6), ...FMUL,
  ],
)
// sign: params v 0, out 1, n 2; locals i 3, v 4, 1×4 5, −1×4 6
const sign = loopBody(
  [[1, I32], [3, V128]],
  { nAt: 2, outAt: 1, iAt: 3 },
  [...f32(1), ...SPLAT, ...set(5), ...f32(-1), ...SPLAT, ...set(6)],
  [
    ...at(0, 3), ...set(4),
    ...get(5), ...get(6), ...ZERO, ...get(4), ...ZERO, ...LT, ...BITSELECT, ...get(4), ...ZERO, ...GT, ...BITSELECT,
    ...get(4), ...get(4), ...get(4), ...EQ, ...BITSELECT, // NaN stays NaN
  ],
)

// ratio: params v 0, x 1, out 2, n 3; locals i 4, 1×4 5, x 6
const ratio = loopBody([[1, I32], [2, V128]], { nAt: 3, outAt: 2, iAt: 4 }, [...f32(1), ...SPLAT, ...set(5)], [
  ...at(1, 4), ...set(6),
  ...at(0, 4), ...get(6), ...FDIV, ...get(5), ...get(6), ...ZERO, ...GT, ...BITSELECT,
])
// positive: params v 0, x 1, out 2, n 3; local i 4
const positive = loopBody([[1, I32]], { nAt: 3, outAt: 2, iAt: 4 }, [], [...at(0, 4), ...ZERO, ...at(1, 4), ...ZERO, ...GT, ...BITSELECT])

/** The module's bytes, importing a memory that is shared (the threaded build) or not. */
const moduleBytes = (shared: boolean): Uint8Array => {
  const types = [
    [0x60, ...vec([[I32], [I32], [I32], [I32], [F32]]), 0], // (v, x, out, n, ε)
    [0x60, ...vec([[I32], [I32], [I32], [I32], [F32], [F32]]), 0], // (v, d, out, n, e⁺, e⁻)
    [0x60, ...vec([[I32], [I32], [I32]]), 0], // (v, out, n)
    [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0], // (v, x, out, n)
  ]
  // shared memories must declare a maximum: 65536 pages (4 GiB), the largest a 32-bit memory has
  const limits = shared ? [0x03, 0, ...uleb(65536)] : [0x00, 0]
  const imports = [[...name('env'), ...name('memory'), 0x02, ...limits]]
  const functions = [[0], [0], [1], [2], [3], [3]]
  const exports = ['ball', 'ratioBall', 'power', 'sign', 'ratio', 'positive'].map((n, k) => [...name(n), 0x00, k])
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(functions)),
    ...section(7, vec(exports)),
    ...section(10, [...uleb(6), ...clamp(FSUB, FADD), ...clamp(FDIV, FMUL), ...power, ...sign, ...ratio, ...positive]),
  ])
}

/** A WebAssembly.Memory (the project's lib, ES2022, has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike
}

/** The parts of the WebAssembly API used here. */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown }
}

const instances = new WeakMap<WasmMemory, Simd | null>()

/** The SIMD functions on `memory`, or undefined where they cannot be instantiated. */
export const simdFor = (memory: WasmMemory | undefined): Simd | undefined => {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly
  if (memory === undefined || api === undefined) return undefined
  let simdOf = instances.get(memory)
  if (simdOf === undefined) {
    try {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer
      // a module this small may be compiled synchronously, in a browser's main thread too
      const instance = new api.Instance(new api.Module(moduleBytes(shared)), { env: { memory } })
      simdOf = instance.exports as unknown as Simd
    } catch {
      simdOf = null
    }
    instances.set(memory, simdOf)
  }
  return simdOf ?? undefined
}
