/** `Transpose` as one addon call. */
import type {NativeAddon} from '../addon.js'
import {alloc, out, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

function transpose(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const perm = (a.attrs as {perm: number[]}).perm
  const xv = values(backend, x)
  if (!xv) return undefined
  const shape = perm.map((p) => x.shape[p])
  const y = alloc(backend, xv.length)
  n.transpose(xv, x.shape, perm, y)
  return out(backend, shape, y)
}

export const transposeKernel: NativeKernel = {kernelName: 'Transpose', run: transpose}
