/**
 * Kernels that only move data.
 *
 * `Identity`, and `Cast` to the dtype a tensor already has, share the data (as the cpu backend
 * does) instead of copying it: tfjs-core casts every multiplier to float32 in the gradient of
 * `Mul`, so a training step made hundreds of full copies.
 *
 * `Transpose` that keeps the last axis in place (attention's [B, T, 3, H, d] → [3, B, H, T, d])
 * copies whole rows of that axis; the package's version computes an index per element and was
 * the slowest kernel of a ViT step after the products. Other permutations go to the package.
 */
import {tf} from '../../../engine/tf.js'
import {type Backend, type Info, offsetOf, wasmOf} from '../heap.js'

function share(backend: Backend, x: Info): Info {
  backend.incRef(x.dataId)
  return {dataId: x.dataId, shape: x.shape, dtype: x.dtype}
}

export function identityConfig(original: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: 'Identity',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: (args) => {
      const {x} = args.inputs as {x: Info}
      if (x.dtype === 'string') return original.kernelFunc(args)
      return share(args.backend as unknown as Backend, x)
    },
  }
}

export function castConfig(original: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: 'Cast',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: (args) => {
      const {x} = args.inputs as {x: Info}
      const {dtype} = args.attrs as unknown as {dtype: tf.DataType}
      if (x.dtype === dtype && dtype !== 'string' && dtype !== 'complex64') return share(args.backend as unknown as Backend, x)
      return original.kernelFunc(args)
    },
  }
}

/** Transpose with perm[last] = last: block copies of contiguous rows. */
function transposeRows(backend: Backend, x: Info, perm: number[]): Info {
  const shape = x.shape
  const rank = shape.length
  const outShape = perm.map((p) => shape[p])
  const out = backend.makeOutput(outShape, x.dtype)
  const size = tf.util.sizeFromShape(shape)
  if (size === 0) return out
  const bytes = x.dtype === 'bool' ? 1 : 4
  const wasm = wasmOf(backend)
  const buffer = wasm.wasmMemory?.buffer ?? wasm.HEAPU8.buffer
  const heap = bytes === 1 ? new Uint8Array(buffer) : new Int32Array(buffer)
  const src = offsetOf(backend, x) / bytes
  const dst = offsetOf(backend, out) / bytes
  const row = shape[rank - 1]
  const inStrides = new Array<number>(rank).fill(1)
  for (let d = rank - 2; d >= 0; d--) inStrides[d] = inStrides[d + 1] * shape[d + 1]
  // Walk the output rows in order; for each, the source row's offset is Σ coord_k · inStrides[perm[k]].
  const outer = outShape.slice(0, rank - 1)
  const strides = perm.slice(0, rank - 1).map((p) => inStrides[p])
  const coords = new Array<number>(rank - 1).fill(0)
  const rows = size / row
  let from = src
  for (let r = 0, to = dst; r < rows; r++, to += row) {
    if (row === 1) heap[to] = heap[from]
    else heap.copyWithin(to, from, from + row)
    // Advance the output coordinate (last outer axis fastest) and the source offset with it.
    for (let k = rank - 2; k >= 0; k--) {
      coords[k]++
      from += strides[k]
      if (coords[k] < outer[k]) break
      from -= strides[k] * coords[k]
      coords[k] = 0
    }
  }
  return out
}

export function transposeConfig(original: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: 'Transpose',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: (args) => {
      const {x} = args.inputs as {x: Info}
      const {perm} = args.attrs as unknown as {perm: number[]}
      const rank = x.shape.length
      const last = x.shape[rank - 1] ?? 1
      const dtypeOk = x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool'
      // Worth it when rows are long enough for block copies and the permutation moves something.
      if (rank < 3 || perm[rank - 1] !== rank - 1 || last < 8 || !dtypeOk || perm.every((p, i) => p === i)) return original.kernelFunc(args)
      return transposeRows(args.backend as unknown as Backend, x, perm)
    },
  }
}
