/**
 * Convolution gradients for the WASM backend.
 *
 * `Conv2DBackpropFilter` (the package has none, so no conv net could train):
 *   dW[(kh, kw, ci), co] = Σ_m colᵀ[(kh, kw, ci), m] · dy[m, co],  m = (n, oh, ow),
 * with colᵀ[(kh, kw, ci), m] = x[n, oh·s + kh − pad, ow·s + kw − pad, ci] (0 in the padding).
 * colᵀ is written here from a channel-major copy of x (contiguous reads and writes), a few images
 * at a time so that it stays small, and each chunk is one untransposed XNNPACK product; the
 * [kh·kw·ci, co] result is already the filter layout. (Measured here against a convolution over
 * swapped axes and against im2col followed by a transposed product: about 2x faster on 8×8 to
 * 32×32 maps, 6x on 1×1 maps.)
 *
 * `Conv2DBackpropInput` (the input gradient, and the forward pass of Conv2DTranspose) replaces
 * the package's scalar loop: at stride 1 it is a convolution of dy with the spatially flipped,
 * channel-swapped filter (XNNPACK); at larger strides it is an XNNPACK product
 * dcol = dy · Wᵀ ([n·oh·ow, kh·kw·ci]) scattered back onto the input grid (col2im), chunked by
 * images like the filter gradient.
 *
 * All three (and the forward `Conv2D` / `FusedConv2D`, wrapped below) use only the filter taps that
 * can touch the input: on small maps most taps of a padded filter meet nothing but padding.
 */
import {tf} from '../../../engine/tf.js'
import {type Backend, type Info, dispose, heapF32, idOf, makeView, offsetOf, releaseView, reshaped, run} from '../heap.js'
import {gemm, gemmLimits} from './matmul.js'

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding

/** Largest scratch matrix (floats) a chunk may use: 4M floats = 16 MB (tests lower it). */
export const convLimits = {chunkFloats: 1 << 22}

function imagesPerChunk(n: number, perImage: number): number {
  return Math.max(1, Math.min(n, Math.floor(convLimits.chunkFloats / Math.max(1, perImage))))
}

/**
 * Filter taps along one axis that touch the input for at least one output position: [lo, hi).
 * The others only ever meet padding (a 3×3 'same' filter on a 1×1 map uses its centre only).
 */
export function usedTaps(inSize: number, k: number, stride: number, padBefore: number, outSize: number): [number, number] {
  let lo = k
  let hi = 0
  for (let r = 0; r < k; r++) {
    for (let y = 0; y < outSize; y++) {
      const i = y * stride + r - padBefore
      if (i >= 0 && i < inSize) {
        lo = Math.min(lo, r)
        hi = Math.max(hi, r + 1)
        break
      }
    }
  }
  return lo < hi ? [lo, hi] : [0, k]
}

/** filter[r0:r1, c0:c1, :, :] as a new tensor. */
function sliceTaps(backend: Backend, filter: Info, r0: number, r1: number, c0: number, c1: number): Info {
  const [, kw, ci, co] = filter.shape
  const out = backend.makeOutput([r1 - r0, c1 - c0, ci, co], 'float32')
  const heap = heapF32(backend)
  const src = offsetOf(backend, filter) >>> 2
  let dst = offsetOf(backend, out) >>> 2
  const block = ci * co
  for (let r = r0; r < r1; r++) {
    const from = src + (r * kw + c0) * block
    heap.copyWithin(dst, from, from + (c1 - c0) * block)
    dst += (c1 - c0) * block
  }
  return out
}

interface ForwardAttrs {
  strides: number | [number, number]
  pad: Pad
  dataFormat: 'NHWC' | 'NCHW'
  dilations: number | [number, number]
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
}

/**
 * `Conv2D` / `FusedConv2D`: the package's XNNPACK kernel, given only the filter taps that can
 * touch the input. On small maps most taps of a padded filter see only zeros (ResNet's last stage
 * runs 3×3 filters on 1×1 maps), and XNNPACK would still multiply by all of them, slowly.
 */
