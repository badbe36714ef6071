/** `Conv2D`, `FusedConv2D` (bias, activation) and both gradients (NHWC) on oneDNN. */
import {tf} from '../../../engine/tf.js'
import {ACT, type NativeAddon} from '../addon.js'
import {channelBias, prelu} from '../epilogue.js'
import {alloc, out, size, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

const {backend_util, util} = tf

/** oneDNN needs `(in - kEff + padBefore + padAfter) / stride + 1 == out` (floor); fix padAfter or give up. */
function consistentPadAfter(inSize: number, outSize: number, kEff: number, stride: number, before: number, after: number): number | undefined {
  if (Math.floor((inSize - kEff + before + after) / stride) + 1 === outSize) return after
  const fixed = (outSize - 1) * stride + kEff - inSize - before
  return fixed >= 0 ? fixed : undefined
}

function convParams(info: tf.backend_util.Conv2DInfo): number[] | undefined {
  if (info.dataFormat !== 'channelsLast') return undefined
  const pad = info.padInfo
  const pb = consistentPadAfter(info.inHeight, info.outHeight, info.effectiveFilterHeight, info.strideHeight, pad.top, pad.bottom)
  const pr = consistentPadAfter(info.inWidth, info.outWidth, info.effectiveFilterWidth, info.strideWidth, pad.left, pad.right)
  if (pb === undefined || pr === undefined || pad.top < 0 || pad.left < 0) return undefined
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    pad.top, pad.left, pb, pr]
}

function conv2D(a: Args, n: NativeAddon, fused: boolean): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const inputs = a.inputs as {x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo}
  const attrs = a.attrs as unknown as tf.FusedConv2DAttrs
  const xv = values(backend, inputs.x), wv = values(backend, inputs.filter)
  if (!xv || !wv || (attrs.dataFormat ?? 'NHWC') !== 'NHWC') return undefined
  const info = backend_util.computeConv2DInfo(inputs.x.shape as [number, number, number, number], inputs.filter.shape as [number, number, number, number],
    attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast')
  const params = convParams(info)
  if (!params) return undefined
  const activation = fused ? (attrs.activation ?? 'linear') : 'linear'
  const bias = fused ? channelBias(backend, inputs.bias, info.outChannels) : null
  if (bias === undefined) return undefined
  let act = ACT[activation]
  if (act === undefined && activation !== 'prelu') return undefined
  if (activation === 'prelu') act = 0
  const y = alloc(backend, size(info.outShape))
  n.conv2d(xv, wv, bias, y, params, act, attrs.leakyreluAlpha ?? 0.2)
  if (activation === 'prelu') return prelu(backend, n, info.outShape, y, inputs.preluActivationWeights)
  return out(backend, info.outShape, y)
}

function conv2DBackpropInput(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const {dy, filter} = a.inputs as {dy: TensorInfo; filter: TensorInfo}
  const attrs = a.attrs as unknown as tf.Conv2DBackpropInputAttrs
  const dyv = values(backend, dy), wv = values(backend, filter)
  if (!dyv || !wv || (attrs.dataFormat ?? 'NHWC') !== 'NHWC') return undefined
  const info = backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast')
  if (!util.arraysEqual(info.outShape, dy.shape)) return undefined
  const params = convParams(info)
  if (!params) return undefined
  const dx = alloc(backend, size(attrs.inputShape))
  n.conv2dBackpropInput(dyv, wv, dx, params)
  return out(backend, attrs.inputShape, dx)
}

function conv2DBackpropFilter(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const {x, dy} = a.inputs as {x: TensorInfo; dy: TensorInfo}
  const attrs = a.attrs as unknown as tf.Conv2DBackpropFilterAttrs
  const xv = values(backend, x), dyv = values(backend, dy)
  if (!xv || !dyv || (attrs.dataFormat ?? 'NHWC') !== 'NHWC') return undefined
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast')
  if (!util.arraysEqual(info.outShape, dy.shape)) return undefined
  const params = convParams(info)
  if (!params) return undefined
  const dw = alloc(backend, size(attrs.filterShape))
  n.conv2dBackpropFilter(xv, dyv, dw, params)
  return out(backend, attrs.filterShape, dw)
}

export const convKernels: NativeKernel[] = [
  {kernelName: 'Conv2D', run: (a, n) => conv2D(a, n, false)},
  {kernelName: 'FusedConv2D', run: (a, n) => conv2D(a, n, true)},
  {kernelName: 'Conv2DBackpropInput', run: conv2DBackpropInput},
  {kernelName: 'Conv2DBackpropFilter', run: conv2DBackpropFilter},
]
