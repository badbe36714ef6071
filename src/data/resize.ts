/**
 * Load-time resizing of uint8 NHWC images (done once; the result stays uint8 in memory).
 *
 * - `resizePil` (`resize: pil_bilinear`, the default): Pillow's `Image.resize(size, BILINEAR)`,
 *   which torchvision's `transforms.Resize` runs on PIL images, bit for bit: a triangle filter whose
 *   support grows with the scale factor when downscaling (antialiased: 96→32 averages ~6 taps per
 *   axis), plain bilinear when upscaling; two passes (rows, then columns) in Pillow's 22-bit fixed
 *   point, each rounded to uint8.
 * - `resizeBilinear` (`resize: bilinear`): bilinear interpolation with half-pixel centres and edge
 *   clamping, no antialiasing (PyTorch `F.interpolate(mode='bilinear', align_corners=False,
 *   antialias=False)`). For STL-10 96→32 every output pixel falls exactly on the centre of an input
 *   pixel (3·x + 1), so this amounts to subsampling.
 * - `padImages`: zero padding, centred (MNIST/Fashion-MNIST 28→32: 2 px each side, the default).
 * - `greyToRgb`: replicates one channel into three.
 */

interface Taps {
  i0: Int32Array
  i1: Int32Array
  w1: Float64Array
}

/** Source indices and weights for one axis (PyTorch `area_pixel_compute_source_index`). */
function taps(inSize: number, outSize: number): Taps {
  const i0 = new Int32Array(outSize)
  const i1 = new Int32Array(outSize)
  const w1 = new Float64Array(outSize)
  const scale = inSize / outSize
  for (let d = 0; d < outSize; d++) {
    let s = (d + 0.5) * scale - 0.5
    if (s < 0) s = 0
    let a = Math.floor(s)
    if (a > inSize - 1) a = inSize - 1
    const b = Math.min(a + 1, inSize - 1)
    i0[d] = a
    i1[d] = b
    w1[d] = s - a
  }
  return {i0, i1, w1}
}

export function resizeBilinear(src: Uint8Array, count: number, inSize: number, outSize: number, channels: number): Uint8Array {
  if (inSize === outSize) return src
  const out = new Uint8Array(count * outSize * outSize * channels)
  const ty = taps(inSize, outSize)
  const tx = taps(inSize, outSize)
  const inImage = inSize * inSize * channels
  const outImage = outSize * outSize * channels
  const inRow = inSize * channels
  for (let n = 0; n < count; n++) {
    const ib = n * inImage
    let o = n * outImage
    for (let y = 0; y < outSize; y++) {
      const r0 = ib + ty.i0[y] * inRow
      const r1 = ib + ty.i1[y] * inRow
      const wy = ty.w1[y]
      for (let x = 0; x < outSize; x++) {
        const c0 = tx.i0[x] * channels
        const c1 = tx.i1[x] * channels
        const wx = tx.w1[x]
        for (let c = 0; c < channels; c++) {
          const top = src[r0 + c0 + c] + (src[r0 + c1 + c] - src[r0 + c0 + c]) * wx
          const bot = src[r1 + c0 + c] + (src[r1 + c1 + c] - src[r1 + c0 + c]) * wx
          const v = top + (bot - top) * wy
          out[o++] = v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0
        }
      }
    }
  }
  return out
}

/** Pillow's fixed-point precision for 8-bit images (`PRECISION_BITS` in libImaging/Resample.c). */
const PRECISION_BITS = 32 - 8 - 2

interface PilCoeffs {
  /** Coefficients per output pixel (`ksize` slots each, fixed point). */
  k: Int32Array
  ksize: number
  /** First input pixel and number of taps, per output pixel. */
  first: Int32Array
  count: Int32Array
}

/** Pillow's `precompute_coeffs` for the bilinear (triangle, support 1) filter, then `normalize_coeffs_8bpc`. */
function pilCoeffs(inSize: number, outSize: number): PilCoeffs {
  const scale = inSize / outSize
  const filterScale = Math.max(scale, 1)
  const support = filterScale
  const ksize = Math.ceil(support) * 2 + 1
  const k = new Int32Array(outSize * ksize)
  const first = new Int32Array(outSize)
  const count = new Int32Array(outSize)
  const w = new Float64Array(ksize)
  const ss = 1 / filterScale // multiplied, not divided, as Pillow does (the last bit can decide a rounding)
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale
    const xmin = Math.max(0, Math.trunc(center - support + 0.5))
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin
    let total = 0
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss)
      w[x] = t < 1 ? 1 - t : 0
      total += w[x]
    }
    for (let x = 0; x < xmax; x++) {
      const c = total !== 0 ? w[x] / total : w[x]
      k[xx * ksize + x] = Math.trunc(c < 0 ? -0.5 + c * 2 ** PRECISION_BITS : 0.5 + c * 2 ** PRECISION_BITS)
    }
    first[xx] = xmin
    count[xx] = xmax
  }
  return {k, ksize, first, count}
}

