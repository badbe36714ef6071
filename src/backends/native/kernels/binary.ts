/** Element-wise binary kernels with broadcasting (tfjs's names) as one addon call each: `binary(op, a, b, y)`. */
import {tf} from '../../../engine/tf.js'
import {B, type NativeAddon} from '../addon.js'
import {alloc, out, size, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

const {backend_util} = tf

/** A kernel computing `op` on two float32 inputs, named `names` (undefined for other dtypes). */
export function binaryKernel(op: number, names: [string, string] = ['a', 'b']) {
  return (a: Args, n: NativeAddon) => {
    const backend = a.backend as MathBackendCPU
    const inputs = a.inputs as Record<string, TensorInfo>
    const x = inputs[names[0]], w = inputs[names[1]]
    const xv = values(backend, x), wv = values(backend, w)
    if (!xv || !wv) return undefined
    const shape = backend_util.assertAndGetBroadcastShape(x.shape, w.shape)
    const y = alloc(backend, size(shape))
    n.binary(op, xv, x.shape, wv, w.shape, y, shape)
    return out(backend, shape, y)
  }
}

export const binaryKernels: NativeKernel[] = [
  {kernelName: 'Add', run: binaryKernel(B.add)},
  {kernelName: 'Sub', run: binaryKernel(B.sub)},
  {kernelName: 'Multiply', run: binaryKernel(B.mul)},
  {kernelName: 'RealDiv', run: binaryKernel(B.div)},
  {kernelName: 'SquaredDifference', run: binaryKernel(B.sqdiff)},
  {kernelName: 'Maximum', run: binaryKernel(B.max)},
  {kernelName: 'Minimum', run: binaryKernel(B.min)},
  {kernelName: 'Prelu', run: binaryKernel(B.prelu, ['x', 'alpha'])},
]
