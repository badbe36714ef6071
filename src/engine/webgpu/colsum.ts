/**
 * `Sum` over every axis but the last on WebGPU — the bias gradients of every Dense and Conv2D layer
 * (dy summed over batch, tokens and pixels): tfjs reduces only trailing axes, so it first transposes
 * the whole of dy to put the channel axis in front, then reduces (2 dispatches and a full copy of
 * dy; 39 transposes per Perceiver training step). This sums the columns of dy read as (rows, C) in
 * place: one dispatch when the rows are few (a workgroup per 64 columns walks all of them), else
 * per-chunk partial sums and one pass over the chunks. Other reductions go to tfjs's own kernel.
 * MIXTURE_WEBGPU_COLUMN_SUM=0 leaves every Sum to tfjs.
 */
import {tf} from '../tf.js'
import {runKernel, wrapWebgpuKernel, type WebgpuBackendInternals} from './runner.js'

const COLUMNS = 64
const LANES = 4
/** Rows one workgroup sums in the single-pass case, and per chunk otherwise. */
const SINGLE_PASS_ROWS = 4096
const CHUNK_ROWS = 1024

function partialWgsl(): string {
  return /* wgsl */ `
struct Params { R : u32, C : u32, rowsPerChunk : u32, };
@group(0) @binding(0) var<storage, read_write> out : array<f32>;
@group(0) @binding(1) var<storage, read> x : array<f32>;
@group(0) @binding(2) var<uniform> u : Params;
var<workgroup> lanes : array<f32, ${COLUMNS * LANES}>;

@compute @workgroup_size(${COLUMNS}, ${LANES}, 1)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {
  let c = wg.x * ${COLUMNS}u + lid.x;
  let r0 = wg.y * u.rowsPerChunk;
  let r1 = min(r0 + u.rowsPerChunk, u.R);
  var a = 0.0;
  if (c < u.C) {
    for (var r = r0 + lid.y; r < r1; r = r + ${LANES}u) { a = a + x[r * u.C + c]; }
  }
  lanes[lid.y * ${COLUMNS}u + lid.x] = a;
  workgroupBarrier();
  if (lid.y == 0u && c < u.C) {
    var t = 0.0;
    for (var l = 0u; l < ${LANES}u; l = l + 1u) { t = t + lanes[l * ${COLUMNS}u + lid.x]; }
    out[wg.y * u.C + c] = t;
  }
}
`
}

function chunkSumWgsl(): string {
  return /* wgsl */ `
struct Params { C : u32, chunks : u32, };
@group(0) @binding(0) var<storage, read_write> out : array<f32>;
@group(0) @binding(1) var<storage, read> partial : array<f32>;
@group(0) @binding(2) var<uniform> u : Params;

@compute @workgroup_size(${COLUMNS})
fn main(@builtin(global_invocation_id) gid : vec3<u32>) {
  let c = gid.x;
  if (c >= u.C) { return; }
  var a = 0.0;
  for (var k = 0u; k < u.chunks; k = k + 1u) { a = a + partial[k * u.C + c]; }
  out[c] = a;
}
`
}

/** Σ over the rows of x read as (R, C) = (size / C, last axis); the result has `outShape` (C values). */
export function columnSum(backend: WebgpuBackendInternals, x: tf.TensorInfo, outShape: number[]): tf.TensorInfo {
  const C = x.shape[x.shape.length - 1]
  const R = tf.util.sizeFromShape(x.shape) / C
  const groups = Math.ceil(C / COLUMNS)
  const single = R <= SINGLE_PASS_ROWS
  const rowsPerChunk = single ? R : CHUNK_ROWS
  const chunks = Math.ceil(R / rowsPerChunk)
  const [partial] = runKernel(backend, {
    name: single ? 'MixtureColumnSum' : 'MixtureColumnSumPartial',
    key: 'column-sum-partial',
    wgsl: partialWgsl,
    workgroups: [groups, chunks],
    inputs: [x],
    outputs: [{shape: single ? outShape : [chunks, C]}],
    uniforms: [
      {type: 'uint32', data: [R]},
      {type: 'uint32', data: [C]},
      {type: 'uint32', data: [rowsPerChunk]},
    ],
  })
  if (single) return partial
  const [sum] = runKernel(backend, {
    name: 'MixtureColumnSum',
    key: 'column-sum-chunks',
    wgsl: chunkSumWgsl,
    workgroups: [groups],
    inputs: [partial],
    outputs: [{shape: outShape}],
    uniforms: [
      {type: 'uint32', data: [C]},
      {type: 'uint32', data: [chunks]},
    ],
  })
  ;(backend as unknown as tf.KernelBackend).disposeData(partial.dataId)
  return sum
}

/** Route float32 sums over all leading axes to `columnSum`; everything else stays with tfjs. */
export function installColumnSum(): void {
  if (process.env.MIXTURE_WEBGPU_COLUMN_SUM === '0') return
  wrapWebgpuKernel('Sum', (run) => (args) => {
    const x = args.inputs.x as tf.TensorInfo
    const {axis, keepDims} = args.attrs as unknown as {axis: number | number[]; keepDims: boolean}
    const rank = x.shape.length
    if (x.dtype !== 'float32' || rank < 2 || tf.util.sizeFromShape(x.shape) === 0) return run(args)
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b)
    if (axes.length !== rank - 1 || axes.some((a, i) => a !== i)) return run(args)
    const C = x.shape[rank - 1]
    const b = args.backend as unknown as WebgpuBackendInternals
    if (tf.util.sizeFromShape(x.shape) / C / CHUNK_ROWS > b.device.limits.maxComputeWorkgroupsPerDimension) return run(args)
    const outShape = keepDims ? [...x.shape.slice(0, -1).map(() => 1), C] : [C]
    return columnSum(b, x, outShape)
  })
}
