/** `MixtureAdam` (ops/adam.ts) as one addon pass: PyTorch's Adam with coupled L2, threads over chunks. */
import {ADAM_KERNEL, type AdamAttrs} from '../../../ops/adam.js'
import type {NativeAddon} from '../addon.js'
import {alloc, out, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

function adam(a: Args, n: NativeAddon): TensorInfo[] | undefined {
  const backend = a.backend as MathBackendCPU
  const {param, grad, m, v} = a.inputs as {param: TensorInfo; grad: TensorInfo; m: TensorInfo; v: TensorInfo}
  const at = a.attrs as unknown as AdamAttrs
  const pv = values(backend, param), gv = values(backend, grad), mv = values(backend, m), vv = values(backend, v)
  if (!pv || !gv || !mv || !vv || gv.length !== pv.length || mv.length !== pv.length || vv.length !== pv.length) {
    throw new Error(`${ADAM_KERNEL}: param, grad, m and v must be float32 tensors of one shape`)
  }
  const po = alloc(backend, pv.length), mo = alloc(backend, pv.length), vo = alloc(backend, pv.length)
  n.adam(pv, gv, mv, vv, po, mo, vo, at.lr, at.beta1, at.beta2, at.eps, at.weightDecay, at.step)
  return [out(backend, param.shape, po), out(backend, param.shape, mo), out(backend, param.shape, vo)]
}

export const adamKernel: NativeKernel = {kernelName: ADAM_KERNEL, run: adam}
