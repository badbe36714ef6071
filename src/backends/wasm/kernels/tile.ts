/**
 * `Tile` by block copies: each axis is filled once and then replicated with `copyWithin`, so the
 * work is a few large memory moves instead of index arithmetic per element (the package's
 * version; BatchNorm's gradient tiles per-channel statistics to the full activation size).
 */
import {tf} from '../../../engine/tf.js'
import {type Backend, type Info, offsetOf, wasmOf} from '../heap.js'

export function tile(backend: Backend, x: Info, reps: number[]): Info {
  const shape = x.shape
  const rank = shape.length
  const outShape = shape.map((s, i) => s * reps[i])
  const out = backend.makeOutput(outShape, x.dtype)
  const size = tf.util.sizeFromShape(outShape)
  if (size === 0) return out
  const bytes = x.dtype === 'bool' ? 1 : 4
  const wasm = wasmOf(backend)
  const buffer = wasm.wasmMemory?.buffer ?? wasm.HEAPU8.buffer
  const heap = bytes === 1 ? new Uint8Array(buffer) : new Int32Array(buffer)
  const src0 = offsetOf(backend, x) / bytes
  const dst0 = offsetOf(backend, out) / bytes
  if (rank === 0) {
    heap[dst0] = heap[src0]
    return out
  }
  const srcStrides = new Array<number>(rank)
  const dstStrides = new Array<number>(rank)
  srcStrides[rank - 1] = 1
  dstStrides[rank - 1] = 1
  for (let d = rank - 2; d >= 0; d--) {
    srcStrides[d] = srcStrides[d + 1] * shape[d + 1]
    dstStrides[d] = dstStrides[d + 1] * outShape[d + 1]
  }
  // fill(d, s, t): writes the tiled sub-block of axis d (size outShape[d]·dstStrides[d]) at t from s.
  const fill = (d: number, s: number, t: number): void => {
    if (d === rank - 1) {
      const len = shape[d]
      if (len === 1) heap.fill(heap[s], t, t + reps[d])
      else {
        heap.copyWithin(t, s, s + len)
        for (let r = 1; r < reps[d]; r++) heap.copyWithin(t + r * len, t, t + len)
      }
      return
    }
    for (let i = 0; i < shape[d]; i++) fill(d + 1, s + i * srcStrides[d], t + i * dstStrides[d])
    const block = shape[d] * dstStrides[d]
    for (let r = 1; r < reps[d]; r++) heap.copyWithin(t + r * block, t, t + block)
  }
  fill(0, src0, dst0)
  return out
}

export function tileConfig(original: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: 'Tile',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: (args) => {
      const {x} = args.inputs as {x: Info}
      const {reps} = args.attrs as unknown as {reps: number[]}
      if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') return original.kernelFunc(args)
      return tile(args.backend as unknown as Backend, x, reps)
    },
  }
}
