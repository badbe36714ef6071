/** `Slice` and `SplitV` as addon copies; contiguous slices stay zero-copy views of the cpu kernel. */
import {tf} from '../../../engine/tf.js'
import type {NativeAddon} from '../addon.js'
import {alloc, out, size, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

const {backend_util, util, slice_util} = tf

function slice(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const {begin, size: sz} = a.attrs as {begin: number | number[]; size: number | number[]}
  const xv = values(backend, x)
  if (!xv) return undefined
  const [b, s] = slice_util.parseSliceParams(x as tf.Tensor, begin, sz)
  // a contiguous slice is a zero-copy view in the cpu kernel: keep that
  if (slice_util.isSliceContinous(x.shape, b, s)) return undefined
  slice_util.assertParamsValid(x as tf.Tensor, b, s)
  return sliceOf(backend, n, x, xv, b, s)
}

/** The output of a slice: undefined when it is contiguous (the cpu kernel returns a zero-copy view). */
function sliceOf(backend: MathBackendCPU, n: NativeAddon, x: TensorInfo, xv: Float32Array, b: number[], s: number[]): TensorInfo | undefined {
  if (slice_util.isSliceContinous(x.shape, b, s)) return undefined
  const y = alloc(backend, size(s))
  if (y.length > 0) n.slice(xv, x.shape, b, s, y)
  return out(backend, s, y)
}

function splitV(a: Args, n: NativeAddon): TensorInfo[] | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const {numOrSizeSplits, axis} = a.attrs as {numOrSizeSplits: number | number[]; axis: number}
  const xv = values(backend, x)
  if (!xv) return undefined
  const ax = util.parseAxisParam(axis, x.shape)[0]
  const sizes = backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax)
  const cpuSlice = tf.getKernel('Slice', 'cpu')!.kernelFunc
  const begin = x.shape.map(() => 0)
  return sizes.map((s) => {
    const sz = x.shape.slice()
    sz[ax] = s
    const b = begin.slice()
    begin[ax] += s
    return sliceOf(backend, n, x, xv, b, sz) ?? (cpuSlice({inputs: {x}, backend, attrs: {begin: b, size: sz}}) as TensorInfo)
  })
}

export const sliceKernels: NativeKernel[] = [
  {kernelName: 'Slice', run: slice},
  {kernelName: 'SplitV', run: splitV},
]
