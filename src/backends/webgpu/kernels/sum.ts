/**
 * `Sum` over every axis but the last on WebGPU — the bias gradients of every Dense and Conv2D layer
 * (dy summed over batch, tokens and pixels): tfjs reduces only trailing axes, so it first transposes
 * the whole of dy to put the channel axis in front, then reduces (2 dispatches and a full copy of
 * dy; 39 transposes per Perceiver training step). This sums the columns of dy read as (rows, C) in
 * place: one dispatch when the rows are few (a workgroup per 64 columns walks all of them), else
 * per-chunk partial sums and one pass over the chunks. Other reductions go to tfjs's own kernel.
 * MIXTURE_WEBGPU_COLUMN_SUM=0 leaves every Sum to tfjs.
 */
import {tf} from '../../../engine/tf.js'
import {channelPartials} from '../programs/channel-partials.js'
import {sumSplits} from '../programs/split-k.js'
import {webgpuKernelFunc, type KernelWrapper, type WebgpuBackendInternals} from '../runner.js'

/** Rows one workgroup sums in the single-pass case, and per chunk otherwise. */
const SINGLE_PASS_ROWS = 4096
const CHUNK_ROWS = 1024

type Backend = WebgpuBackendInternals & tf.KernelBackend

/**
 * Σ over the rows of x read as (R, C) = (size / C, last axis); the result has `outShape` (C values).
 * The column pass is BatchNorm's (`channelPartials`, mode `sum`) with its own chunking; the chunks
 * are added by the split-k sum pass (`sumSplits`).
 */
export function columnSum(backend: Backend, x: tf.TensorInfo, outShape: number[]): tf.TensorInfo {
  const C = x.shape[x.shape.length - 1]
  const R = tf.util.sizeFromShape(x.shape) / C
  const single = R <= SINGLE_PASS_ROWS
  const {partial, chunks} = channelPartials(backend, single ? 'MixtureColumnSum' : 'MixtureColumnSumPartial', 'sum', [x], R, C, 0, single ? R : CHUNK_ROWS)
  if (chunks > 1) return sumSplits(backend, partial, {name: 'MixtureColumnSum', splits: chunks, I: 1, J: C, heads: 1, cView: [0, 0, 0, 1], outShape})
  const sum = webgpuKernelFunc('Reshape')({inputs: {x: partial}, backend, attrs: {shape: outShape}}) as tf.TensorInfo
  backend.disposeData(partial.dataId)
  return sum
}

/** Float32 sums over all leading axes on `columnSum`; everything else stays with tfjs. */
export const columnSumKernel: KernelWrapper = {
  kernelName: 'Sum',
  wrap: (run) => (args) => {
    const x = args.inputs.x as tf.TensorInfo
    const {axis, keepDims} = args.attrs as unknown as {axis: number | number[]; keepDims: boolean}
    const rank = x.shape.length
    if (x.dtype !== 'float32' || rank < 2 || tf.util.sizeFromShape(x.shape) === 0) return run(args)
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b)
    if (axes.length !== rank - 1 || axes.some((a, i) => a !== i)) return run(args)
    const C = x.shape[rank - 1]
    const b = args.backend as unknown as Backend
    if (tf.util.sizeFromShape(x.shape) / C / CHUNK_ROWS > b.device.limits.maxComputeWorkgroupsPerDimension) return run(args)
    const outShape = keepDims ? [...x.shape.slice(0, -1).map(() => 1), C] : [C]
    return columnSum(b, x, outShape)
  },
}
