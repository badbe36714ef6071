/**
 * `Conv2DBackpropFilter` (NHWC) as a tiled matrix product with split-K.
 *
 * dW[(kh, kw, ci), co] = Σ over (b, oh, ow) of x[b, oh·s − pad + kh, ow·s − pad + kw, ci] · dy[b, oh, ow, co]:
 * an (M = kh·kw·ci) × (N = co) product over K = b·oh·ow, the x operand read through im2col indexing
 * on the fly. tfjs-backend-webgpu 4.22 runs one thread per filter element looping over all of K,
 * which leaves most of a large GPU idle for the early layers (small M·N, large K) and was the
 * largest kernel of a ResNet-18 step. Here each workgroup computes a 64 × 64 tile over a slice of K
 * (4 × 4 outputs per thread, 16-deep shared-memory tiles); when K is split the slices are added by a
 * second dispatch. Large ones (Cin and Cout multiples of 4, at least 64 filter rows and output
 * channels) go to the 128 × 128-tile product kernel instead (`filterGemm` in ../programs/gemm.ts, vec4 loads).
 * NCHW inputs keep tfjs's kernel.
 */
import {tf} from '../../../engine/tf.js'
import {advanceDigitsWgsl, CONV_GEOMETRY_WGSL, convGeometryUniforms, digitsWgsl} from '../programs/conv-geometry.js'
import {filterGemm, gemmVariantRoutes} from '../programs/gemm.js'
import {filterGemmPlan} from '../programs/gemm-plan.js'
import {NARROW_MAX} from '../programs/narrow-conv.js'
import {productRounding, type ProductRounding} from '../precision.js'
import {sumSplits} from '../programs/split-k.js'
import {runKernel, unrolled, type WebgpuBackendInternals} from '../runner.js'
import {webgpuSwitch} from '../switches.js'
import type {TunedKernel} from '../tune.js'

const TILE = 64
const TK = 16
/** Elements of each tile one thread loads per step (256 threads), and the rows between them. */
const LOADS = (TK * TILE) / 256
const LOAD_ROW_STEP = 256 / TILE

/**
 * The uniforms (`fields`, then the convolution geometry) and bindings (result; x, dy) of this
 * module's kernels, and their float16 rounding (../precision.ts; operands as they are loaded, the
 * result as it is written).
 */
function filterKernelHeader(fields: string[], rounding: ProductRounding): string {
  return `
struct Params {
${fields.map((f) => `  ${f} : u32,`).join('\n')}
${CONV_GEOMETRY_WGSL}
};
@group(0) @binding(0) var<storage, read_write> result : array<f32>;
@group(0) @binding(1) var<storage, read> x : array<f32>;
@group(0) @binding(2) var<storage, read> dy : array<f32>;
@group(0) @binding(3) var<uniform> u : Params;
${rounding.wgsl}
`
}

