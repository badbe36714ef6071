/**
 * Pillow 9.4's image operations on uint8 pixels, in its arithmetic, for timm-rand-augment.ts: the
 * ImageOps lookup tables (autocontrast, equalize, invert, posterize, solarize, and timm's
 * solarize_add), the ImageEnhance blends (Color, Contrast, Brightness, Sharpness), Image.transform
 * with an AFFINE matrix (BILINEAR or BICUBIC resample, a fillcolor) and Image.rotate (its
 * transposes, its rounded matrix). An image is H×W×C bytes (C = 3, RGB, or 1, L), row-major, as
 * PIL's `tobytes()` gives them; every op changes it in place.
 *
 * Each follows Pillow 9.4.0's source (src/PIL/ImageOps.py, ImageEnhance.py, Image.py; libImaging
 * Blend.c, Filter.c, Convert.c, Geometry.c): Blend's float32 `in1 + alpha·(in2 − in1)` truncated
 * (clamped when alpha is outside [0, 1]); RGB→L as ((r·19595 + g·38470 + b·7471 + 0x8000) >> 16);
 * Contrast's mean grey int(mean + 0.5); SMOOTH's 3×3 kernel (1…5…1)/13 in float32 weights, the rows
 * summed below-centre-above onto 0.5 and truncated, the border copied (an image under 3×3 copied
 * whole) — its exact value 0.5 + k/13 lies at least 1/26 from an integer, so float32 there never
 * decides a pixel; the affine filters in doubles (Geometry.c's bilinear_filter and bicubic_filter with their
 * edge clipping, a = −0.5 cubic), a pixel whose source point falls outside the image keeping the
 * fill. Bit for bit with Pillow 9.4 on the fixture (test/data/timm-rand-augment.test.ts); the one
 * libm call that decides pixels, Rotate's cos and sin, is rounded to 15 decimals as PIL rounds it,
 * which hides the last-bit differences V8's Math.cos may have from glibc's.
 */

const f32 = Math.fround

/** An image's bytes and shape: H×W×C, C 1 (L) or 3 (RGB). */
export interface PilImage {
  data: Uint8Array
  width: number
  height: number
  channels: 1 | 3
}

export type Resample = 'bilinear' | 'bicubic'

/** Applies one table to every channel (Image.point with a 256-entry table, as ImageOps' `_lut`). */
function applyLut(img: PilImage, lut: Uint8Array): void {
  const {data} = img
  for (let i = 0; i < data.length; i++) data[i] = lut[data[i]]
}

/** Applies one table per channel (a 768-entry table for RGB). */
function applyChannelLuts(img: PilImage, luts: Uint8Array[]): void {
  const {data, channels} = img
  for (let i = 0; i < data.length; i += channels) for (let c = 0; c < channels; c++) data[i + c] = luts[c][data[i + c]]
}

function histogram(img: PilImage, c: number): Float64Array {
  const h = new Float64Array(256)
  for (let i = c; i < img.data.length; i += img.channels) h[img.data[i]]++
  return h
}

const clip8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v)

/** A table from 256 integer values, clipped to 0–255 as getlist(TYPE_UINT8) does. */
const table = (f: (i: number) => number) => Uint8Array.from({length: 256}, (_, i) => clip8(f(i)))

export function invert(img: PilImage): void {
  applyLut(img, table((i) => 255 - i))
}

/** ImageOps.posterize: keep `bits` high bits (i & ~(2^(8 − bits) − 1)); 0 or fewer bits: black. timm skips 8 or more. */
export function posterize(img: PilImage, bits: number): void {
  if (bits >= 8) return
  const mask = bits <= 0 ? 0 : ~(2 ** (8 - bits) - 1)
  applyLut(img, table((i) => i & mask))
}

/** ImageOps.solarize: inverts the values at or above `threshold`. */
export function solarize(img: PilImage, threshold: number): void {
  applyLut(img, table((i) => (i < threshold ? i : 255 - i)))
}

/** timm's solarize_add: adds `add` (capped at 255) to the values below `threshold`. */
export function solarizeAdd(img: PilImage, add: number, threshold = 128): void {
  applyLut(img, table((i) => (i < threshold ? Math.min(255, i + add) : i)))
}

