/**
 * Training augmentation (docs/paper.md, "Training recipe"), per image:
 *   - horizontal flip with probability 0.5;
 *   - colour jitter as torchvision `ColorJitter(brightness=0.5, hue=0.25)`: a brightness factor
 *     uniform in [1 − b, 1 + b] (pixels multiplied, clamped to [0, 1]) and a hue shift uniform in
 *     [−h, h] (RGB → HSV, h = (h + shift) mod 1, back to RGB, torchvision's formulas). Like
 *     torchvision, the two adjustments are applied in a random order per image.
 * Pixels are scaled to [0, 1]; there is no mean/std normalization. Evaluation uses no augmentation.
 */
import type {Rng} from './random.js'

export interface AugmentParams {
  /** Random horizontal flip (p 0.5). */
  hflip: boolean
  /** Brightness jitter b: factor uniform in [max(0, 1 − b), 1 + b]; 0 disables. */
  brightness: number
  /** Hue jitter h ∈ [0, 0.5]: shift uniform in [−h, h]; 0 disables. */
  hue: number
}

export const DEFAULT_AUGMENT: AugmentParams = {hflip: true, brightness: 0.5, hue: 0.25}

/**
 * Resolves `data.augment` from a spec: absent → the paper's defaults; `false` → none; an object
 * fills missing keys from the defaults. All-off parameters resolve to `false`.
 */
export function resolveAugment(a: false | Partial<AugmentParams> | undefined | null): false | AugmentParams {
  if (a === false || a === null) return false
  const p: AugmentParams = {...DEFAULT_AUGMENT, ...(a ?? {})}
  if (!Number.isFinite(p.brightness) || p.brightness < 0) throw new RangeError(`augment.brightness must be ≥ 0, got ${p.brightness}`)
  if (!Number.isFinite(p.hue) || p.hue < 0 || p.hue > 0.5) throw new RangeError(`augment.hue must be in [0, 0.5], got ${p.hue}`)
  if (!p.hflip && p.brightness === 0 && p.hue === 0) return false
  return p
}

/** The random draws for one image. */
export interface ImageJitter {
  flip: boolean
  /** Brightness factor (1 = unchanged). */
  brightness: number
  /** Hue shift in turns (0 = unchanged). */
  hue: number
  /** Apply the hue shift before the brightness factor (torchvision draws the order at random). */
  hueFirst: boolean
}

export function identityJitter(): ImageJitter {
  return {flip: false, brightness: 1, hue: 0, hueFirst: false}
}

/** Draws one image's jitter into `out` (always four draws, so streams stay aligned). */
export function sampleJitter(rng: Pick<Rng, 'float'>, p: AugmentParams, out: ImageJitter): ImageJitter {
  const f = rng.float()
  const o = rng.float()
  const b = rng.float()
  const h = rng.float()
  out.flip = p.hflip && f < 0.5
  out.hueFirst = o < 0.5
  const lo = Math.max(0, 1 - p.brightness)
  out.brightness = p.brightness > 0 ? lo + (1 + p.brightness - lo) * b : 1
  out.hue = p.hue > 0 ? -p.hue + 2 * p.hue * h : 0
  return out
}

/** uint8 → [0, 1] lookup. */
export const U8_TO_UNIT = Float32Array.from({length: 256}, (_, i) => i / 255)

/**
 * Shifts the hue of one RGB pixel (values in [0, 1]) and writes it to dst[o..o+2].
 * torchvision `_rgb2hsv` / `_hsv2rgb`: grey pixels are unchanged; V = max and the minimum are kept.
 */
