/** `MaxPool`, `AvgPool` and `MaxPoolGrad` (NHWC) as one addon call each. */
import {tf} from '../../../engine/tf.js'
import type {NativeAddon} from '../addon.js'
import {alloc, out, size, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

const {backend_util, util} = tf

function poolParams(info: tf.backend_util.Conv2DInfo): number[] {
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight,
    info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left]
}

function pool(kind: number) {
  return (a: Args, n: NativeAddon): TensorInfo | undefined => {
    const backend = a.backend as MathBackendCPU
    const x = (a.inputs as {x: TensorInfo}).x
    const attrs = a.attrs as unknown as tf.MaxPoolAttrs
    const xv = values(backend, x)
    if (!xv || x.shape.length !== 4) return undefined
    const info = backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode)
    if (info.filterWidth === 1 && info.filterHeight === 1 && util.arraysEqual(info.inShape, info.outShape)) return undefined
    const y = alloc(backend, size(info.outShape))
    n.pool(kind, xv, y, poolParams(info))
    return out(backend, info.outShape, y)
  }
}

function maxPoolGrad(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const {dy, input} = a.inputs as {dy: TensorInfo; input: TensorInfo}
  const attrs = a.attrs as unknown as tf.MaxPoolAttrs
  const dyv = values(backend, dy), xv = values(backend, input)
  if (!dyv || !xv || input.shape.length !== 4) return undefined
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode)
  const dx = alloc(backend, xv.length)
  n.maxPoolGrad(dyv, xv, dx, poolParams(info))
  return out(backend, input.shape, dx)
}

export const poolKernels: NativeKernel[] = [
  {kernelName: 'MaxPool', run: pool(0)},
  {kernelName: 'AvgPool', run: pool(1)},
  {kernelName: 'MaxPoolGrad', run: maxPoolGrad},
]
