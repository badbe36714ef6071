/**
 * A convolution (NHWC, an optional bias fused, no activation) whose gradient is computed for each
 * input only where something needs it.
 *
 * tfjs-core's `fused.conv2d` — what tfjs-layers' Conv2D runs — has a custom gradient that computes
 * the input's gradient and the filter's together, so every convolution's input gradient is computed
 * in every training step whether or not anything reads it. The first layer's, with respect to the
 * image, nothing does (PyTorch's autograd skips it: the image does not require grad); on ResNet-18's
 * 7×7 stride-2 stem it was 6 % of a native training step (9.2 of 145.5 ms at batch 64). Here the same
 * kernel (`FusedConv2D`, linear activation) runs with a gradient registered per input
 * (`registerConv2dGradient`): each is a function the tape calls only for an input on a path from the
 * trained weights. The gradients are tfjs's own — the same kernels with the same attributes
 * (Conv2DBackpropInput, Conv2DBackpropFilter, the bias's sum over the pixels) — so the values are the
 * same bit for bit (the contract below, on every backend).
 */
import {tf} from '../engine/tf.js'
import type {OpContract} from './contract.js'

const KERNEL = 'FusedConv2D'

export interface Conv2dAttrs {
  strides: [number, number]
  pad: 'same' | 'valid'
  dilations: [number, number]
}

/** x (B, H, W, Cin) ⊛ filter (KH, KW, Cin, Cout) + bias (Cout), float32. */
export function conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D | undefined, {strides, pad, dilations}: Conv2dAttrs): tf.Tensor4D {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== filter.shape[3])) throw new Error(`conv2d: the bias must have one value per output channel (${filter.shape[3]}), not shape [${bias.shape}]`)
  const inputs: tf.NamedTensorMap = bias ? {x, filter, bias} : {x, filter}
  const attrs = {strides, pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined, activation: 'linear', leakyreluAlpha: undefined}
  return tf.engine().runKernel(KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D
}

interface FusedConv2dAttrs extends Conv2dAttrs {
  dataFormat: string
  activation: string
}

let registered = false

/**
 * `FusedConv2D`'s gradient per input, for every backend (once per process). tfjs-core registers none
 * for the kernel (its fused op brings its own), so this serves only calls of the kernel made
 * directly, as `conv2d` makes them.
 */
export function registerConv2dGradient(): void {
  if (registered) return
  registered = true
  tf.registerGradient({
    kernelName: KERNEL,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as tf.Tensor4D[]
      const {strides, pad, dilations, dataFormat, activation} = attrs as unknown as FusedConv2dAttrs
      if (dataFormat !== 'NHWC' || activation !== 'linear' || [dilations].flat().some((d) => d !== 1)) {
        throw new Error(`the gradient of ${KERNEL} is registered for conv2d's calls only (NHWC, no activation, no dilation), not ${JSON.stringify({dataFormat, activation, dilations})}`)
      }
      const g = dy as tf.Tensor4D
      const filterShape = filter.shape
      return {
        x: () => tf.engine().runKernel('Conv2DBackpropInput', {dy: g, filter}, {strides, pad, dataFormat, dimRoundingMode: undefined, inputShape: x.shape} as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () => tf.engine().runKernel('Conv2DBackpropFilter', {x, dy: g}, {strides, pad, dataFormat, dimRoundingMode: undefined, filterShape} as unknown as tf.NamedAttrMap) as tf.Tensor,
        bias: () => tf.reshape(tf.sum(g, [0, 1, 2]), [filterShape[3]]),
      }
    },
  })
}

export const conv2dOp: OpContract = {
  name: 'conv2d',
  summary: "a convolution with a bias whose gradient is computed per input, against tfjs-core's fused.conv2d (input and filter gradients together)",
  kernels: [KERNEL],
  example: () => [tf.randomUniform([2, 9, 8, 5], -1, 1, 'float32', 121), tf.randomUniform([3, 3, 5, 6], -1, 1, 'float32', 122), tf.randomUniform([6], -1, 1, 'float32', 123)],
  fused: ([x, filter, bias]) => [conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, bias as tf.Tensor1D, {strides: [2, 2], pad: 'same', dilations: [1, 1]})],
  composite: ([x, filter, bias]) => [tf.fused.conv2d({x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, bias, strides: [2, 2], pad: 'same', dilations: [1, 1], dataFormat: 'NHWC', activation: 'linear'})],
  gradients: [0, 1, 2],
  tolerance: 0,
}
