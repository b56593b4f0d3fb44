/**
 * Seeded noise for random starts, drawn in plain TypeScript (pure-rand's xoroshiro128+) so that every
 * backend and the reference interpreter see the same numbers for the same seed.
 *
 * @since 0.1.0
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'

/** A generator for any safe-integer seed (xoroshiro128+ reads 32 bits: fold the high bits in). */
const generator = (seed: number) => xoroshiro128plus((seed | 0) ^ Math.floor(seed / 2 ** 32))

/** `count` values uniform in [−1, 1). */
export const uniformNoise = (seed: number, count: number): Float32Array => {
  const rng = generator(seed)
  const out = new Float32Array(count)
  for (let i = 0; i < count; i++) out[i] = 2 * uniformFloat64(rng) - 1
  return out
}

/** `count` standard normal values (Box–Muller). */
export const gaussianNoise = (seed: number, count: number): Float32Array => {
  const rng = generator(seed)
  const out = new Float32Array(count)
  for (let i = 0; i < count; i += 2) {
    const u1 = 1 - uniformFloat64(rng) // (0, 1]: log stays finite
    const u2 = uniformFloat64(rng)
    const r = Math.sqrt(-2 * Math.log(u1))
    out[i] = r * Math.cos(2 * Math.PI * u2)
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2)
  }
  return out
}
