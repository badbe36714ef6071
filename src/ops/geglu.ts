/**
 * GEGLU, the Perceiver feed-forward's gate: the last axis split in halves (x, gates) → x · GELU(gates).
 *
 * Kernels (the webgpu backend registers them):
 *   `MixtureGeglu` {x} float32 (…, 2D) → (…, D)
 *   `MixtureGegluGrad` {dy (…, D), x (…, 2D)} → dx (…, 2D)
 */
import {tf} from '../engine/tf.js'
import {hasKernels, unaryKernelOp, type OpContract} from './contract.js'
import {gelu} from './gelu.js'

export const GEGLU_KERNEL = 'MixtureGeglu'
export const GEGLU_GRAD_KERNEL = 'MixtureGegluGrad'

/** GEGLU: one kernel each way where the backend has them. */
export function geglu(t: tf.Tensor): tf.Tensor {
  if (hasKernels(GEGLU_KERNEL, GEGLU_GRAD_KERNEL)) return unaryKernelOp(GEGLU_KERNEL, GEGLU_GRAD_KERNEL, t)
  return gegluComposite(t)
}

/** GEGLU from tfjs ops and the GELU op. */
export function gegluComposite(t: tf.Tensor): tf.Tensor {
  const half = t.shape[t.rank - 1]! / 2
  const [x, gates] = tf.split(t, [half, half], -1)
  return tf.mul(x, gelu(gates))
}

export const gegluOp: OpContract = {
  name: 'geglu',
  summary: 'x · GELU(gates), the last axis split in halves (x, gates)',
  kernels: [GEGLU_KERNEL, GEGLU_GRAD_KERNEL],
  example: () => [tf.randomUniform([3, 5, 2 * 19], -4, 4, 'float32', 51)],
  fused: ([x]) => [unaryKernelOp(GEGLU_KERNEL, GEGLU_GRAD_KERNEL, x)],
  composite: ([x]) => [gegluComposite(x)],
  gradients: [0],
  tolerance: 1e-4,
}
