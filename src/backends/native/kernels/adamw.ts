/** `MixtureAdamW` (ops/adamw.ts) as one addon pass: PyTorch's AdamW, threads over chunks. */
import type {AdamAttrs} from '../../../ops/adam.js'
import {ADAMW_KERNEL} from '../../../ops/adamw.js'
import type {NativeAddon} from '../addon.js'
import {out, type Args, type NativeKernel, type TensorInfo} from '../kernel.js'
import {updateBuffers} from './adam.js'

function adamw(a: Args, n: NativeAddon): TensorInfo[] | undefined {
  const at = a.attrs as unknown as AdamAttrs
  const {inputs: [pv, gv, mv, vv], outputs: [po, mo, vo], shape, backend} = updateBuffers(ADAMW_KERNEL, a, ['param', 'grad', 'm', 'v'])
  // The decay factor is formed in double and rounded once, as PyTorch's param.mul_(1 − lr·wd) takes it.
  n.adamw(pv, gv, mv, vv, po, mo, vo, at.lr, at.beta1, at.beta2, at.eps, 1 - at.lr * at.weightDecay, at.step)
  return [out(backend, shape, po), out(backend, shape, mo), out(backend, shape, vo)]
}

export const adamwKernel: NativeKernel = {kernelName: ADAMW_KERNEL, run: adamw}
