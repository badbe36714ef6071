/** `MixtureAdam` (ops/adam.ts) as one addon pass: PyTorch's Adam with coupled L2, threads over chunks. */
import {ADAM_KERNEL, type AdamAttrs} from '../../../ops/adam.js'
import type {NativeAddon} from '../addon.js'
import {alloc, out, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

/** The float32 buffers of an optimizer kernel's inputs (`names`, param first) and fresh outputs for param and each state tensor. */
export function updateBuffers(kernelName: string, a: Args, names: string[]): {inputs: Float32Array[]; outputs: Float32Array[]; shape: number[]; backend: MathBackendCPU} {
  const backend = a.backend as MathBackendCPU
  const named = a.inputs as Record<string, TensorInfo>
  const inputs = names.map((name) => values(backend, named[name]))
  const n = inputs[0]?.length
  if (inputs.some((v) => !v || v.length !== n)) throw new Error(`${kernelName}: ${names.join(', ')} must be float32 tensors of one shape`)
  const outputs = names.filter((name) => name !== 'grad').map(() => alloc(backend, n!))
  return {inputs: inputs as Float32Array[], outputs, shape: named.param.shape, backend}
}

function adam(a: Args, n: NativeAddon): TensorInfo[] | undefined {
  const at = a.attrs as unknown as AdamAttrs
  const {inputs: [pv, gv, mv, vv], outputs: [po, mo, vo], shape, backend} = updateBuffers(ADAM_KERNEL, a, ['param', 'grad', 'm', 'v'])
  n.adam(pv, gv, mv, vv, po, mo, vo, at.lr, at.beta1, at.beta2, at.eps, at.weightDecay, at.step)
  return [out(backend, shape, po), out(backend, shape, mo), out(backend, shape, vo)]
}

export const adamKernel: NativeKernel = {kernelName: ADAM_KERNEL, run: adam}
