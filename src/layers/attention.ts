/**
 * The weightless core of multi-head attention, as in vit-pytorch / perceiver-pytorch:
 * split heads ('b n (h d) -> b h n d'), softmax(q·kᵀ · scale) · v, merge heads back.
 * The projections (to_qkv, to_q, to_kv, to_out) are ordinary Dense layers around it.
 *
 * Inputs: `[qkv]` packed (B, N, 3·h·d) for self-attention (chunk order q, k, v), or
 * `[q, kv]` with q (B, N, h·d) and kv (B, M, 2·h·d) for cross-attention (chunk order k, v).
 * Output (B, N, h·d).
 */
import {tf, tfl} from '../engine/tf.js'
import {constant} from '../engine/constants.js'

export interface AttentionCoreArgs {
  name?: string
  heads: number
  dimHead: number
  /** Defaults to dimHead^-0.5. */
  scale?: number
}

function splitHeads(t: tf.Tensor, heads: number, dimHead: number): tf.Tensor {
  const [b, n] = t.shape
  return tf.transpose(tf.reshape(t, [b, n, heads, dimHead]), [0, 2, 1, 3])
}

/** softmax(q kᵀ · scale) v over (B, h, N, d) tensors. */
export function attend(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number): tf.Tensor {
  // Scaling q first touches N·d values instead of N·M similarities; same result up to rounding.
  const sim = tf.matMul(tf.mul(q, constant(scale)) as tf.Tensor4D, k as tf.Tensor4D, false, true)
  return tf.matMul(softmaxLastAxis(sim), v as tf.Tensor4D)
}

/** Softmax over the last axis; its gradient is one kernel where the backend has `MixtureSoftmaxGrad`. */
function softmaxLastAxis(logits: tf.Tensor): tf.Tensor {
  if (!tf.getKernel('MixtureSoftmaxGrad', tf.getBackend())) return tf.softmax(logits, -1)
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = tf.softmax(x, -1)
    save([y])
    return {value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.engine().runKernel('MixtureSoftmaxGrad', {dy, y: saved[0]}) as tf.Tensor}
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(logits) as tf.Tensor
}

/** Operand layout for `MixtureStridedMatMul`: element offset, batch/head/row strides (features contiguous). */
interface HeadView {
  off: number
  batch: number
  row: number
}

type View5 = [number, number, number, number, number]

function stridedMatMul(
  a: tf.Tensor,
  aView: View5,
  b: tf.Tensor,
  bView: View5,
  dims: {I: number; J: number; K: number; batch: number; heads: number},
  alpha: number,
  outShape: number[],
  cView: [number, number, number, number],
): tf.Tensor {
  return tf.engine().runKernel('MixtureStridedMatMul', {a, b}, {...dims, alpha, outShape, aView, bView, cView} as unknown as tf.NamedAttrMap) as tf.Tensor
}

/** Whether this backend runs attention as strided products (no split, no head transposes). */
export function hasFusedAttention(): boolean {
  const backend = tf.getBackend()
  return tf.getKernel('MixtureStridedMatMul', backend) != null && tf.getKernel('MixtureSoftmaxGrad', backend) != null
}

/**
 * softmax(q kᵀ · scale) v with q, k, v read in place from their projections (heads at stride d
 * inside each row) and the output written as (B, N, h·d): forward = 2 products + softmax, backward
 * = 4 products + the softmax gradient + one concat, instead of ~35 dispatches with splits and
 * transposes. Same arithmetic as `attend` up to rounding (the scale is applied to the product).
 */
function fusedAttention(inputs: tf.Tensor[], heads: number, d: number, scale: number): tf.Tensor {
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
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc
    const xs = args as tf.Tensor[]
    const qSrc = xs[0]
    const kvSrc = self ? xs[0] : xs[1]
    const s = stridedMatMul(qSrc, rows(q), kvSrc, cols(k), {I: N, J: M, K: d, ...nd}, scale, sims, simView)
    const p = tf.softmax(s, -1)
    const o = stridedMatMul(p, simRows, kvSrc, rows(v), {I: N, J: d, K: M, ...nd}, 1, [B, N, inner], outView(N))
    save([...xs, p])
    return {
      value: o,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const pSaved = saved[saved.length - 1]
        const qIn = saved[0]
        const kvIn = self ? saved[0] : saved[1]
        const dp = stridedMatMul(dy, rows(out), kvIn, cols(v), {I: N, J: M, K: d, ...nd}, 1, sims, simView)
        const ds = tf.engine().runKernel('MixtureSoftmaxGrad', {dy: dp, y: pSaved}) as tf.Tensor
        const dq = stridedMatMul(ds, simRows, kvIn, rows(k), {I: N, J: d, K: M, ...nd}, scale, [B, N, inner], outView(N))
        const dk = stridedMatMul(ds, simCols, qIn, rows(q), {I: M, J: d, K: N, ...nd}, scale, [B, M, inner], outView(M))
        const dv = stridedMatMul(pSaved, simCols, dy, rows(out), {I: M, J: d, K: N, ...nd}, 1, [B, M, inner], outView(M))
        return self ? [tf.concat([dq, dk, dv], -1)] : [dq, tf.concat([dk, dv], -1)]
      },
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return (op as unknown as (...t: tf.Tensor[]) => tf.Tensor)(...inputs)
}

export class AttentionCore extends tfl.layers.Layer {
  static className = 'MixtureAttentionCore'
  readonly heads: number
  readonly dimHead: number
  readonly scale: number

  constructor(args: AttentionCoreArgs) {
    super({name: args.name})
    this.heads = args.heads
    this.dimHead = args.dimHead
    this.scale = args.scale ?? args.dimHead ** -0.5
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs]
      if (hasFusedAttention()) return fusedAttention(list, this.heads, this.dimHead, this.scale)
      const inner = this.heads * this.dimHead
      let q: tf.Tensor
      let k: tf.Tensor
      let v: tf.Tensor
      if (list.length === 1) {
        ;[q, k, v] = tf.split(list[0], [inner, inner, inner], -1)
      } else {
        q = list[0]
        ;[k, v] = tf.split(list[1], [inner, inner], -1)
      }
      const [b, n] = q.shape
      const out = attend(splitHeads(q, this.heads, this.dimHead), splitHeads(k, this.heads, this.dimHead), splitHeads(v, this.heads, this.dimHead), this.scale)
      return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, n, inner])
    })
  }

  computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const first = (Array.isArray(shape[0]) ? shape[0] : shape) as tfl.Shape
    return [first[0], first[1], this.heads * this.dimHead]
  }

  getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), heads: this.heads, dimHead: this.dimHead, scale: this.scale}
  }
}
tf.serialization.registerClass(AttentionCore)
