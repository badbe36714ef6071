/**
 * The weightless core of multi-head attention as a layer (the attention op, ops/attention.ts):
 * split heads, softmax(q·kᵀ · scale) · v, merge heads back. The projections (to_qkv, to_q, to_kv,
 * to_out) are ordinary Dense layers around it.
 *
 * Inputs: `[qkv]` packed (B, N, 3·h·d) for self-attention (chunk order q, k, v), or
 * `[q, kv]` with q (B, N, h·d) and kv (B, M, 2·h·d) for cross-attention (chunk order k, v).
 * Output (B, N, h·d).
 */
import {tf, tfl} from '../engine/tf.js'
import {attention} from '../ops/attention.js'

export interface AttentionCoreArgs {
  name?: string
  heads: number
  dimHead: number
  /** Defaults to dimHead^-0.5. */
  scale?: number
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
      return attention(list, this.heads, this.dimHead, this.scale)
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
