/** `Fill`, `ZerosLike` and `OnesLike` of float32 tensors as one addon fill. */
import type {NativeAddon} from '../addon.js'
import {alloc, out, size, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

function fill(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const {shape, value, dtype} = a.attrs as {shape: number[]; value: number | string; dtype?: string}
  if (typeof value !== 'number' || (dtype !== undefined && dtype !== 'float32')) return undefined
  const y = alloc(backend, size(shape))
  n.fill(y, value)
  return out(backend, shape, y)
}

function filledLike(value: number) {
  return (a: Args, n: NativeAddon): TensorInfo | undefined => {
    const backend = a.backend as MathBackendCPU
    const x = (a.inputs as {x: TensorInfo}).x
    if (x.dtype !== 'float32') return undefined
    const y = alloc(backend, size(x.shape))
    n.fill(y, value)
    return out(backend, x.shape, y)
  }
}

export const fillKernels: NativeKernel[] = [
  {kernelName: 'Fill', run: fill},
  {kernelName: 'ZerosLike', run: filledLike(0)},
  {kernelName: 'OnesLike', run: filledLike(1)},
]