export function hueShiftInto(dst: Float32Array | number[], o: number, r: number, g: number, b: number, shift: number): void {
  const maxc = r > g ? (r > b ? r : b) : g > b ? g : b
  const minc = r < g ? (r < b ? r : b) : g < b ? g : b
  const cr = maxc - minc
  if (cr === 0) {
    dst[o] = r
    dst[o + 1] = g
    dst[o + 2] = b
    return
  }
  const s = cr / maxc
  let h: number
  if (maxc === r) h = (g - b) / cr
  else if (maxc === g) h = 2 + (b - r) / cr
  else h = 4 + (r - g) / cr
  h = h / 6 + 1
  h -= Math.floor(h)
  h += shift
  h -= Math.floor(h)
  const h6 = h * 6
  let i = Math.floor(h6)
  const f = h6 - i
  i %= 6
  const v = maxc
  let p = v * (1 - s)
  let q = v * (1 - s * f)
  let t = v * (1 - s * (1 - f))
  p = p < 0 ? 0 : p > 1 ? 1 : p
  q = q < 0 ? 0 : q > 1 ? 1 : q
  t = t < 0 ? 0 : t > 1 ? 1 : t
  switch (i) {
    case 0: dst[o] = v; dst[o + 1] = t; dst[o + 2] = p; break
    case 1: dst[o] = q; dst[o + 1] = v; dst[o + 2] = p; break
    case 2: dst[o] = p; dst[o + 1] = v; dst[o + 2] = t; break
    case 3: dst[o] = p; dst[o + 1] = q; dst[o + 2] = v; break
    case 4: dst[o] = t; dst[o + 1] = p; dst[o + 2] = v; break
    default: dst[o] = v; dst[o + 1] = p; dst[o + 2] = q; break
  }
}

/** Scales uint8 pixels to [0, 1] floats: dst[dOff + i] = src[sOff + i] / 255 for i < n. */
export function toUnit(src: Uint8Array, sOff: number, dst: Float32Array, dOff: number, n: number): void {
  const lut = U8_TO_UNIT
  for (let i = 0; i < n; i++) dst[dOff + i] = lut[src[sOff + i]]
}

/**
 * Writes one augmented S×S×3 image (uint8 NHWC at src[sOff]) as [0, 1] floats to dst[dOff].
 * Flip, then the two colour adjustments in the order `j.hueFirst` says.
 *
 * The hue shift is `hueShiftInto` rewritten for speed, exact in real arithmetic: the hue is kept
 * in sixths of a turn, and V·(1 − S) = min, V·(1 − S·f) = max − (max − min)·f,
 * V·(1 − S·(1 − f)) = min + (max − min)·f.
 */
export function augmentImage(src: Uint8Array, sOff: number, dst: Float32Array, dOff: number, size: number, j: ImageJitter): void {
  const lut = U8_TO_UNIT
  const row = size * 3
  const bf = j.brightness
  const doB = bf !== 1
  const preB = doB && !j.hueFirst
  const postB = doB && j.hueFirst
  const doH = j.hue !== 0
  const shift6 = j.hue * 6
  const flip = j.flip
  for (let y = 0; y < size; y++) {
    const rs = sOff + y * row
    let d = dOff + y * row
    let si = flip ? rs + row - 3 : rs
    const step = flip ? -3 : 3
    for (let x = 0; x < size; x++, d += 3, si += step) {
      let r = lut[src[si]]
      let g = lut[src[si + 1]]
      let b = lut[src[si + 2]]
      if (preB) {
        r *= bf
        g *= bf
        b *= bf
        if (r > 1) r = 1
        if (g > 1) g = 1
        if (b > 1) b = 1
      }
      if (doH) {
        const maxc = r > g ? (r > b ? r : b) : g > b ? g : b
        const minc = r < g ? (r < b ? r : b) : g < b ? g : b
        const cr = maxc - minc
        if (cr > 0) {
          let h = maxc === r ? (g - b) / cr : maxc === g ? 2 + (b - r) / cr : 4 + (r - g) / cr
          h += shift6
          if (h < 0) h += 6
          if (h < 0) h += 6
          if (h >= 6) h -= 6
          if (h >= 6) h -= 6
          const i = h | 0
          const f = h - i
          const up = minc + cr * f
          const down = maxc - cr * f
          switch (i) {
            case 0: r = maxc; g = up; b = minc; break
            case 1: r = down; g = maxc; b = minc; break
            case 2: r = minc; g = maxc; b = up; break
            case 3: r = minc; g = down; b = maxc; break
            case 4: r = up; g = minc; b = maxc; break
            default: r = maxc; g = minc; b = down; break
          }
        }
      }
      if (postB) {
        r *= bf
        g *= bf
        b *= bf
        if (r > 1) r = 1
        if (g > 1) g = 1
        if (b > 1) b = 1
      }
      dst[d] = r
      dst[d + 1] = g
      dst[d + 2] = b
    }
  }
}
