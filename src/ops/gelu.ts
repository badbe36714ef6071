/**
 * Exact GELU, x · Φ(x) = 0.5·x·(1 + erf(x/√2)), the ViT MLP's activation.
 *
 * Kernels (the native, wasm and webgpu backends register them):
 *   `MixtureGelu` {x} float32 → y
 *   `MixtureGeluGrad` {dy, x} float32 → dx = dy·(Φ(x) + x·φ(x))
 */
import {tf} from '../engine/tf.js'
import {constant} from '../engine/constants.js'
import {hasKernels, unaryKernelOp, type OpContract} from './contract.js'

export const GELU_KERNEL = 'MixtureGelu'
export const GELU_GRAD_KERNEL = 'MixtureGeluGrad'

/** Exact GELU: one kernel each way where the backend has them. */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (hasKernels(GELU_KERNEL, GELU_GRAD_KERNEL)) return unaryKernelOp(GELU_KERNEL, GELU_GRAD_KERNEL, x)
  return geluComposite(x)
}

/** GELU from tfjs ops (erf, and tfjs's gradients of them). */
export function geluComposite(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, constant(0.5)), tf.add(constant(1), tf.erf(tf.mul(x, constant(Math.SQRT1_2))))))
}

export const geluOp: OpContract = {
  name: 'gelu',
  summary: 'exact GELU, 0.5·x·(1 + erf(x/√2))',
  kernels: [GELU_KERNEL, GELU_GRAD_KERNEL],
  example: () => [tf.randomUniform([5, 37], -4, 4, 'float32', 41)],
  fused: ([x]) => [unaryKernelOp(GELU_KERNEL, GELU_GRAD_KERNEL, x)],
  composite: ([x]) => [geluComposite(x)],
  gradients: [0],
  tolerance: 1e-4,
}
