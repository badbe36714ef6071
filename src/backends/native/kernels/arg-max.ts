/** `ArgMax` over the last axis as one addon call. */
import {tf} from '../../../engine/tf.js'
import type {NativeAddon} from '../addon.js'
import {size, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

const {util} = tf

function argMax(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const xv = values(backend, x)
  if (!xv || x.shape.length === 0) return undefined
  const axes = util.parseAxisParam((a.attrs as {axis: number | number[]}).axis, x.shape)
  if (axes.length !== 1 || axes[0] !== x.shape.length - 1) return undefined
  const cols = x.shape[x.shape.length - 1]
  if (cols === 0) return undefined
  const shape = x.shape.slice(0, -1)
  const y = new Int32Array(size(shape))
  n.argMax(xv, y, y.length, cols)
  return backend.makeTensorInfo(shape, 'int32', y)
}

export const argMaxKernel: NativeKernel = {kernelName: 'ArgMax', run: argMax}
