/**
 * Gradient clipping by global norm, as PyTorch's `torch.nn.utils.clip_grad_norm_(params, max_norm)`:
 *   total = ‖(‖g₁‖₂, …, ‖gₙ‖₂)‖₂;  every g ← g · min(1, max_norm / (total + 1e-6))
 * From tfjs ops, all on the device: the factor is never read back, so a step does not wait on the
 * host (and a recorded step replays it like any other dispatch). No kernel of its own.
 */
import {tf} from '../engine/tf.js'

/** `grads` scaled so that their global L2 norm is at most `maxNorm` (new tensors; the caller disposes both). */
export function clipGradNorm(grads: tf.Tensor[], maxNorm: number): tf.Tensor[] {
  return tf.tidy(() => {
    const total = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))))
    const factor = tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(total, tf.scalar(1e-6))), tf.scalar(1))
    return grads.map((g) => tf.mul(g, factor))
  })
}