/** ImageOps.autocontrast (no cutoff): each channel's lowest value to 0, highest to 255, int(i·scale + offset) between. */
export function autocontrast(img: PilImage): void {
  const luts: Uint8Array[] = []
  for (let c = 0; c < img.channels; c++) {
    const h = histogram(img, c)
    let lo = 0
    while (lo < 255 && !h[lo]) lo++
    let hi = 255
    while (hi > 0 && !h[hi]) hi--
    if (hi <= lo) {
      luts.push(table((i) => i))
      continue
    }
    const scale = 255 / (hi - lo)
    const offset = -lo * scale
    luts.push(table((i) => Math.max(0, Math.trunc(i * scale + offset))))
  }
  applyChannelLuts(img, luts)
}

/** ImageOps.equalize: each channel's histogram LUT (step = (count − the last bin's) // 255; none when 0 or one value). */
export function equalize(img: PilImage): void {
  const luts: Uint8Array[] = []
  for (let c = 0; c < img.channels; c++) {
    const h = histogram(img, c)
    let kinds = 0
    let total = 0
    let top = 0
    for (let v = 0; v < 256; v++) {
      if (!h[v]) continue
      kinds++
      total += h[v]
      top = h[v]
    }
    const step = kinds <= 1 ? 0 : Math.floor((total - top) / 255)
    if (!step) {
      luts.push(table((i) => i))
      continue
    }
    const lut = new Uint8Array(256)
    let n = Math.floor(step / 2)
    for (let i = 0; i < 256; i++) {
      lut[i] = clip8(Math.floor(n / step))
      n += h[i]
    }
    luts.push(lut)
  }
  applyChannelLuts(img, luts)
}

/** ImagingBlend(degenerate, image, alpha) into `img`: float32 in1 + alpha·(in2 − in1), truncated; clamped to 0–255 outside [0, 1]. */
function blendInto(img: PilImage, degenerate: (i: number) => number, factor: number): void {
  const alpha = f32(factor)
  const clamp = !(alpha >= 0 && alpha <= 1)
  const {data} = img
  for (let i = 0; i < data.length; i++) {
    const a = degenerate(i)
    const v = f32(a + f32(alpha * (data[i] - a)))
    data[i] = clamp ? (v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v)) : Math.trunc(v)
  }
}

/** RGB → L (Convert.c's rgb2l, ITU-R 601-2 in 16-bit fixed point). */
export function greyOf(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16
}

/** The image's L conversion (the image itself for L). */
function greyLevels(img: PilImage): Uint8Array {
  if (img.channels === 1) return img.data.slice()
  const {data} = img
  const out = new Uint8Array(data.length / 3)
  for (let p = 0, i = 0; i < data.length; p++, i += 3) out[p] = greyOf(data[i], data[i + 1], data[i + 2])
  return out
}

/** ImageEnhance.Brightness: blends with black. */
export function brightness(img: PilImage, factor: number): void {
  blendInto(img, () => 0, factor)
}

/** ImageEnhance.Color: blends with the image's grey (L) version. */
export function color(img: PilImage, factor: number): void {
  const grey = greyLevels(img)
  const c = img.channels
  blendInto(img, (i) => grey[Math.floor(i / c)], factor)
}

/** ImageEnhance.Contrast: blends with the mean grey level, int(mean + 0.5) (ImageStat's mean of the L image). */
export function contrast(img: PilImage, factor: number): void {
  const grey = greyLevels(img)
  let sum = 0
  for (let i = 0; i < grey.length; i++) sum += grey[i]
  const mean = Math.floor(sum / grey.length + 0.5)
  blendInto(img, () => mean, factor)
}

const SMOOTH_EDGE = f32(f32(1) / f32(13))
const SMOOTH_CENTRE = f32(f32(5) / f32(13))

