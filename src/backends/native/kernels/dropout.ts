/** `MixtureDropout` (ops/dropout.ts) as one addon pass: the shared counter hash, threads over chunks. */
import {DROPOUT_KERNEL, type DropoutAttrs} from '../../../ops/dropout.js'
import type {NativeAddon} from '../addon.js'
import {alloc, out, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

function dropout(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const {rate, seed} = a.attrs as unknown as DropoutAttrs
  const xv = values(backend, x)
  if (!xv || !(rate >= 0 && rate < 1)) return undefined
  const y = alloc(backend, xv.length)
  n.dropout(xv, y, seed >>> 0, Math.floor(rate * 4294967296), 1 / (1 - rate))
  return out(backend, x.shape, y)
}

export const dropoutKernel: NativeKernel = {kernelName: DROPOUT_KERNEL, run: dropout}
