/**
 * C = α·A·B for a batch of (batch × heads) matrices, each operand addressed through its own strides:
 * attention reads q, k, v straight out of the packed projection (B, N, 3·h·d) and writes its output
 * as (B, N, h·d), with no split and no head transposes (attention.ts).
 *
 * Kernel (the webgpu backend registers it):
 *   `MixtureStridedMatMul` {a, b} float32, attrs `StridedMatMulAttrs` → C of `outShape`, where
 *   C[b, h, i, j] (at b·cB + h·cH + i·cI + j·cJ) = α · Σ_k A[aOff + b·aB + h·aH + i·aI + k·aK] · B[bOff + b·bB + h·bH + k·bK + j·bJ]
 * The kernel has no gradient of its own: attention.ts differentiates through it with more products.
 * The composite gathers both operands into (batch·heads) matrices, multiplies them and gathers the
 * result into the output's layout (the output view covers it exactly once).
 */
import {tf} from '../engine/tf.js'
import {runKernel, type OpContract} from './contract.js'

export const STRIDED_MATMUL_KERNEL = 'MixtureStridedMatMul'

/** The product's sizes and the operands' layouts. */
export interface StridedMatMulAttrs {
  I: number
  J: number
  K: number
  batch: number
  heads: number
  alpha: number
  outShape: number[]
  /** [offset, batchStride, headStride, iStride, kStride] */
  aView: number[]
  /** [offset, batchStride, headStride, kStride, jStride] */
  bView: number[]
  /** [batchStride, headStride, iStride, jStride] */
  cView: number[]
}

/** The product through `MixtureStridedMatMul` (the backend must have it). */
export function stridedMatMul(a: tf.Tensor, b: tf.Tensor, attrs: StridedMatMulAttrs): tf.Tensor {
  return runKernel(STRIDED_MATMUL_KERNEL, {a, b}, attrs)
}

/** Flat element indices of a view over (batch, heads, rows, cols): base + b·v1 + h·v2 + r·v3 + c·v4. */
function viewIndices(view: number[], batch: number, heads: number, rows: number, cols: number, base = view[0], strides = view.slice(1)): Int32Array {
  const out = new Int32Array(batch * heads * rows * cols)
  let n = 0
  for (let bi = 0; bi < batch; bi++) {
    for (let h = 0; h < heads; h++) {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) out[n++] = base + bi * strides[0] + h * strides[1] + r * strides[2] + c * strides[3]
      }
    }
  }
  return out
}

/** The product from tfjs ops: gather, batched matMul, gather (differentiable in both operands). */
export function stridedMatMulComposite(a: tf.Tensor, b: tf.Tensor, attrs: StridedMatMulAttrs): tf.Tensor {
  const {I, J, K, batch, heads, alpha, outShape, aView, bView, cView} = attrs
  return tf.tidy(() => {
    const z = batch * heads
    const take = (t: tf.Tensor, indices: Int32Array, shape: number[]) => tf.reshape(tf.gather(tf.reshape(t, [-1]), tf.tensor1d(indices, 'int32')), shape)
    const product = tf.mul(tf.matMul(take(a, viewIndices(aView, batch, heads, I, K), [z, I, K]) as tf.Tensor3D, take(b, viewIndices(bView, batch, heads, K, J), [z, K, J]) as tf.Tensor3D), alpha)
    // Where each element of the output comes from in the (batch, heads, I, J) product.
    const written = viewIndices([0, ...cView], batch, heads, I, J)
    const source = new Int32Array(written.length)
    written.forEach((at, from) => (source[at] = from))
    return take(product, source, outShape)
  })
}

/** Attention's self-attention products (q·kᵀ and p·v out of one packed row) and a transposed one. */
export const stridedMatMulOps: OpContract[] = [
  {what: 'q·kᵀ from packed rows', a: [2, 7, 3 * 2 * 8], b: [2, 7, 3 * 2 * 8], attrs: {I: 7, J: 7, K: 8, batch: 2, heads: 2, alpha: 0.35, outShape: [2, 2, 7, 7], aView: [0, 7 * 48, 8, 48, 1], bView: [16, 7 * 48, 8, 1, 48], cView: [2 * 49, 49, 7, 1]}},
  {what: 'p·v into (B, N, h·d)', a: [2, 2, 7, 7], b: [2, 7, 3 * 2 * 8], attrs: {I: 7, J: 8, K: 7, batch: 2, heads: 2, alpha: 1, outShape: [2, 7, 16], aView: [0, 2 * 49, 49, 7, 1], bView: [32, 7 * 48, 8, 48, 1], cView: [7 * 16, 8, 16, 1]}},
  {what: 'aᵀ·b over a long k', a: [300, 5], b: [300, 6], attrs: {I: 5, J: 6, K: 300, batch: 1, heads: 1, alpha: 1, outShape: [5, 6], aView: [0, 0, 0, 1, 5], bView: [0, 0, 0, 6, 1], cView: [30, 0, 6, 1]}},
].map(({what, a, b, attrs}, i) => ({
  name: `strided-matmul ${what}`,
  summary: 'α·A·B over (batch × heads) matrices read and written through strides',
  kernels: [STRIDED_MATMUL_KERNEL],
  example: () => [tf.randomUniform(a, -1, 1, 'float32', 71 + 2 * i), tf.randomUniform(b, -1, 1, 'float32', 72 + 2 * i)],
  fused: ([x, y]) => [stridedMatMul(x, y, attrs)],
  composite: ([x, y]) => [stridedMatMulComposite(x, y, attrs)],
  tolerance: 1e-5,
}))