/** ImageFilter.SMOOTH (Filter.c's ImagingFilter3x3): the smoothed copy; the border rows and columns as they are. */
function smoothed(img: PilImage): Uint8Array {
  const {data, width: w, height: h, channels: c} = img
  const out = data.slice()
  if (w < 3 || h < 3) return out
  const row = w * c
  // KERNEL1x3: float32 products and sums, left to right.
  const line = (i: number, k1: number) => f32(f32(f32(data[i - c] * SMOOTH_EDGE) + f32(data[i] * k1)) + f32(data[i + c] * SMOOTH_EDGE))
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      for (let b = 0; b < c; b++) {
        const i = y * row + x * c + b
        let ss = f32(0.5)
        ss = f32(ss + line(i + row, SMOOTH_EDGE))
        ss = f32(ss + line(i, SMOOTH_CENTRE))
        ss = f32(ss + line(i - row, SMOOTH_EDGE))
        out[i] = ss <= 0 ? 0 : ss >= 255 ? 255 : Math.trunc(ss)
      }
    }
  }
  return out
}

/** ImageEnhance.Sharpness: blends with the SMOOTH-filtered image. */
export function sharpness(img: PilImage, factor: number): void {
  const smooth = smoothed(img)
  blendInto(img, (i) => smooth[i], factor)
}

/** The `fillcolor` as one value per channel. */
type Fill = readonly number[]

/**
 * Image.transform(size, AFFINE, matrix, resample, fillcolor): output pixel (x, y) samples the source
 * at (a0·(x + ½) + a1·(y + ½) + a2, a3·(x + ½) + a4·(y + ½) + a5); a point outside the image keeps
 * the fill.
 */
export function affine(img: PilImage, a: readonly number[], resample: Resample, fill: Fill): void {
  const {width: w, height: h, channels: c} = img
  const src = img.data.slice()
  const out = img.data
  const sample = resample === 'bilinear' ? bilinear : bicubic
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const xi = x + 0.5
      const yi = y + 0.5
      const xin = a[0] * xi + a[1] * yi + a[2]
      const yin = a[3] * xi + a[4] * yi + a[5]
      const o = (y * w + x) * c
      if (xin < 0 || xin >= w || yin < 0 || yin >= h) {
        for (let b = 0; b < c; b++) out[o + b] = fill[b]
        continue
      }
      sample(src, w, h, c, xin, yin, out, o)
    }
  }
}

const xclip = (x: number, n: number) => (x < 0 ? 0 : x < n ? x : n - 1)

/** Geometry.c's bilinear_filter: two rows (the second clipped to the first), doubles, truncated. */
function bilinear(src: Uint8Array, w: number, h: number, c: number, xin: number, yin: number, out: Uint8Array, o: number): void {
  xin -= 0.5
  yin -= 0.5
  const x = Math.floor(xin)
  const y = Math.floor(yin)
  const dx = xin - x
  const dy = yin - y
  const x0 = xclip(x, w) * c
  const x1 = xclip(x + 1, w) * c
  const r0 = xclip(y, h) * w * c
  const hasR1 = y + 1 >= 0 && y + 1 < h
  const r1 = (y + 1) * w * c
  for (let b = 0; b < c; b++) {
    const p0 = src[r0 + x0 + b]
    let v1 = p0 + (src[r0 + x1 + b] - p0) * dx
    let v2 = v1
    if (hasR1) {
      const q0 = src[r1 + x0 + b]
      v2 = q0 + (src[r1 + x1 + b] - q0) * dx
    }
    v1 = v1 + (v2 - v1) * dy
    out[o + b] = Math.trunc(v1)
  }
}

/** Geometry.c's BICUBIC macro: the a = −0.5 cubic through four values at offset d. */
function cubic(v1: number, v2: number, v3: number, v4: number, d: number): number {
  const p1 = v2
  const p2 = -v1 + v3
  const p3 = 2 * (v1 - v2) + v3 - v4
  const p4 = -v1 + v2 - v3 + v4
  return p1 + d * (p2 + d * (p3 + d * p4))
}

