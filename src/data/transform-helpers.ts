/**
 * What the built-in transform files (transforms.ts, geometric-transforms.ts) share: small in-place
 * operations on one S×S×3 HWC float image at an offset, torchvision's grey-level weights, numpy's
 * padding index arithmetic, per-channel values, and a normal draw. No entries are registered here.
 */
import type {RandomSource} from '../registry/registry.js'

/** torchvision's `rgb_to_grayscale` weights. */
export const GREY = [0.2989, 0.587, 0.114] as const

export function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v
}

/** A standard normal draw (Box–Muller, two uniforms per draw). */
export function normalDraw(rng: RandomSource): number {
  const u = 1 - rng.float()
  const v = rng.float()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

/** Mirrors every row of the image at `off`, in place (a horizontal flip). */
export function flipRows(img: Float32Array, off: number, size: number): void {
  const row = size * 3
  for (let y = 0; y < size; y++) {
    let a = off + y * row
    let b = a + row - 3
    for (; a < b; a += 3, b -= 3) {
      for (let c = 0; c < 3; c++) {
        const t = img[a + c]
        img[a + c] = img[b + c]
        img[b + c] = t
      }
    }
  }
}

export type PaddingMode = 'constant' | 'edge' | 'reflect' | 'symmetric'

/** Source index for a padded coordinate outside [0, n) (numpy's pad modes, any padding width). */
export function padIndex(i: number, n: number, mode: PaddingMode): number {
  if (mode === 'edge') return i < 0 ? 0 : n - 1
  if (n === 1) return 0
  if (mode === 'reflect') {
    const period = 2 * (n - 1)
    const k = ((i % period) + period) % period
    return k < n ? k : period - k
  }
  const period = 2 * n
  const k = ((i % period) + period) % period
  return k < n ? k : period - 1 - k
}

/** One value, or one per channel. */
export function perChannel(v: number | number[], what: string): [number, number, number] {
  const a = Array.isArray(v) ? v : [v]
  if (a.length === 1) return [a[0], a[0], a[0]]
  if (a.length === 3) return [a[0], a[1], a[2]]
  throw new RangeError(`${what} needs one value or three (one per channel); got ${a.length}`)
}
