/** `Softmax` over the last axis as one addon call. */
import type {NativeAddon} from '../addon.js'
import {alloc, out, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

function softmax(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const logits = (a.inputs as {logits: TensorInfo}).logits
  const dim = (a.attrs as {dim: number}).dim
  const xv = values(backend, logits)
  const rank = logits.shape.length
  if (!xv || rank === 0 || (dim !== -1 && dim !== rank - 1)) return undefined
  const cols = logits.shape[rank - 1]
  const y = alloc(backend, xv.length)
  if (cols > 0) n.softmax(xv, y, xv.length / cols, cols)
  return out(backend, logits.shape, y)
}

export const softmaxKernel: NativeKernel = {kernelName: 'Softmax', run: softmax}