/** Geometry.c's bicubic_filter: four rows (a row outside repeats the one above; the first clipped), doubles, clamped, truncated. */
function bicubic(src: Uint8Array, w: number, h: number, c: number, xin: number, yin: number, out: Uint8Array, o: number): void {
  xin -= 0.5
  yin -= 0.5
  let x = Math.floor(xin)
  let y = Math.floor(yin)
  const dx = xin - x
  const dy = yin - y
  x--
  y--
  const x0 = xclip(x, w) * c
  const x1 = xclip(x + 1, w) * c
  const x2 = xclip(x + 2, w) * c
  const x3 = xclip(x + 3, w) * c
  const row = w * c
  const r0 = xclip(y, h) * row
  const in1 = y + 1 >= 0 && y + 1 < h
  const in2 = y + 2 >= 0 && y + 2 < h
  const in3 = y + 3 >= 0 && y + 3 < h
  for (let b = 0; b < c; b++) {
    let r = r0 + b
    const v1 = cubic(src[r + x0], src[r + x1], src[r + x2], src[r + x3], dx)
    r = (y + 1) * row + b
    const v2 = in1 ? cubic(src[r + x0], src[r + x1], src[r + x2], src[r + x3], dx) : v1
    r = (y + 2) * row + b
    const v3 = in2 ? cubic(src[r + x0], src[r + x1], src[r + x2], src[r + x3], dx) : v2
    r = (y + 3) * row + b
    const v4 = in3 ? cubic(src[r + x0], src[r + x1], src[r + x2], src[r + x3], dx) : v3
    const v = cubic(v1, v2, v3, v4, dy)
    out[o + b] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v)
  }
}

/** Python's float `x % 360.0`: the sign of the divisor, +0 for 0. */
function pyMod360(x: number): number {
  const m = x % 360
  if (m === 0) return 0
  return m < 0 ? m + 360 : m
}

/**
 * Python's round(x, 15) of a sine or cosine (|x| ≤ 1): the nearest multiple of 10^-15, correctly
 * rounded (toFixed), and half to even on an exact tie, which for a double in [−1, 1] is j/2^16 with j
 * odd (then x·10^15 = j·5^15/2, exact in a double).
 */
export function pyRound15(x: number): number {
  const j = x * 65536
  if (Number.isInteger(j) && j % 2 !== 0) {
    const twice = j * 5 ** 15
    const below = (Math.abs(twice) - 1) / 2
    const even = below % 2 === 0 ? below : below + 1
    return Math.sign(x) * Number(`${even}e-15`)
  }
  return Number(x.toFixed(15))
}

/** Image.transpose's ROTATE_90 (counter-clockwise), ROTATE_180 and ROTATE_270 of an image; 90 and 270 square only. */
function transpose(img: PilImage, quarterTurns: 1 | 2 | 3): void {
  const {width: w, height: h, channels: c} = img
  const src = img.data.slice()
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [sx, sy] = quarterTurns === 1 ? [w - 1 - y, x] : quarterTurns === 2 ? [w - 1 - x, h - 1 - y] : [y, h - 1 - x]
      for (let b = 0; b < c; b++) img.data[(y * w + x) * c + b] = src[(sy * w + sx) * c + b]
    }
  }
}

/**
 * Image.rotate(degrees, resample, fillcolor) (counter-clockwise about the centre, same size): 0
 * leaves the image, 180 (and 90, 270 of a square image) transpose it, any other angle is the affine
 * transform of the matrix rotate builds — cos and sin of −radians(degrees mod 360) rounded to 15
 * decimals, the centre's offset added.
 */
export function rotate(img: PilImage, degrees: number, resample: Resample, fill: Fill): void {
  const angle = pyMod360(degrees)
  if (angle === 0) return
  if (angle === 180) return transpose(img, 2)
  if ((angle === 90 || angle === 270) && img.width === img.height) return transpose(img, angle === 90 ? 1 : 3)
  const cx = img.width / 2
  const cy = img.height / 2
  const rad = -(angle * (Math.PI / 180))
  const m = [pyRound15(Math.cos(rad)), pyRound15(Math.sin(rad)), 0, pyRound15(-Math.sin(rad)), pyRound15(Math.cos(rad)), 0]
  m[2] = m[0] * -cx + m[1] * -cy + 0
  m[5] = m[3] * -cx + m[4] * -cy + 0
  m[2] += cx
  m[5] += cy
  affine(img, m, resample, fill)
}
