/**
 * The gradient of `Relu` as one kernel where the backend has one.
 *
 * tfjs-core's own Relu gradient is dy · step(x): two element-wise dispatches per ReLU on WebGPU
 * (17 + 17 of a ResNet-18 training step). A backend that registers the kernel computes the same
 * product in one; every other backend keeps the composite. The gradient registry is global, so the
 * gradient registered here (`registerReluGradient`) serves every backend.
 *
 * Kernel (the webgpu backend registers it):
 *   `MixtureReluGrad` {dy, x} float32 of one shape → dy · step(x), with step(NaN) = NaN
 */
import {tf} from '../engine/tf.js'
import {hasKernels, runKernel, type OpContract} from './contract.js'

export const RELU_GRAD_KERNEL = 'MixtureReluGrad'

/** dy · step(x), with step(NaN) = NaN, as tfjs-core computes it. */
export function reluGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (x.dtype === 'float32' && dy.dtype === 'float32' && hasKernels(RELU_GRAD_KERNEL)) return runKernel(RELU_GRAD_KERNEL, {dy, x})
  return reluGradComposite(dy, x)
}

/** tfjs-core's own gradient: dy · step(x). */
export function reluGradComposite(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.mul(dy, tf.cast(tf.step(x), 'float32'))
}

let registered = false

/** Relu's gradient through `reluGrad`, for every backend (once per process). */
export function registerReluGradient(): void {
  if (registered) return
  registered = true
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved
      return {x: () => reluGrad(dy as tf.Tensor, x)}
    },
  })
}

export const reluGradOp: OpContract = {
  name: 'relu-grad',
  summary: "Relu's gradient dy · step(x) (NaN where x is NaN)",
  kernels: [RELU_GRAD_KERNEL],
  example: () => [tf.randomUniform([7, 31], -1, 1, 'float32', 111), tf.tensor2d([...Array.from({length: 7 * 31 - 3}, (_, i) => Math.sin(i) * 2), 0, -0, NaN], [7, 31])],
  fused: ([dy, x]) => [runKernel(RELU_GRAD_KERNEL, {dy, x})],
  composite: ([dy, x]) => [reluGradComposite(dy, x)],
  tolerance: 0,
}
