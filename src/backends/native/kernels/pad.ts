/** `PadV2` (constant padding) as one addon call. */
import type {NativeAddon} from '../addon.js'
import {alloc, out, size, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

function padV2(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const {paddings, constantValue} = a.attrs as {paddings: [number, number][]; constantValue: number}
  const xv = values(backend, x)
  if (!xv || x.shape.length === 0) return undefined
  const shape = x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1])
  const y = alloc(backend, size(shape))
  n.pad(xv, x.shape, paddings.map((p) => p[0]), paddings.map((p) => p[1]), constantValue ?? 0, y)
  return out(backend, shape, y)
}

export const padV2Kernel: NativeKernel = {kernelName: 'PadV2', run: padV2}
