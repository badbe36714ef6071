/**
 * What the built-in transform files (transforms.ts, geometric-transforms.ts, the policies of
 * auto-augment.ts and timm-rand-augment.ts) share: small in-place operations on one S×S×3 HWC float
 * image at an offset, torchvision's grey-level weights, numpy's padding index arithmetic,
 * per-channel values, a normal draw, and the steps of a transform on uint8 pixels. No entries are
 * registered here.
 */
import type {ImageTransform, RandomSource} from '../registry/registry.js'
import {toUnit, U8_TO_UNIT} from './augment.js'

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

/** The schema description of a transform on uint8 pixels (`uint8Steps`). */
export const UINT8_NOTE = 'The image is taken as uint8 (round(x·255)) and written back as k/255 where an op applies (one that applies none leaves it as it was); it must come before normalize.'

/**
 * `draw`, `fromBytes` and `apply` of a transform on the uint8 pixels of the image (torchvision's
 * and timm's automatic augmentation policies, whose ops are uint8 operations): `choose` makes an
 * image's draws and gives its ops, without the image (so `draw` can run apart from the pixels);
 * where `changes(ops)` is false the image is left exactly as it was, not taken through uint8;
 * otherwise its bytes — the stored ones (`fromBytes`), or round(x·255) clamped to 0–255 — go
 * through `run(px, size, ops)` in place, in the buffer `buffer(n)` gives, and come back as k/255.
 */
export function uint8Steps<Op>(
  choose: (size: number, rng: RandomSource) => Op[],
  changes: (ops: Op[]) => boolean,
  run: (px: Uint8Array, size: number, ops: Op[]) => void,
  buffer: (n: number) => Uint8Array,
): Required<Pick<ImageTransform, 'draw' | 'fromBytes' | 'apply'>> {
  return {
    draw(size, rng) {
      choose(size, rng)
    },
    fromBytes(src, sOff, dst, dOff, size, rng) {
      const ops = choose(size, rng)
      const n = size * size * 3
      if (!changes(ops)) return toUnit(src, sOff, dst, dOff, n)
      const px = buffer(n)
      px.set(src.subarray(sOff, sOff + n))
      run(px, size, ops)
      toUnit(px, 0, dst, dOff, n)
    },
    apply(img, off, size, rng) {
      const ops = choose(size, rng)
      if (!changes(ops)) return
      const n = size * size * 3
      const px = buffer(n)
      for (let i = 0; i < n; i++) {
        const v = Math.round(img[off + i] * 255)
        px[i] = v <= 0 ? 0 : v >= 255 ? 255 : v
      }
      run(px, size, ops)
      for (let i = 0; i < n; i++) img[off + i] = U8_TO_UNIT[px[i]]
    },
  }
}