function gemmWgsl(rounding: ProductRounding): string {
  return /* wgsl */ `${filterKernelHeader(['M', 'N', 'K', 'kPerSplit'], rounding)}
var<workgroup> As : array<vec4<f32>, ${(TK * TILE) / 4}>;
var<workgroup> Bs : array<vec4<f32>, ${(TK * TILE) / 4}>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>,
        @builtin(local_invocation_index) li : u32) {
  let m0 = wg.x * ${TILE}u;
  let n0 = wg.y * ${TILE}u;
  let kBegin = wg.z * u.kPerSplit;
  let kEnd = min(kBegin + u.kPerSplit, u.K);
  var acc : array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i = i + 1u) { acc[i] = vec4<f32>(0.0); }

  // Each thread loads column \`col\` of both tiles at ${LOADS} rows \`row0 + ${LOAD_ROW_STEP}·t\` per step. The filter
  // position of its column is fixed, so it is decomposed once; the output positions (batch, oh, ow)
  // of its rows are decomposed once and then advanced by ${TK} per step without divisions (the
  // divisions per loaded element had cost more instructions than the products).
  let col = li % ${TILE}u;
  let row0 = li / ${TILE}u;
  let m = m0 + col;
  let n = n0 + col;
  ${digitsWgsl('let', ['ci', 'fw', 'fh'], 'm', 'u.inC', 'u.filterW')}
  let offH = i32(fh) - u.padT;
  let offW = i32(fw) - u.padL;
${unrolled(LOADS, (t) => `  ${digitsWgsl('var', [`ow${t}`, `oh${t}`, `ob${t}`], `kBegin + row0 + ${t * LOAD_ROW_STEP}u`, 'u.outW', 'u.outH')}`)}

  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + ${TK}u) {
${unrolled(LOADS, (t) => `    {
      let kk = row0 + ${t * LOAD_ROW_STEP}u;
      let k = k0 + kk;
      var a = 0.0;
      var b = 0.0;
      if (k < kEnd) {
        let ih = i32(oh${t}) * u.strideH + offH;
        let iw = i32(ow${t}) * u.strideW + offW;
        if (m < u.M && ih >= 0 && ih < i32(u.inH) && iw >= 0 && iw < i32(u.inW)) {
          a = roundOperand(x[((ob${t} * u.inH + u32(ih)) * u.inW + u32(iw)) * u.inC + ci]);
        }
        if (n < u.N) { b = roundOperand(dy[k * u.N + n]); }
      }
      As[kk * ${TILE / 4}u + col / 4u][col % 4u] = a;
      Bs[kk * ${TILE / 4}u + col / 4u][col % 4u] = b;
      ${advanceDigitsWgsl([`ow${t}`, `oh${t}`, `ob${t}`], `${TK}u`, 'u.outW', 'u.outH')}
    }`)}
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk = kk + 1u) {
      let a = As[kk * ${TILE / 4}u + lid.y];
      let b = Bs[kk * ${TILE / 4}u + lid.x];
      acc[0] = acc[0] + a.x * b;
      acc[1] = acc[1] + a.y * b;
      acc[2] = acc[2] + a.z * b;
      acc[3] = acc[3] + a.w * b;
    }
    workgroupBarrier();
  }

  let base = wg.z * u.M;
  for (var i = 0u; i < 4u; i = i + 1u) {
    let m = m0 + lid.y * 4u + i;
    if (m >= u.M) { continue; }
    for (var j = 0u; j < 4u; j = j + 1u) {
      let n = n0 + lid.x * 4u + j;
      if (n < u.N) { result[(base + m) * u.N + n] = roundResult(acc[i][j]); }
    }
  }
}
`
}

/** Slices of K: enough workgroups to fill a large GPU, at least 128 terms each. */
export function splitK(M: number, N: number, K: number): {kPerSplit: number; splits: number} {
  const tiles = Math.ceil(M / TILE) * Math.ceil(N / TILE)
  const wanted = Math.max(1, Math.ceil(1024 / tiles))
  let kPerSplit = Math.max(TK * 8, Math.ceil(K / wanted / TK) * TK)
  // keep the partial sums under 64 MiB
  while (Math.ceil(K / kPerSplit) * M * N * 4 > 64 * 2 ** 20) kPerSplit *= 2
  return {kPerSplit, splits: Math.ceil(K / kPerSplit)}
}

type FilterAttrs = {strides: number | [number, number]; pad: tf.backend_util.PadInfo['type'] | number | number[][]; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number]}
type Backend = WebgpuBackendInternals & tf.KernelBackend

/** The call's operands and geometry, or undefined for one the project's kernels do not take (NCHW, not float32). */
function filterCall(args: Parameters<tf.KernelFunc>[0]): {b: Backend; x: tf.TensorInfo; dy: tf.TensorInfo; info: tf.backend_util.Conv2DInfo; filterShape: FilterAttrs['filterShape']} | undefined {
  const {x, dy} = args.inputs as Record<string, tf.TensorInfo>
  const a = args.attrs as unknown as FilterAttrs
  if (a.dataFormat === 'NCHW' || x.dtype !== 'float32') return undefined
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad as never,
    a.dimRoundingMode,
    false,
    'channelsLast',
  )
  return {b: args.backend as unknown as Backend, x, dy, info, filterShape: a.filterShape}
}

