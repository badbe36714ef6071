/**
 * `MaxPoolGrad` on the WASM heap: one pass that finds each window's maximum (the first strictly
 * greatest value in row-major window order, as the cpu backend does) and adds dy there. The
 * package's version loops over every input position and every window that could contain it.
 */
import {tf} from '../../../engine/tf.js'
import {type Backend, type Info, heapF32, offsetOf} from '../heap.js'

interface PoolAttrs {
  filterSize: number | [number, number]
  strides: number | [number, number]
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
}

export function maxPoolGrad(backend: Backend, dy: Info, x: Info, attrs: PoolAttrs): Info {
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode)
  const {batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw} = info
  const fh = info.effectiveFilterHeight
  const fw = info.effectiveFilterWidth
  const {top, left} = info.padInfo
  const dx = backend.makeOutput(x.shape, 'float32')
  const heap = heapF32(backend)
  const xs = offsetOf(backend, x) >>> 2
  const dys = offsetOf(backend, dy) >>> 2
  const out = offsetOf(backend, dx) >>> 2
  heap.fill(0, out, out + n * h * w * c)
  const best = new Float32Array(c)
  const where = new Int32Array(c)
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      const r0 = Math.max(0, y * sh - top)
      const r1 = Math.min(h, y * sh - top + fh)
      for (let z = 0; z < ow; z++) {
        const c0 = Math.max(0, z * sw - left)
        const c1 = Math.min(w, z * sw - left + fw)
        best.fill(-Infinity)
        where.fill(-1)
        for (let r = r0; r < r1; r++) {
          for (let q = c0; q < c1; q++) {
            const base = ((b * h + r) * w + q) * c
            for (let d = 0; d < c; d++) {
              const v = heap[xs + base + d]
              if (v > best[d]) {
                best[d] = v
                where[d] = base + d
              }
            }
          }
        }
        const g = dys + ((b * oh + y) * ow + z) * c
        for (let d = 0; d < c; d++) if (where[d] >= 0) heap[out + where[d]] += heap[g + d]
      }
    }
  }
  return dx
}

function kernel({inputs, backend, attrs}: {inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap}): Info {
  const {dy, input} = inputs as {dy: Info; input: Info}
  return maxPoolGrad(backend as Backend, dy, input, attrs as unknown as PoolAttrs)
}

export const maxPoolGradConfig: tf.KernelConfig = {kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: kernel as tf.KernelFunc}
