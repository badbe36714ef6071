/**
 * The weightless core of multi-head attention, as in vit-pytorch / perceiver-pytorch: split heads
 * ('b n (h d) -> b h n d'), softmax(q·kᵀ · scale) · v, merge heads back.
 *
 * Inputs: `[qkv]` packed (B, N, 3·h·d) for self-attention (chunk order q, k, v), or `[q, kv]` with
 * q (B, N, h·d) and kv (B, M, 2·h·d) for cross-attention (chunk order k, v). Output (B, N, h·d).
 *
 * Where the backend has `MixtureStridedMatMul` (strided-matmul.ts) and `MixtureSoftmaxGrad`
 * (softmax.ts), q, k and v are read in place from their projections (heads at stride d inside
 * each row) and the output is written as (B, N, h·d): forward = 2 products + softmax, backward = 4
 * products + the softmax gradient + one concat, instead of ~35 dispatches with splits and
 * transposes. Same arithmetic as the composite up to rounding (the scale is applied to the product).
 */
import {tf} from '../engine/tf.js'
import {constant} from '../engine/constants.js'
import {customOp, hasKernels, type OpContract} from './contract.js'
import {softmax, softmaxGrad, SOFTMAX_GRAD_KERNEL} from './softmax.js'
import {stridedMatMul, STRIDED_MATMUL_KERNEL} from './strided-matmul.js'

/** Whether this backend runs attention as strided products (no split, no head transposes). */
export function hasFusedAttention(): boolean {
  return hasKernels(STRIDED_MATMUL_KERNEL, SOFTMAX_GRAD_KERNEL)
}

/** Multi-head attention over packed projections (see the module comment): strided products where the backend has them. */
export function attention(inputs: tf.Tensor[], heads: number, dimHead: number, scale: number): tf.Tensor {
  if (hasFusedAttention()) return attentionFused(inputs, heads, dimHead, scale)
  return attentionComposite(inputs, heads, dimHead, scale)
}

function splitHeads(t: tf.Tensor, heads: number, dimHead: number): tf.Tensor {
  const [b, n] = t.shape
  return tf.transpose(tf.reshape(t, [b, n, heads, dimHead]), [0, 2, 1, 3])
}

/** softmax(q kᵀ · scale) v over (B, h, N, d) tensors. */
export function attend(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number): tf.Tensor {
  // Scaling q first touches N·d values instead of N·M similarities; same result up to rounding.
  const sim = tf.matMul(tf.mul(q, constant(scale)) as tf.Tensor4D, k as tf.Tensor4D, false, true)
  return tf.matMul(softmax(sim), v as tf.Tensor4D)
}

/** Attention from tfjs ops: split the projections, move heads in front, attend, merge heads back. */
export function attentionComposite(inputs: tf.Tensor[], heads: number, dimHead: number, scale: number): tf.Tensor {
  const inner = heads * dimHead
  let q: tf.Tensor
  let k: tf.Tensor
  let v: tf.Tensor
  if (inputs.length === 1) {
    ;[q, k, v] = tf.split(inputs[0], [inner, inner, inner], -1)
  } else {
    q = inputs[0]
    ;[k, v] = tf.split(inputs[1], [inner, inner], -1)
  }
  const [b, n] = q.shape
  const out = attend(splitHeads(q, heads, dimHead), splitHeads(k, heads, dimHead), splitHeads(v, heads, dimHead), scale)
  return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, n, inner])
}

/** Operand layout of one of q, k, v, the output: element offset, batch and row strides (features contiguous). */
interface HeadView {
  off: number
  batch: number
  row: number
}

type View5 = [number, number, number, number, number]