/** The filter gradient on this module's 64 × 64 kernel, k split over workgroups. */
function filterGradient64(b: Backend, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, filterShape: number[]): tf.TensorInfo {
  const M = info.filterHeight * info.filterWidth * info.inChannels
  const N = info.outChannels
  const K = info.batchSize * info.outHeight * info.outWidth
  const {kPerSplit, splits} = splitK(M, N, K)
  const rounding = productRounding(splits === 1 ? 'whole' : 'slices')
  const [partial] = runKernel(b, {
    name: 'MixtureConv2DBackpropFilter',
    key: `conv-filter-gemm${rounding.key}`,
    wgsl: () => gemmWgsl(rounding),
    workgroups: [Math.ceil(M / TILE), Math.ceil(N / TILE), splits],
    inputs: [x, dy],
    outputs: [{shape: splits === 1 ? filterShape : [splits, M, N]}],
    uniforms: [
      {type: 'uint32', data: [M]},
      {type: 'uint32', data: [N]},
      {type: 'uint32', data: [K]},
      {type: 'uint32', data: [kPerSplit]},
      ...convGeometryUniforms(info),
    ],
  })
  if (splits === 1) return partial
  return sumSplits(b, partial, {name: 'MixtureConv2DBackpropFilterSum', splits, I: M, J: N, heads: 1, cView: [M * N, M * N, N, 1], outShape: filterShape, rounding: productRounding('sum')})
}

/** Pixels staged in workgroup memory at a time by `filterGradientNarrow`. */
const CHUNK = 64
const NARROW_WORKGROUP = 256

/**
 * The narrow kernel: one thread per filter row m = (fh, fw, ci) holding all N ≤ 8 output channels,
 * over a slice of the pixels; each 64-pixel chunk's positions and dy values are staged in workgroup
 * memory once for all threads, and consecutive threads read consecutive input channels.
 */
function narrowWgsl(N: number, rounding: ProductRounding): string {
  const each = (f: (n: number) => string): string => Array.from({length: N}, (_, n) => f(n)).join('\n')
  return /* wgsl */ `${filterKernelHeader(['M', 'K', 'kPerSplit'], rounding)}
var<workgroup> dyS : array<f32, ${CHUNK * N}>;
var<workgroup> pixB : array<u32, ${CHUNK}>;
var<workgroup> pixH : array<i32, ${CHUNK}>;
var<workgroup> pixW : array<i32, ${CHUNK}>;
var<workgroup> pixOk : array<u32, ${CHUNK}>;

@compute @workgroup_size(${NARROW_WORKGROUP}, 1, 1)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) li : u32) {
  let m = wg.x * ${NARROW_WORKGROUP}u + li;
  let kBegin = wg.y * u.kPerSplit;
  let kEnd = min(kBegin + u.kPerSplit, u.K);
  ${digitsWgsl('let', ['ci', 'fw', 'fh'], 'm', 'u.inC', 'u.filterW')}
${each((n) => `  var acc${n} = 0.0;`)}
  for (var p0 = kBegin; p0 < kEnd; p0 = p0 + ${CHUNK}u) {
    if (li < ${CHUNK}u) {
      let p = p0 + li;
      ${digitsWgsl('let', ['ow', 'oh', 'b'], 'p', 'u.outW', 'u.outH')}
      pixB[li] = b;
      pixH[li] = i32(oh) * u.strideH - u.padT;
      pixW[li] = i32(ow) * u.strideW - u.padL;
      pixOk[li] = select(0u, 1u, p < kEnd);
    }
    for (var e = li; e < ${CHUNK * N}u; e = e + ${NARROW_WORKGROUP}u) {
      let p = p0 + e / ${N}u;
      var v = 0.0;
      if (p < kEnd) { v = roundOperand(dy[p * ${N}u + e % ${N}u]); }
      dyS[e] = v;
    }
    workgroupBarrier();
    if (m < u.M) {
      for (var j = 0u; j < ${CHUNK}u; j = j + 1u) {
        let ih = pixH[j] + i32(fh);
        let iw = pixW[j] + i32(fw);
        if (pixOk[j] == 1u && ih >= 0 && ih < i32(u.inH) && iw >= 0 && iw < i32(u.inW)) {
          let xv = roundOperand(x[((pixB[j] * u.inH + u32(ih)) * u.inW + u32(iw)) * u.inC + ci]);
${each((n) => `          acc${n} = fma(xv, dyS[j * ${N}u + ${n}u], acc${n});`)}
        }
      }
    }
    workgroupBarrier();
  }
  if (m < u.M) {
    let base = wg.y * u.M * ${N}u + m * ${N}u;
${each((n) => `    result[base + ${n}u] = roundResult(acc${n});`)}
  }
}
`
}

