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