/** Attention as strided products through `MixtureStridedMatMul` and `MixtureSoftmaxGrad`. */
export function attentionFused(inputs: tf.Tensor[], heads: number, d: number, scale: number): tf.Tensor {
  const inner = heads * d
  const self = inputs.length === 1
  const [B, N] = inputs[0].shape as number[]
  const M = (self ? inputs[0] : inputs[1]).shape[1] as number
  const qRow = self ? 3 * inner : inner
  const kvRow = self ? 3 * inner : 2 * inner
  const q: HeadView = {off: 0, batch: N * qRow, row: qRow}
  const k: HeadView = {off: self ? inner : 0, batch: M * kvRow, row: kvRow}
  const v: HeadView = {off: self ? 2 * inner : inner, batch: M * kvRow, row: kvRow}
  const sims = [B, heads, N, M]
  const nd = {batch: B, heads}
  const rows = (h: HeadView): View5 => [h.off, h.batch, d, h.row, 1] // (i or k) = row, (k or j) = feature
  const cols = (h: HeadView): View5 => [h.off, h.batch, d, 1, h.row] // k = feature, j = row
  const simRows: View5 = [0, heads * N * M, N * M, M, 1]
  const simView = simRows.slice(1) as [number, number, number, number] // the similarities as an output
  const simCols: View5 = [0, heads * N * M, N * M, 1, M] // transposed
  const out: HeadView = {off: 0, batch: N * inner, row: inner}
  const outView = (rowsOf: number): [number, number, number, number] => [rowsOf * inner, d, inner, 1]
  const product = (a: tf.Tensor, aView: View5, b: tf.Tensor, bView: View5, dims: {I: number; J: number; K: number}, alpha: number, outShape: number[], cView: number[]) =>
    stridedMatMul(a, b, {...dims, ...nd, alpha, outShape, aView, bView, cView})
  const op = customOp((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc
    const xs = args as tf.Tensor[]
    const qSrc = xs[0]
    const kvSrc = self ? xs[0] : xs[1]
    const s = product(qSrc, rows(q), kvSrc, cols(k), {I: N, J: M, K: d}, scale, sims, simView)
    const p = tf.softmax(s, -1)
    const o = product(p, simRows, kvSrc, rows(v), {I: N, J: d, K: M}, 1, [B, N, inner], outView(N))
    save([...xs, p])
    return {
      value: o,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const pSaved = saved[saved.length - 1]
        const qIn = saved[0]
        const kvIn = self ? saved[0] : saved[1]
        const dp = product(dy, rows(out), kvIn, cols(v), {I: N, J: M, K: d}, 1, sims, simView)
        const ds = softmaxGrad(dp, pSaved)
        const dq = product(ds, simRows, kvIn, rows(k), {I: N, J: d, K: M}, scale, [B, N, inner], outView(N))
        const dk = product(ds, simCols, qIn, rows(q), {I: M, J: d, K: N}, scale, [B, M, inner], outView(M))
        const dv = product(pSaved, simCols, dy, rows(out), {I: M, J: d, K: N}, 1, [B, M, inner], outView(M))
        return self ? [tf.concat([dq, dk, dv], -1)] : [dq, tf.concat([dk, dv], -1)]
      },
    }
  })
  return op(...inputs)
}

/** Self-attention over packed q, k, v, and cross-attention of a few queries over many keys. */
export const attentionOps: OpContract[] = [
  {what: 'self', shapes: [[2, 9, 3 * 16]]},
  {what: 'cross', shapes: [[2, 5, 16], [2, 40, 2 * 16]]},
].map(({what, shapes}) => ({
  name: `attention (${what})`,
  summary: 'softmax(q·kᵀ·scale)·v over heads read in place from packed projections',
  kernels: [STRIDED_MATMUL_KERNEL, SOFTMAX_GRAD_KERNEL],
  example: () => shapes.map((s, i) => tf.randomUniform(s, -1, 1, 'float32', 81 + i)),
  fused: (xs) => [attentionFused(xs, 2, 8, 8 ** -0.5)],
  composite: (xs) => [attentionComposite(xs, 2, 8, 8 ** -0.5)],
  gradients: shapes.map((_, i) => i),
  tolerance: 1e-5,
}))