/**
 * The filter gradient of a layer with at most 8 output channels (the CNN stack's 128→3 layer and its
 * 1×1 shortcut), where a 64-wide tile would leave 61 of 64 columns idle: `narrowWgsl` over slices of
 * the pixels (~1,024 workgroups), the slices added by `sumSplits`. Undefined for a wider layer.
 */
function filterGradientNarrow(b: Backend, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, filterShape: number[]): tf.TensorInfo | undefined {
  const N = info.outChannels
  if (N > NARROW_MAX || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined
  const M = info.filterHeight * info.filterWidth * info.inChannels
  const K = info.batchSize * info.outHeight * info.outWidth
  const blocks = Math.ceil(M / NARROW_WORKGROUP)
  let kPerSplit = Math.max(CHUNK * 4, Math.ceil(K / Math.ceil(1024 / blocks) / CHUNK) * CHUNK)
  // keep the partial sums under 64 MiB
  while (Math.ceil(K / kPerSplit) * M * N * 4 > 64 * 2 ** 20) kPerSplit *= 2
  const splits = Math.ceil(K / kPerSplit)
  const rounding = productRounding(splits === 1 ? 'whole' : 'slices')
  const [partial] = runKernel(b, {
    name: 'MixtureConv2DFilterNarrow',
    key: `conv-filter-narrow-${N}${rounding.key}`,
    wgsl: () => narrowWgsl(N, rounding),
    workgroups: [blocks, splits],
    inputs: [x, dy],
    outputs: [{shape: splits === 1 ? filterShape : [splits, M, N]}],
    uniforms: [{type: 'uint32', data: [M]}, {type: 'uint32', data: [K]}, {type: 'uint32', data: [kPerSplit]}, ...convGeometryUniforms(info)],
  })
  if (splits === 1) return partial
  return sumSplits(b, partial, {name: 'MixtureConv2DFilterNarrowSum', splits, I: M, J: N, heads: 1, cView: [M * N, M * N, N, 1], outShape: filterShape, rounding: productRounding('sum')})
}

/**
 * Conv2DBackpropFilter: large layers on gemm.ts's kernel in filter mode, the rest on the 64 × 64
 * kernel; for tuning (../tune.ts) also '64x64' (the 64 × 64 kernel where gemm.ts's would run) and
 * gemm.ts's plan variants 'wide' (its kernel where its rules leave the layer to the 64 × 64 one),
 * 'nosplit' and 'split' (k split the other way), and 'narrow' (`filterGradientNarrow`, ≤ 8 output
 * channels).
 */
export const convBackpropFilterKernel: TunedKernel = {
  kernelName: 'Conv2DBackpropFilter',
  wrap: (original) => (args) => {
    const c = filterCall(args)
    if (!c) return original(args)
    return filterGemm(c.b, c.x, c.dy, c.info, c.filterShape) ?? filterGradient64(c.b, c.x, c.dy, c.info, c.filterShape)
  },
  alternatives: () => ({
    narrow: (args) => {
      const c = filterCall(args)
      return c && filterGradientNarrow(c.b, c.x, c.dy, c.info, c.filterShape)
    },
    '64x64': (args) => {
      const c = filterCall(args)
      if (!c || !webgpuSwitch('matmul') || !filterGemmPlan(c.info)) return undefined
      return filterGradient64(c.b, c.x, c.dy, c.info, c.filterShape)
    },
    ...gemmVariantRoutes((args, variant) => {
      const c = filterCall(args)
      return c && filterGemm(c.b, c.x, c.dy, c.info, c.filterShape, variant)
    }),
  }),
}
