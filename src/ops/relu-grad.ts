/**
 * The gradient of `Relu` as one kernel where the backend has one.
 *
 * tfjs-core's own Relu gradient is dy · step(x): two element-wise dispatches per ReLU on WebGPU
 * (17 + 17 of a ResNet-18 training step). A backend that registers `MixtureReluGrad` {dy, x}
 * (webgpu/activation.ts) computes the same product in one; every other backend keeps the composite.
 * The gradient registry is global, so this serves every backend.
 */
import {tf} from '../tf.js'

export const RELU_GRAD_KERNEL = 'MixtureReluGrad'

/** dy · step(x), with step(NaN) = NaN, as tfjs-core computes it. */
export function reluGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (x.dtype === 'float32' && dy.dtype === 'float32' && tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend())) {
    return tf.engine().runKernel(RELU_GRAD_KERNEL, {dy, x}) as tf.Tensor
  }
  return tf.mul(dy, tf.cast(tf.step(x), 'float32'))
}

let installed = false

export function installReluGradient(): void {
  if (installed) return
  installed = true
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved
      return {x: () => reluGrad(dy as tf.Tensor, x)}
    },
  })
}