export function convForwardConfig(original: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: original.kernelName,
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: (args) => {
      const backend = args.backend as unknown as Backend
      const {x, filter} = args.inputs as {x: Info; filter: Info}
      const attrs = args.attrs as unknown as ForwardAttrs
      if (attrs.dataFormat === 'NCHW' || filter.shape.length !== 4) return original.kernelFunc(args)
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number], filter.shape as [number, number, number, number], attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
      )
      if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return original.kernelFunc(args)
      const [kh, kw] = filter.shape
      const [r0, r1] = usedTaps(info.inHeight, kh, info.strideHeight, info.padInfo.top, info.outHeight)
      const [c0, c1] = usedTaps(info.inWidth, kw, info.strideWidth, info.padInfo.left, info.outWidth)
      if (r1 - r0 === kh && c1 - c0 === kw) return original.kernelFunc(args)
      const top = info.padInfo.top - r0
      const left = info.padInfo.left - c0
      const bottom = Math.max(0, (info.outHeight - 1) * info.strideHeight + (r1 - r0) - info.inHeight - top)
      const right = Math.max(0, (info.outWidth - 1) * info.strideWidth + (c1 - c0) - info.inWidth - left)
      const pad: tf.backend_util.ExplicitPadding = [[0, 0], [top, bottom], [left, right], [0, 0]]
      const check = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number], [r1 - r0, c1 - c0, filter.shape[2], filter.shape[3]], attrs.strides, 1, pad, undefined, false, 'channelsLast',
      )
      if (check.outHeight !== info.outHeight || check.outWidth !== info.outWidth) return original.kernelFunc(args)
      const trimmed = sliceTaps(backend, filter, r0, r1, c0, c1)
      try {
        return original.kernelFunc({...args, inputs: {...args.inputs, filter: trimmed}, attrs: {...args.attrs, pad, dimRoundingMode: undefined} as unknown as tf.NamedAttrMap})
      } finally {
        dispose(backend, trimmed)
      }
    },
  }
}

interface BackpropFilterAttrs {
  strides: number | [number, number]
  pad: Pad
  dataFormat: 'NHWC' | 'NCHW'
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  filterShape: [number, number, number, number]
}