/** Pillow's `clip8`: the fixed-point sum back to a uint8. */
function clip8(v: number): number {
  if (v >= 2 ** (PRECISION_BITS + 8)) return 255
  if (v <= 0) return 0
  return v >> PRECISION_BITS
}

/**
 * One Pillow resampling pass over `lines` lines (rows or columns): in `src` a line's pixels lie
 * `io.inPixel` apart and lines `io.inLine` apart; `dst` gets `outSize` pixels per line, laid out by
 * `io.outPixel` and `io.outLine`.
 */
function pilPass(src: Uint8Array, dst: Uint8Array, c: PilCoeffs, lines: number, channels: number, io: {inLine: number; inPixel: number; outLine: number; outPixel: number}, outSize: number): void {
  const half = 1 << (PRECISION_BITS - 1)
  for (let line = 0; line < lines; line++) {
    const ib = line * io.inLine
    const ob = line * io.outLine
    for (let xx = 0; xx < outSize; xx++) {
      const kb = xx * c.ksize
      const base = ib + c.first[xx] * io.inPixel
      for (let ch = 0; ch < channels; ch++) {
        let ss = half
        for (let x = 0; x < c.count[xx]; x++) ss += src[base + x * io.inPixel + ch] * c.k[kb + x]
        dst[ob + xx * io.outPixel + ch] = clip8(ss)
      }
    }
  }
}

/** Pillow `Image.resize((outSize, outSize), Image.BILINEAR)` of square uint8 NHWC images: rows first, then columns. */
export function resizePil(src: Uint8Array, count: number, inSize: number, outSize: number, channels: number): Uint8Array {
  if (inSize === outSize) return src
  const c = pilCoeffs(inSize, outSize)
  const mid = new Uint8Array(inSize * outSize * channels)
  const out = new Uint8Array(count * outSize * outSize * channels)
  for (let n = 0; n < count; n++) {
    const image = src.subarray(n * inSize * inSize * channels, (n + 1) * inSize * inSize * channels)
    // horizontal: inSize rows of inSize pixels → inSize rows of outSize pixels
    pilPass(image, mid, c, inSize, channels, {inLine: inSize * channels, inPixel: channels, outLine: outSize * channels, outPixel: channels}, outSize)
    // vertical: outSize columns of inSize pixels → outSize columns of outSize pixels
    const dst = out.subarray(n * outSize * outSize * channels, (n + 1) * outSize * outSize * channels)
    pilPass(mid, dst, c, outSize, channels, {inLine: channels, inPixel: outSize * channels, outLine: channels, outPixel: outSize * channels}, outSize)
  }
  return out
}

/** Centred zero padding from inSize to outSize (outSize ≥ inSize); an odd remainder goes to the right/bottom. */
export function padImages(src: Uint8Array, count: number, inSize: number, outSize: number, channels: number): Uint8Array {
  if (inSize === outSize) return src
  if (outSize < inSize) throw new RangeError(`cannot pad ${inSize}×${inSize} images down to ${outSize}×${outSize}`)
  const out = new Uint8Array(count * outSize * outSize * channels)
  const off = (outSize - inSize) >> 1
  const inRow = inSize * channels
  const outRow = outSize * channels
  let i = 0
  for (let n = 0; n < count; n++) {
    const ob = n * outSize * outRow + off * outRow + off * channels
    for (let y = 0; y < inSize; y++) {
      let o = ob + y * outRow
      for (let k = 0; k < inRow; k++) out[o++] = src[i++]
    }
  }
  return out
}

/** Greyscale → RGB with centred zero padding, in one pass (MNIST 28→32 default). */
export function padGreyToRgb(src: Uint8Array, count: number, inSize: number, outSize: number): Uint8Array {
  if (outSize < inSize) throw new RangeError(`cannot pad ${inSize}×${inSize} images down to ${outSize}×${outSize}`)
  const out = new Uint8Array(count * outSize * outSize * 3)
  const off = (outSize - inSize) >> 1
  const outRow = outSize * 3
  let i = 0
  for (let n = 0; n < count; n++) {
    const ob = n * outSize * outRow + off * outRow + off * 3
    for (let y = 0; y < inSize; y++) {
      let o = ob + y * outRow
      for (let x = 0; x < inSize; x++, o += 3) {
        const v = src[i++]
        out[o] = v
        out[o + 1] = v
        out[o + 2] = v
      }
    }
  }
  return out
}

export function greyToRgb(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length * 3)
  for (let i = 0, o = 0; i < src.length; i++, o += 3) {
    const v = src[i]
    out[o] = v
    out[o + 1] = v
    out[o + 2] = v
  }
  return out
}
