/** `Concat` of two or more non-empty float32 tensors as one addon call. */
import {tf} from '../../../engine/tf.js'
import type {NativeAddon} from '../addon.js'
import {alloc, out, size, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

const {backend_util, util} = tf

function concat(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const inputs = a.inputs as unknown as TensorInfo[]
  const axis = util.parseAxisParam((a.attrs as {axis: number}).axis, inputs[0].shape)[0]
  const live = inputs.filter((t) => size(t.shape) > 0)
  if (live.length < 2) return undefined
  const vals = live.map((t) => values(backend, t))
  if (vals.some((v) => !v)) return undefined
  backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis)
  const shape = backend_util.computeOutShape(inputs.map((t) => t.shape), axis)
  const rows = size(shape.slice(0, axis))
  const widths = live.map((t) => size(t.shape) / rows)
  const y = alloc(backend, size(shape))
  n.concat(vals as Float32Array[], widths, rows, y)
  return out(backend, shape, y)
}

export const concatKernel: NativeKernel = {kernelName: 'Concat', run: concat}
