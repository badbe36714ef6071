/** `AddN` of float32 tensors of one shape as a chain of addon adds. */
import {tf} from '../../../engine/tf.js'
import {B, type NativeAddon} from '../addon.js'
import {alloc, out, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

const {util} = tf

function addN(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const inputs = a.inputs as unknown as TensorInfo[]
  const vals = inputs.map((t) => values(backend, t))
  if (inputs.length < 2 || vals.some((v) => !v) || inputs.some((t) => !util.arraysEqual(t.shape, inputs[0].shape))) return undefined
  const shape = inputs[0].shape
  let acc = alloc(backend, vals[0]!.length)
  n.binary(B.add, vals[0]!, shape, vals[1]!, shape, acc, shape)
  for (let i = 2; i < vals.length; i++) {
    const next = alloc(backend, acc.length)
    n.binary(B.add, acc, shape, vals[i]!, shape, next, shape)
    acc = next
  }
  return out(backend, shape, acc)
}

export const addNKernel: NativeKernel = {kernelName: 'AddN', run: addN}
