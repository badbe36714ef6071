/**
 * Small, fast, seeded pseudo-random numbers for shuffling, augmentation and synthetic data.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Chaotic PRNG, 128-bit state) seeded
 * through splitmix32, so nearby seeds (42, 43, ...) give unrelated streams. Everything is 32-bit
 * integer arithmetic: identical results on every platform and Node version.
 */

const TWO_POW_32 = 4294967296

/** splitmix32 step: a good 32-bit mixer, used to seed sfc32 and to combine seeds. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad)
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97)
  return (x ^ (x >>> 15)) >>> 0
}

/** The low and high 32-bit words of a (possibly large, possibly negative) integer seed. */
function words(seed: number): [number, number] {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`)
  const n = Math.trunc(seed)
  const lo = n >>> 0
  const hi = Math.floor(n / TWO_POW_32) >>> 0
  return [lo, hi]
}

/**
 * Combines a seed with further integers (epoch, stream id, ...) into one 32-bit seed.
 * `deriveSeed(s, 0) !== deriveSeed(s, 1)` and the result is well mixed.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  const [lo, hi] = words(seed)
  let h = mix32(lo ^ mix32(hi))
  for (const p of parts) {
    const [plo, phi] = words(p)
    h = mix32(h ^ mix32(plo ^ mix32(phi + 0x632be5ab)))
  }
  return h
}

/** sfc32 generator. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number, ...parts: number[]) {
    let s = deriveSeed(seed, ...parts)
    s = mix32(s)
    this.a = s
    s = mix32(s)
    this.b = s
    s = mix32(s)
    this.c = s
    this.d = 1
    for (let i = 0; i < 12; i++) this.uint32()
  }

  /** Uniform integer in [0, 2^32). */
  uint32(): number {
    const t0 = (this.a + this.b) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.d = (this.d + 1) | 0
    const t = (t0 + this.d) | 0
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.uint32() / TWO_POW_32
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float()
  }

  /** Uniform integer in [0, n), n ≤ 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n)
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.float() < p
  }
}

/** A standard normal draw (Box–Muller, the cosine half; two uniforms per draw). */
export function normal(rng: Rng): number {
  // 1 − u is in (0, 1], so the logarithm is finite.
  return Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float())
}

/**
 * The logarithm of a Gamma(shape, 1) draw: Marsaglia and Tsang's method for shape ≥ 1, and for
 * shape < 1 a Gamma(shape + 1) draw times U^(1/shape), in logarithms so that a small shape's tiny
 * values do not underflow to 0.
 */
function logGamma(rng: Rng, shape: number): number {
  if (shape < 1) return logGamma(rng, shape + 1) + Math.log(1 - rng.float()) / shape
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    const z = normal(rng)
    const v = (1 + c * z) ** 3
    if (v <= 0) continue
    const u = 1 - rng.float()
    if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) return Math.log(d * v)
  }
}

/** A Beta(a, b) draw (a, b > 0): X / (X + Y) of X ~ Gamma(a), Y ~ Gamma(b), as numpy's `beta` (not its stream). */
export function beta(rng: Rng, a: number, b: number): number {
  const x = logGamma(rng, a)
  const y = logGamma(rng, b)
  return 1 / (1 + Math.exp(y - x))
}

/** Fisher–Yates shuffle in place. */
export function shuffleInPlace(arr: {length: number; [i: number]: number}, rng: Rng): void {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = arr[i]
    arr[i] = arr[j]
    arr[j] = t
  }
}

/** A seeded permutation of 0..n-1. */
export function permutation(n: number, rng: Rng, out?: Int32Array): Int32Array {
  const p = out && out.length === n ? out : new Int32Array(n)
  for (let i = 0; i < n; i++) p[i] = i
  shuffleInPlace(p, rng)
  return p
}