export function conv2dBackpropFilter(backend: Backend, x: Info, dy: Info, attrs: BackpropFilterAttrs): Info {
  const {strides, pad, dataFormat, dimRoundingMode, filterShape} = attrs
  if (dataFormat === 'NCHW') throw new Error("Conv2DBackpropFilter on the wasm backend supports dataFormat 'NHWC' only")
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast')
  const [fkh, fkw, ci, co] = filterShape
  const [n, h, w] = x.shape
  const {outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw} = info
  // Only the taps that touch the input get a gradient other than 0.
  const [r0, r1] = usedTaps(h, fkh, sh, info.padInfo.top, oh)
  const [q0, q1] = usedTaps(w, fkw, sw, info.padInfo.left, ow)
  const kh = r1 - r0
  const kw = q1 - q0
  const top = info.padInfo.top - r0
  const left = info.padInfo.left - q0
  const trimmed = kh !== fkh || kw !== fkw
  const k = kh * kw * ci
  const perImage = oh * ow
  const dw = backend.makeOutput(filterShape, 'float32')
  if (n * perImage === 0 || k * co === 0) {
    heapF32(backend).fill(0, offsetOf(backend, dw) >>> 2, (offsetOf(backend, dw) >>> 2) + fkh * fkw * ci * co)
    return dw
  }
  // Chunks of output rows (n·oh of them): colᵀ stays under chunkFloats, and the chunk of dy that
  // XNNPACK packs as its right operand under gemmLimits.blockFloats (see matmul.ts).
  const totalRows = n * oh
  const rowsPerChunk = Math.max(1, Math.min(totalRows, Math.floor(convLimits.chunkFloats / (k * ow)), Math.floor(gemmLimits.blockFloats / (co * ow))))
  const xt = run('Transpose', backend, {x}, {perm: [3, 0, 1, 2]}) // [ci, n, h, w]
  const col = backend.makeOutput([k, rowsPerChunk * ow], 'float32')
  const acc = trimmed ? backend.makeOutput([kh, kw, ci, co], 'float32') : dw
  const partial = rowsPerChunk < totalRows ? backend.makeOutput([k, co], 'float32') : undefined
  const colId = idOf(backend, col)
  const accId = idOf(backend, acc)
  const dyOff = offsetOf(backend, dy)
  // Valid output-column range of every filter column c: 0 ≤ z·sw + c − left < w.
  const z0 = new Int32Array(kw)
  const z1 = new Int32Array(kw)
  for (let c = 0; c < kw; c++) {
    z0[c] = Math.min(ow, Math.max(0, Math.ceil((left - c) / sw)))
    z1[c] = Math.max(z0[c], Math.min(ow, Math.ceil((w + left - c) / sw)))
  }
  try {
    for (let q0 = 0; q0 < totalRows; q0 += rowsPerChunk) {
      const q1 = Math.min(totalRows, q0 + rowsPerChunk)
      const mc = (q1 - q0) * ow
      const heap = heapF32(backend)
      const xs = offsetOf(backend, xt) >>> 2
      const cs = offsetOf(backend, col) >>> 2
      for (let r = 0; r < kh; r++) {
        for (let c = 0; c < kw; c++) {
          const lo = z0[c]
          const hi = z1[c]
          for (let i = 0; i < ci; i++) {
            const plane = xs + i * n * h * w
            let m = cs + ((r * kw + c) * ci + i) * mc
            for (let q = q0; q < q1; q++, m += ow) {
              const b = Math.floor(q / oh)
              const iy = (q - b * oh) * sh + r - top
              if (iy < 0 || iy >= h) {
                heap.fill(0, m, m + ow)
                continue
              }
              if (lo > 0) heap.fill(0, m, m + lo)
              if (hi < ow) heap.fill(0, m + hi, m + ow)
              const base = plane + (b * h + iy) * w + c - left
              if (sw === 1) {
                if (hi - lo > 16) heap.copyWithin(m + lo, base + lo, base + hi)
                else for (let z = lo; z < hi; z++) heap[m + z] = heap[base + z]
              } else {
                for (let z = lo; z < hi; z++) heap[m + z] = heap[base + z * sw]
              }
            }
          }
        }
      }
      const dyView = makeView(backend, dyOff + q0 * ow * co * 4, mc * co)
      try {
        gemm(backend, colId, k, mc, dyView, co, q0 === 0 ? accId : idOf(backend, partial!))
      } finally {
        releaseView(backend, dyView)
      }
      if (q0 > 0) {
        const heap2 = heapF32(backend)
        const d = offsetOf(backend, acc) >>> 2
        const p = offsetOf(backend, partial!) >>> 2
        for (let j = 0; j < k * co; j++) heap2[d + j] += heap2[p + j]
      }
    }
    if (trimmed) {
      const heap = heapF32(backend)
      const d = offsetOf(backend, dw) >>> 2
      const a = offsetOf(backend, acc) >>> 2
      const block = ci * co
      heap.fill(0, d, d + fkh * fkw * block)
      for (let r = 0; r < kh; r++) {
        const from = a + r * kw * block
        heap.copyWithin(d + ((r + r0) * fkw + q0) * block, from, from + kw * block)
      }
    }
  } finally {
    dispose(backend, xt, col, partial, trimmed ? acc : undefined)
  }
  return dw
}

interface BackpropInputAttrs {
  strides: number | [number, number]
  pad: Pad
  dataFormat: 'NHWC' | 'NCHW'
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  inputShape: [number, number, number, number]
}

/** W[kh, kw, ci, co] → W'[KH−1−kh, KW−1−kw, co, ci]. */
function flipFilter(backend: Backend, filter: Info): Info {
  const [kh, kw, ci, co] = filter.shape
  const out = backend.makeOutput([kh, kw, co, ci], 'float32')
  const heap = heapF32(backend)
  const src = offsetOf(backend, filter) >>> 2
  const dst = offsetOf(backend, out) >>> 2
  const block = ci * co
  for (let r = 0; r < kh; r++) {
    for (let c = 0; c < kw; c++) {
      const s0 = src + ((kh - 1 - r) * kw + (kw - 1 - c)) * block
      const d0 = dst + (r * kw + c) * block
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) heap[d0 + o * ci + i] = heap[s0 + i * co + o]
      }
    }
  }
  return out
}

