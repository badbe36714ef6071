/**
 * Softmax over the last axis whose gradient is one kernel: attention's similarities.
 *
 * Kernel (the native, wasm and webgpu backends register it):
 *   `MixtureSoftmaxGrad` {dy, y} float32 of one shape → dx = y·(dy − Σ dy·y), the sum over the last axis
 * The composite is tfjs's softmax, whose own gradient is that formula in four kernels.
 */
import {tf} from '../engine/tf.js'
import {customOp, hasKernels, runKernel, type OpContract} from './contract.js'

export const SOFTMAX_GRAD_KERNEL = 'MixtureSoftmaxGrad'

/** Softmax over the last axis; its gradient is one kernel where the backend has it. */
export function softmax(logits: tf.Tensor): tf.Tensor {
  if (!hasKernels(SOFTMAX_GRAD_KERNEL)) return tf.softmax(logits, -1)
  return softmaxFused(logits)
}

/** Softmax over the last axis with its gradient through `MixtureSoftmaxGrad`. */
export function softmaxFused(logits: tf.Tensor): tf.Tensor {
  const op = customOp((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = tf.softmax(x, -1)
    save([y])
    return {value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => softmaxGrad(dy, saved[0])}
  })
  return op(logits)
}

/** The softmax gradient y·(dy − Σ dy·y) in one kernel (the backend must have it). */
export function softmaxGrad(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return runKernel(SOFTMAX_GRAD_KERNEL, {dy, y})
}

export const softmaxOp: OpContract = {
  name: 'softmax',
  summary: 'softmax over the last axis, its gradient y·(dy − Σ dy·y)',
  kernels: [SOFTMAX_GRAD_KERNEL],
  example: () => [tf.randomUniform([2, 3, 9, 70], -5, 5, 'float32', 61)],
  fused: ([x]) => [softmaxFused(x)],
  composite: ([x]) => [tf.softmax(x, -1)],
  gradients: [0],
  tolerance: 1e-5,
}
