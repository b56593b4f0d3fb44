/**
 * Rank-5 workarounds for TensorFlow.js 4.22's GPU backends, as kernel wrappers.
 *
 * tfjs-backend-webgl and tfjs-backend-webgpu 4.22 lack rank-5 support in a few kernels, and a video
 * model lives in rank 5 ([N, T, H, W, C]):
 *
 * - `PadV2` fails to compile its shader on WebGL (throws) and on WebGPU (the shader fails and the
 *   result is silently all zeros);
 * - broadcasting binary ops (`Multiply`, `Add`, …) on WebGPU fail to compile and silently return zeros;
 * - `Select` (`tf.where`) throws "Where for rank 5 is not yet supported" on both;
 * - `Tile` (`tf.broadcastTo`, reached from a broadcasting `tf.where`) falls back to a synchronous CPU
 *   read on WebGPU, which a GPU-resident tensor cannot do.
 *
 * Each wrapper replaces the backend's kernel by one that folds its rank-≥5 arguments to rank ≤ 4
 * (reshapes, which are free or cheap on both backends), calls the backend's own kernel on the folded
 * view, and reshapes the result back (a broadcast that folds to no rank ≤ 4 goes one slab of its
 * first axis at a time, through the backend's rank-5 Slice and Concat, which are right). The folding is exact (the same elements in the same order), so
 * results are the backend kernel's own. Kernels of other backends (cpu, wasm, tensorflow) are never
 * touched, and gradients are unchanged (they are registered per kernel name, not per backend).
 * Doing this at the kernel level covers every caller — multav's conv3d and tensor interpreter, the
 * 3D ResNet's batch norm, tfjs-layers, and a user's own model — where a fix at each call site would
 * miss the ones multav does not own.
 *
 * @since 0.3.0
 */
import * as tf from '@tensorflow/tfjs-core'
import { replaceKernel } from './replace-kernel.js'

type Info = tf.TensorInfo
type Attrs = tf.NamedAttrMap
type KernelFunc = tf.KernelConfig['kernelFunc']
/** WebGL has disposeIntermediateTensorInfo; WebGPU disposeData (both drop one reference). */
interface Backend {
  disposeIntermediateTensorInfo?(info: Info): void
  disposeData?(dataId: object): boolean
}
const release = (backend: Backend, info: Info): void => {
  if (backend.disposeIntermediateTensorInfo) backend.disposeIntermediateTensorInfo(info)
  else backend.disposeData?.(info.dataId)
}

/** The binary kernels whose broadcasting is broken at rank 5 on WebGPU. */
const BINARY = [
  'Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference', 'FloorDiv', 'Mod', 'Atan2',
  'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr',
] as const

/** The kernels each backend gets wrapped. */
export const RANK5_KERNELS: Readonly<Record<'webgl' | 'webgpu', ReadonlyArray<string>>> = {
  webgl: ['PadV2', 'Select', 'Tile'],
  webgpu: ['PadV2', 'Select', 'Tile', ...BINARY],
}

const MAX_RANK = 4
const product = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a * b, 1)

// -------------------------------------------------------------------------------------------------
// the folds (pure shape arithmetic; exported for the Node tests)
// -------------------------------------------------------------------------------------------------

/**
 * `shape` padded by `paddings`, as a view of rank ≤ its own: a dimension without padding merges into
 * the one before it (an outer dimension padded by p rows of b elements is the merged dimension
 * padded by p·b). Returns the folded shape and paddings.
 */
export const foldPad = (
  shape: ReadonlyArray<number>,
  paddings: ReadonlyArray<readonly [number, number]>,
): { shape: number[]; paddings: Array<[number, number]> } => {
  const groups: Array<{ size: number; outer: readonly [number, number]; inner: number }> = []
  shape.forEach((n, i) => {
    const p = paddings[i]!
    const last = groups[groups.length - 1]
    if (last !== undefined && p[0] === 0 && p[1] === 0) {
      last.size *= n
      last.inner *= n
    } else groups.push({ size: n, outer: p, inner: 1 })
  })
  return { shape: groups.map((g) => g.size), paddings: groups.map((g) => [g.outer[0] * g.inner, g.outer[1] * g.inner]) }
}

/**
 * Two shapes broadcast together, as views of rank ≤ theirs: dimensions of output size 1 are dropped
 * and neighbours that broadcast alike (both full, or the same one of size 1) merge.
 */
