/** `MixtureSgd` (ops/sgd.ts) as one addon pass: PyTorch's SGD with momentum, threads over chunks. */
import {SGD_KERNEL, sgdBufferScales, type SgdAttrs} from '../../../ops/sgd.js'
import type {NativeAddon} from '../addon.js'
import {out, type Args, type NativeKernel, type TensorInfo} from '../kernel.js'
import {updateBuffers} from './adam.js'

function sgd(a: Args, n: NativeAddon): TensorInfo[] | undefined {
  const at = a.attrs as unknown as SgdAttrs
  const {inputs: [pv, gv, bv], outputs: [po, bo], shape, backend} = updateBuffers(SGD_KERNEL, a, ['param', 'grad', 'momentum'])
  const {keep, take} = sgdBufferScales(at)
  n.sgd(pv, gv, bv, po, bo, at.lr, at.weightDecay, keep, take, at.momentum, at.nesterov)
  return [out(backend, shape, po), out(backend, shape, bo)]
}

export const sgdKernel: NativeKernel = {kernelName: SGD_KERNEL, run: sgd}
