/** Reductions over any axes (`Sum`, `Mean`, `Max`, `Min`) as one addon call each. */
import {tf} from '../../../engine/tf.js'
import {R, type NativeAddon} from '../addon.js'
import {alloc, out, size, values, type Args, type Attrs, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

const {backend_util, util} = tf

export function reduceKernel(op: number, axisAttr: string) {
  return (a: Args, n: NativeAddon) => {
    const backend = a.backend as MathBackendCPU
    const x = (a.inputs as {x: TensorInfo}).x
    const xv = values(backend, x)
    if (!xv) return undefined
    const attrs = a.attrs as Attrs
    const axes = util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape)
    const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes)
    const shape = attrs.keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape
    const y = alloc(backend, size(outShape))
    n.reduce(op, xv, x.shape, [...new Set(axes)].sort((p, q) => p - q), y)
    return out(backend, shape, y)
  }
}

export const reduceKernels: NativeKernel[] = [
  {kernelName: 'Sum', run: reduceKernel(R.sum, 'axis')},
  {kernelName: 'Mean', run: reduceKernel(R.mean, 'axis')},
  {kernelName: 'Max', run: reduceKernel(R.max, 'reductionIndices')},
  {kernelName: 'Min', run: reduceKernel(R.min, 'axis')},
]