export const foldBroadcast = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): { a: number[]; b: number[]; out: number[] } => {
  const rank = Math.max(a.length, b.length)
  const pa = [...Array<number>(rank - a.length).fill(1), ...a]
  const pb = [...Array<number>(rank - b.length).fill(1), ...b]
  const fa: number[] = []
  const fb: number[] = []
  let previous = ''
  for (let i = 0; i < rank; i++) {
    const out = Math.max(pa[i]!, pb[i]!)
    if (out === 1) continue
    const kind = `${pa[i] === out ? 'f' : '1'}${pb[i] === out ? 'f' : '1'}`
    if (kind === previous) {
      fa[fa.length - 1]! *= pa[i]!
      fb[fb.length - 1]! *= pb[i]!
    } else {
      fa.push(pa[i]!)
      fb.push(pb[i]!)
    }
    previous = kind
  }
  if (fa.length === 0) return { a: [1], b: [1], out: [1] }
  return { a: fa, b: fb, out: fa.map((v, i) => Math.max(v, fb[i]!)) }
}

/**
 * `shape` tiled by `reps`, folded: a dimension with one repetition merges into the one before it, and
 * so does a dimension of size 1 after a group of size 1 (copies of one value: the repetitions multiply).
 */
export const foldTile = (shape: ReadonlyArray<number>, reps: ReadonlyArray<number>): { shape: number[]; reps: number[] } => {
  const s: number[] = []
  const r: number[] = []
  shape.forEach((n, i) => {
    const last = s.length - 1
    if (last >= 0 && (reps[i] === 1 || (s[last] === 1 && n === 1))) {
      s[last]! *= n
      r[last]! *= reps[i]!
    } else {
      s.push(n)
      r.push(reps[i]!)
    }
  })
  return { shape: s, reps: r }
}

/** The broadcast shape of two shapes (as tfjs computes it). */
const broadcastShape = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number[] => {
  const rank = Math.max(a.length, b.length)
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1
    const y = b[b.length - rank + i] ?? 1
    return x === 1 ? y : x
  })
}

// -------------------------------------------------------------------------------------------------
// the wrappers
// -------------------------------------------------------------------------------------------------

/** What a wrapper needs: the original kernel, the backend's reshape, slice and concat, and the backend. */
interface Tools {
  readonly original: KernelFunc
  readonly reshape: (x: Info, shape: ReadonlyArray<number>, backend: Backend) => Info
  /** x[begin : begin + size] (the backend's Slice: correct at rank 5 on both backends, docs/browser.md). */
  readonly slice: (x: Info, begin: ReadonlyArray<number>, size: ReadonlyArray<number>, backend: Backend) => Info
  /** The backend's Concat along `axis`. */
  readonly concat: (xs: ReadonlyArray<Info>, axis: number, backend: Backend) => Info
  readonly name: 'webgl' | 'webgpu'
}

/** Runs `f` on reshaped views and reshapes its result to `outShape`, disposing the intermediates. */
const viaViews = (
  t: Tools,
  backend: Backend,
  views: ReadonlyArray<readonly [Info, ReadonlyArray<number>]>,
  outShape: ReadonlyArray<number>,
  f: (folded: Info[]) => Info,
): Info => {
  const folded = views.map(([x, shape]) => t.reshape(x, shape, backend))
  try {
    const y = f(folded)
    const out = t.reshape(y, outShape, backend)
    release(backend, y)
    return out
  } finally {
    for (const v of folded) release(backend, v)
  }
}

type Wrapper = (t: Tools) => KernelFunc

const padWrapper: Wrapper = (t) => (args) => {
  const { x } = args.inputs as { x: Info }
  const attrs = args.attrs as unknown as { paddings: Array<[number, number]>; constantValue: number }
  if (x.shape.length <= MAX_RANK) return t.original(args)
  const backend = args.backend as Backend
  const outShape = x.shape.map((n, i) => n + attrs.paddings[i]![0] + attrs.paddings[i]![1])
  const f = foldPad(x.shape, attrs.paddings)
  if (f.shape.length <= MAX_RANK)
    return viaViews(t, backend, [[x, f.shape]], outShape, ([v]) => t.original({ ...args, inputs: { x: v! }, attrs: { ...attrs, paddings: f.paddings } as unknown as Attrs }) as Info)
  // every axis padded: one axis at a time (each folds to rank ≤ 2)
  let current = x
  attrs.paddings.forEach((p, axis) => {
    if (p[0] === 0 && p[1] === 0) return
    const single = attrs.paddings.map((_, i) => (i === axis ? p : ([0, 0] as [number, number])))
    const next = padWrapper(t)({ ...args, inputs: { x: current }, attrs: { ...attrs, paddings: single } as unknown as Attrs }) as Info
    if (current !== x) release(backend, current)
    current = next
  })
  return current === x ? t.original(args) : current
}

const selectWrapper: Wrapper = (t) => (args) => {
  const { condition, t: a, e } = args.inputs as { condition: Info; t: Info; e: Info }
  if (a.shape.length <= MAX_RANK) return t.original(args)
  const size = [product(a.shape)]
  // tf.where broadcasts its three arguments to one shape before the kernel
  if (product(condition.shape) !== size[0] || product(e.shape) !== size[0]) return t.original(args)
  return viaViews(t, args.backend as Backend, [[condition, size], [a, size], [e, size]], a.shape, ([c, x, y]) =>
    t.original({ ...args, inputs: { condition: c!, t: x!, e: y! } }) as Info,
  )
}