export function conv2dBackpropInput(backend: Backend, dy: Info, filter: Info, attrs: BackpropInputAttrs): Info {
  const {strides, pad, dataFormat, dimRoundingMode, inputShape} = attrs
  if (dataFormat === 'NCHW') throw new Error("Conv2DBackpropInput on the wasm backend supports dataFormat 'NHWC' only")
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, 'channelsLast')
  const [kh, kw, ci, co] = filter.shape
  const [n, h, w] = inputShape
  const [, oh, ow] = dy.shape
  const {top, left} = info.padInfo
  const sh = info.strideHeight
  const sw = info.strideWidth
  const padT = kh - 1 - top
  const padL = kw - 1 - left
  const padB = h - oh + top
  const padR = w - ow + left

  if (sh === 1 && sw === 1 && padT >= 0 && padL >= 0 && padB >= 0 && padR >= 0 && n * h * w * ci > 0) {
    const flipped = flipFilter(backend, filter)
    try {
      return run('Conv2D', backend, {x: dy, filter: flipped}, {
        strides: [1, 1],
        dilations: [1, 1],
        pad: [[0, 0], [padT, padB], [padL, padR], [0, 0]],
        dataFormat: 'NHWC',
      })
    } finally {
      dispose(backend, flipped)
    }
  }

  // dcol[(n, oh, ow), (kh, kw, ci)] = Σ_co dy[n, oh, ow, co] · W[kh, kw, ci, co], then col2im,
  // over the taps that touch the input only.
  const [r0, r1] = usedTaps(h, kh, sh, top, oh)
  const [q0, q1] = usedTaps(w, kw, sw, left, ow)
  const th = r1 - r0
  const tw = q1 - q0
  const k = th * tw * ci
  const perImage = oh * ow
  const dx = backend.makeOutput(inputShape, 'float32')
  {
    const out = offsetOf(backend, dx) >>> 2
    heapF32(backend).fill(0, out, out + n * h * w * ci)
  }
  if (n * perImage * k === 0 || co === 0) return dx
  const taps = th === kh && tw === kw ? filter : sliceTaps(backend, filter, r0, r1, q0, q1)
  const wt = run('Transpose', backend, {x: reshaped(taps, [k, co])}, {perm: [1, 0]}) // [co, k]
  if (taps !== filter) dispose(backend, taps)
  const chunk = imagesPerChunk(n, k * perImage)
  const dcol = backend.makeOutput([chunk * perImage, k], 'float32')
  const dyOff = offsetOf(backend, dy)
  try {
    for (let b0 = 0; b0 < n; b0 += chunk) {
      const b1 = Math.min(n, b0 + chunk)
      const mc = (b1 - b0) * perImage
      const dyView = makeView(backend, dyOff + b0 * perImage * co * 4, mc * co)
      try {
        gemm(backend, dyView, mc, co, idOf(backend, wt), k, idOf(backend, dcol))
      } finally {
        releaseView(backend, dyView)
      }
      const heap = heapF32(backend)
      const out = offsetOf(backend, dx) >>> 2
      let rowBase = offsetOf(backend, dcol) >>> 2
      for (let b = b0; b < b1; b++) {
        for (let y = 0; y < oh; y++) {
          for (let x = 0; x < ow; x++, rowBase += k) {
            for (let r = 0; r < th; r++) {
              const iy = y * sh + r + r0 - top
              if (iy < 0 || iy >= h) continue
              for (let c = 0; c < tw; c++) {
                const ix = x * sw + c + q0 - left
                if (ix < 0 || ix >= w) continue
                const d0 = out + ((b * h + iy) * w + ix) * ci
                const s0 = rowBase + (r * tw + c) * ci
                for (let i = 0; i < ci; i++) heap[d0 + i] += heap[s0 + i]
              }
            }
          }
        }
      }
    }
  } finally {
    dispose(backend, wt, dcol)
  }
  return dx
}

function inputKernel({inputs, backend, attrs}: {inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap}): Info {
  const {dy, filter} = inputs as {dy: Info; filter: Info}
  return conv2dBackpropInput(backend as Backend, dy, filter, attrs as unknown as BackpropInputAttrs)
}

function filterKernel({inputs, backend, attrs}: {inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap}): Info {
  const {x, dy} = inputs as {x: Info; dy: Info}
  return conv2dBackpropFilter(backend as Backend, x, dy, attrs as unknown as BackpropFilterAttrs)
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: inputKernel as tf.KernelFunc}
export const conv2dBackpropFilterConfig: tf.KernelConfig = {kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: filterKernel as tf.KernelFunc}
