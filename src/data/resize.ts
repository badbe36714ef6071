/**
 * Load-time resizing of uint8 NHWC images (done once; the result stays uint8 in memory).
 *
 * - `resizeBilinear`: bilinear interpolation with half-pixel centres and edge clamping, no
 *   antialiasing (PyTorch `F.interpolate(mode='bilinear', align_corners=False, antialias=False)`).
 *   For STL-10 96→32 every output pixel falls exactly on the centre of an input pixel (3·x + 1),
 *   so this amounts to subsampling.
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