const tileWrapper: Wrapper = (t) => (args) => {
  const { x } = args.inputs as { x: Info }
  const { reps } = args.attrs as unknown as { reps: number[] }
  if (x.shape.length <= MAX_RANK) return t.original(args)
  const f = foldTile(x.shape, reps)
  if (f.shape.length > MAX_RANK) return t.original(args)
  const outShape = x.shape.map((n, i) => n * reps[i]!)
  return viaViews(t, args.backend as Backend, [[x, f.shape]], outShape, ([v]) =>
    t.original({ ...args, inputs: { x: v! }, attrs: { ...args.attrs, reps: f.reps } }) as Info,
  )
}

const binaryWrapper: Wrapper = (t) => (args) => {
  const { a, b } = args.inputs as { a: Info; b: Info }
  const out = broadcastShape(a.shape, b.shape)
  if (out.length <= MAX_RANK) return t.original(args)
  const f = foldBroadcast(a.shape, b.shape)
  const backend = args.backend as Backend
  if (f.a.length <= MAX_RANK)
    return viaViews(t, backend, [[a, f.a], [b, f.b]], out, ([x, y]) => t.original({ ...args, inputs: { a: x!, b: y! } }) as Info)
  // a broadcast that folds to no rank ≤ 4 (no multav tensor has one: [1, T, 1, W, 1] · [N, 1, H, 1, C]):
  // one slab of the first folded axis at a time (each one rank less, folded again), concatenated
  return viaViews(t, backend, [[a, f.a], [b, f.b]], out, ([x, y]) => {
    const slabs: Info[] = []
    try {
      for (let i = 0; i < f.out[0]!; i++) {
        const take = (v: Info, shape: ReadonlyArray<number>) => {
          const begin = shape.map((_, d) => (d === 0 && shape[0] !== 1 ? i : 0))
          const slab = t.slice(v, begin, [1, ...shape.slice(1)], backend)
          const view = t.reshape(slab, shape.slice(1), backend)
          release(backend, slab)
          return view
        }
        const [u, w] = [take(x!, f.a), take(y!, f.b)]
        try {
          const z = binaryWrapper(t)({ ...args, inputs: { a: u, b: w } }) as Info
          slabs.push(t.reshape(z, [1, ...f.out.slice(1)], backend))
          release(backend, z)
        } finally {
          release(backend, u)
          release(backend, w)
        }
      }
      return t.concat(slabs, 0, backend)
    } finally {
      for (const v of slabs) release(backend, v)
    }
  })
}

const wrapperOf = (kernel: string): Wrapper =>
  kernel === 'PadV2' ? padWrapper : kernel === 'Select' ? selectWrapper : kernel === 'Tile' ? tileWrapper : binaryWrapper

const patched = new Set<string>()

/**
 * Wraps the rank-5-deficient kernels of `backend` ('webgl' or 'webgpu'; its package must be imported,
 * so that its kernels are registered). Idempotent. Returns the kernels wrapped by this call.
 */
export const patchRank5 = (backend: 'webgl' | 'webgpu'): string[] => {
  const [reshapeKernel, sliceKernel, concatKernel] = (['Reshape', 'Slice', 'Concat'] as const).map((k) => tf.getKernel(k, backend))
  if (!reshapeKernel || !sliceKernel || !concatKernel) return []
  const reshape = (x: Info, shape: ReadonlyArray<number>, b: Backend): Info =>
    reshapeKernel.kernelFunc({ inputs: { x }, backend: b, attrs: { shape: [...shape] } }) as Info
  const slice = (x: Info, begin: ReadonlyArray<number>, size: ReadonlyArray<number>, b: Backend): Info =>
    sliceKernel.kernelFunc({ inputs: { x }, backend: b, attrs: { begin: [...begin], size: [...size] } }) as Info
  const concat = (xs: ReadonlyArray<Info>, axis: number, b: Backend): Info =>
    concatKernel.kernelFunc({ inputs: [...xs] as unknown as tf.NamedTensorInfoMap, backend: b, attrs: { axis } }) as Info
  const done: string[] = []
  for (const kernel of RANK5_KERNELS[backend]) {
    if (!replaceKernel(kernel, backend, (original) => wrapperOf(kernel)({ original, reshape, slice, concat, name: backend }))) continue
    patched.add(`${backend}/${kernel}`)
    done.push(kernel)
  }
  return done
}

/** The kernels wrapped so far, as 'backend/Kernel'. */
export const patchedKernels = (): string[] => [...patched].sort()
