/** `MixtureSoftmaxGrad` (ops/softmax.ts) as one addon pass over the rows. */
import {SOFTMAX_GRAD_KERNEL} from '../../../ops/softmax.js'
import type {NativeAddon} from '../addon.js'
import {alloc, out, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

function softmaxGrad(a: Args, n: NativeAddon): TensorInfo {
  const backend = a.backend as MathBackendCPU
  const {dy, y} = a.inputs as {dy: TensorInfo; y: TensorInfo}
  const dyv = values(backend, dy), yv = values(backend, y)
  if (!dyv || !yv || dyv.length !== yv.length || y.shape.length === 0) throw new Error(`${SOFTMAX_GRAD_KERNEL}: dy and y must be float32 tensors of one shape`)
  const cols = y.shape[y.shape.length - 1]
  const dx = alloc(backend, yv.length)
  if (cols > 0) n.softmaxGrad(dyv, yv, dx, yv.length / cols, cols)
  return out(backend, y.shape, dx)
}

export const softmaxGradKernel: NativeKernel = {kernelName: SOFTMAX_GRAD_KERNEL, run: softmaxGrad}
