/**
 * Large float32 products on WebGPU — `BatchMatMul` and `_FusedMatMul` (bias, ReLU or none) — and
 * large NHWC convolutions — `Conv2D`, `FusedConv2D`, as implicit products over the input's patches,
 * and their filter gradients (`filterGemm`, called by ../kernels/conv-backprop-filter.ts) — with 128 × 128 output
 * tiles: 256 threads compute 8 × 8 outputs each from 16-deep tiles held in workgroup memory, read
 * from global memory and from workgroup memory as vec4. tfjs-backend-webgpu 4.22's
 * `MatMulPackedProgram` (and its `Conv2DMMProgram`) computes 32 × 32 tiles with 64 threads of 4 × 4
 * outputs (two workgroup-memory reads per 16 multiply-adds, against four per 64 here); the product
 * was 54 of the 65 ms of GPU time of a ViT training step on an H200, and ran a 4096² product at
 * 14 TFLOP/s against PyTorch's 50; the convolutions were 11 of the 27 ms of the 96×96 CNN's.
 * Products with few output tiles and a long k (the weight gradients Aᵀ·dY over every token of a
 * batch) split k over workgroups and add the slices in a second dispatch (`sumSplits`).
 * The kernel has a second, double-buffered form (`gemmWgsl`'s `pipelined`: the next tile's global
 * reads overlap the current tile's multiply-adds, one barrier per tile) giving the same values bit
 * for bit; kernel tuning times it as the 'pipelined' route, and MIXTURE_WEBGPU_GEMM_PIPELINE=1
 * takes it for every call (0: never). In mixed16 (../precision.ts) it rounds each operand value to
 * float16 as it loads it and each result as it writes it (where k is split, the sum pass does).
 *
 * Which calls it takes, in which tiles and with k split how, is gemm-plan.ts (pure, tested without a
 * GPU). The kernels that route products and convolutions here are ../kernels/matmul.ts and
 * ../kernels/conv.ts; MIXTURE_WEBGPU_MATMUL=0 leaves every product and convolution to tfjs.
 */
import {tf} from '../../../engine/tf.js'
import type {UniformField, WebgpuBackendInternals} from '../internals.js'
import {productRounding, type ProductRounding} from '../precision.js'
import {runKernel, unrolled} from '../runner.js'
import {webgpuSwitch} from '../switches.js'
import type {Alternative} from '../tune.js'
import {advanceDigitsWgsl, CONV_GEOMETRY_WGSL, convGeometryUniforms, digitsWgsl, dilatedExtents, isDilated} from './conv-geometry.js'
import {convGemmPlan, filterGemmPlan, gemmPlan, TILE, TK, type GemmPlan, type GemmVariant, type TileN} from './gemm-plan.js'
import {sumSplits} from './split-k.js'

/** vec4s across a tile edge, and threads along each side of the 16 × 16 workgroup. */
const T4 = TILE / 4
const SIDE = 16

export type GemmEpilogue = 'none' | 'bias' | 'relu' | 'bias-relu'

/**
 * One operand's tile, in two halves, so that the double-buffered form can read the next tile from
 * global memory while it multiplies the current one: `load` reads the tile whose first k is `kt`
 * into the thread's registers, `store` writes those registers into workgroup memory from `offset` on.
 */
interface TileLoad {
  /** The registers, declared at function scope. */
  registers: string
  load: string
  store: (offset: string) => string
}

/**
 * A tile of a matrix operand: 16 × `edge` values (2 or 1 vec4s a thread) into `S` laid out
 * [k][edge/4] (vec4 along m or n).
 * `contiguousK`: the operand's k index is the contiguous one (A untransposed, B transposed), so
 * four consecutive threads read one row's 16 k values and scatter them; otherwise a thread reads
 * four consecutive m (or n) values of one k and stores them as they are.
 */
function tileLoad(S: string, X: string, base: string, outer0: string, outerLimit: string, rowStride: string, contiguousK: boolean, edge = TILE): TileLoad {
  const e4 = edge / 4
  const count = (TK * e4) / 256
  const reg = (t: number): string => `${S}r${t}`
  return {
    registers: unrolled(count, (t) => `  var ${reg(t)} : vec4<f32>;`),
    load: unrolled(
      count,
      (t) => `    {
      let e = li + ${t * 256}u;
      let o = ${outer0} + ${contiguousK ? 'e / 4u' : `(e % ${e4}u) * 4u`};
      let k = kt + ${contiguousK ? '(e % 4u) * 4u' : `e / ${e4}u`};
      ${reg(t)} = vec4<f32>(0.0);
      if (o < ${outerLimit} && k < kEnd) { ${reg(t)} = roundOperand4(${X}[(${base} + ${contiguousK ? `o * ${rowStride} + k` : `k * ${rowStride} + o`}) / 4u]); }
    }`,
    ),
    store: (offset) =>
      unrolled(count, (t) =>
        contiguousK
          ? `    {
      let e = li + ${t * 256}u;
      let row = e / 4u;
      let kq = e % 4u;
${unrolled(4, (j) => `      ${S}[${offset} + (kq * 4u + ${j}u) * ${e4}u + row / 4u][row % 4u] = ${reg(t)}[${j}];`)}
    }`
          : `    ${S}[${offset} + li + ${t * 256}u] = ${reg(t)};`,
      ),
  }
}

/**
 * Convolution mode (implicit im2col, NHWC): A is the input x read as the (B·OH·OW) × (KH·KW·Cin)
 * matrix of its patches without building it. A thread loads the same two rows (output pixels) and
 * the same four k (one vec4 of input channels of one filter tap) of every tile, so the pixels are
 * decomposed once and the tap is advanced by 16 channels per tile without divisions; Cin is a
 * multiple of 4, so a vec4 never straddles two taps.
 * `inputDilation` [dh, dw]: x read as if (d − 1) zeros stood between its rows (columns) — u.inH and
 * u.inW are then the dilated extents, and a tap landing on a zero loads nothing (a strided
 * convolution's input gradient: ../kernels/conv-backprop-input.ts). [1, 1]: the plain convolution.
 */
function convSetup(inputDilation: [number, number]): string {
  const [dh, dw] = inputDilation
  return `  let kq = li % 4u;
${unrolled(
  2,
  (t) => `  let cm${t} = m0 + li / 4u + ${t * 64}u;
  ${digitsWgsl('let', [`cw${t}`, `ch${t}`, `cb${t}`], `cm${t}`, 'u.outW', 'u.outH')}
  let ih${t} = i32(ch${t}) * u.strideH - u.padT;
  let iw${t} = i32(cw${t}) * u.strideW - u.padL;`,
)}
  ${digitsWgsl('var', ['ci', 'fw', 'fh'], 'kBegin + kq * 4u', 'u.inC', 'u.filterW')}${
    isDilated(inputDilation)
      ? `
  let rows = (u.inH - 1u) / ${dh}u + 1u;
  let cols = (u.inW - 1u) / ${dw}u + 1u;`
      : ''
  }`
}

function convLoad(inputDilation: [number, number]): TileLoad {
  const [dh, dw] = inputDilation
  const dilated = isDilated(inputDilation)
  const row = `u32(ih)${dh > 1 ? ` / ${dh}u` : ''}`
  const col = `u32(iw)${dw > 1 ? ` / ${dw}u` : ''}`
  return {
    registers: unrolled(2, (t) => `  var Asr${t} : vec4<f32>;`),
    load: `    {
      let k = kt + kq * 4u;
${unrolled(
  2,
  (t) => `      {
        let ih = ih${t} + i32(fh);
        let iw = iw${t} + i32(fw);
        Asr${t} = vec4<f32>(0.0);
        if (cm${t} < u.M && k < kEnd && ih >= 0 && ih < i32(u.inH) && iw >= 0 && iw < i32(u.inW)${dilated ? ` && ih % ${dh} == 0 && iw % ${dw} == 0` : ''}) {
          Asr${t} = roundOperand4(A[(((cb${t} * ${dilated ? 'rows' : 'u.inH'} + ${row}) * ${dilated ? 'cols' : 'u.inW'} + ${col}) * u.inC + ci) / 4u]);
        }
      }`,
)}
      ${advanceDigitsWgsl(['ci', 'fw', 'fh'], `${TK}u`, 'u.inC', 'u.filterW')}
    }`,
    store: (offset) =>
      unrolled(
        2,
        (t) => `    {
      let row = li / 4u + ${t * 64}u;
${unrolled(4, (j) => `      As[${offset} + (kq * 4u + ${j}u) * ${T4}u + row / 4u][row % 4u] = Asr${t}[${j}];`)}
    }`,
      ),
  }
}

/**
 * Filter-gradient mode (dW = patchesᵀ · dy, NHWC): A is the same patch matrix read transposed, as
 * the (KH·KW·Cin) × (B·OH·OW) operand, contiguous along Cin. A thread loads the same four filter
 * rows (one vec4 of channels of one tap) and the same two pixels k of every tile, so the tap is
 * decomposed once and the pixels are advanced by 16 per tile without divisions.
 */
const FILTER_SETUP = `  let q = li % ${T4}u;
  let kr = li / ${T4}u;
  let fm = m0 + q * 4u;
  ${digitsWgsl('let', ['fci', 'ffw', 'ffh'], 'fm', 'u.inC', 'u.filterW')}
  let offW = i32(ffw) - u.padL;
  let offH = i32(ffh) - u.padT;
${unrolled(2, (t) => `  ${digitsWgsl('var', [`pw${t}`, `ph${t}`, `pb${t}`], `kBegin + kr + ${t * 8}u`, 'u.outW', 'u.outH')}`)}`

const FILTER_LOAD: TileLoad = {
  registers: unrolled(2, (t) => `  var Asr${t} : vec4<f32>;`),
  load: unrolled(
    2,
    (t) => `    {
      let ih = i32(ph${t}) * u.strideH + offH;
      let iw = i32(pw${t}) * u.strideW + offW;
      Asr${t} = vec4<f32>(0.0);
      if (fm < u.M && kt + kr + ${t * 8}u < kEnd && ih >= 0 && ih < i32(u.inH) && iw >= 0 && iw < i32(u.inW)) {
        Asr${t} = roundOperand4(A[(((pb${t} * u.inH + u32(ih)) * u.inW + u32(iw)) * u.inC + fci) / 4u]);
      }
      ${advanceDigitsWgsl([`pw${t}`, `ph${t}`, `pb${t}`], `${TK}u`, 'u.outW', 'u.outH')}
    }`,
  ),
  store: (offset) => unrolled(2, (t) => `    As[${offset} + (kr + ${t * 8}u) * ${T4}u + q] = Asr${t};`),
}

/** What the A operand is: a (batch of) matrices, an NHWC input's patches, or those patches transposed. */
type AOperand = 'matrix' | 'patches' | 'patches-t'

/** What a product kernel computes (the plan adds its tile width and whether it is double-buffered). */
interface GemmForm {
  transposeA: boolean
  transposeB: boolean
  epilogue: GemmEpilogue
  aOperand: AOperand
  /** 'patches' only: the input's dilation (`convLoad`); [1, 1] where absent. */
  inputDilation?: [number, number]
}

/**
 * The kernel's WGSL. `pipelined`: the double-buffered form — two tiles of each operand in workgroup
 * memory (32 KiB with 128 × 128 tiles, 48 KiB with 128 × 256); each step reads the next tile from global memory into
 * registers before it multiplies the current one, writes them to the other buffer after, and waits
 * at one barrier instead of two. Each output is the same sum in the same order in both forms.
 */
function gemmWgsl({transposeA, transposeB, epilogue, aOperand, inputDilation = [1, 1]}: GemmForm, tileN: TileN, pipelined: boolean, rounding: ProductRounding): string {
  const conv = aOperand !== 'matrix'
  const halves = tileN / (TILE / 2)
  const N4 = tileN / 4
  const bias = epilogue === 'bias' || epilogue === 'bias-relu'
  const relu = epilogue === 'relu' || epilogue === 'bias-relu'
  const loadA =
    aOperand === 'patches'
      ? convLoad(inputDilation)
      : aOperand === 'patches-t'
        ? FILTER_LOAD
        : transposeA
          ? tileLoad('As', 'A', 'aBase', 'm0', 'u.M', 'u.M', false)
          : tileLoad('As', 'A', 'aBase', 'm0', 'u.M', 'u.K', true)
  const loadB = transposeB ? tileLoad('Bs', 'B', 'bBase', 'n0', 'u.N', 'u.K', true, tileN) : tileLoad('Bs', 'B', 'bBase', 'n0', 'u.N', 'u.N', false, tileN)
  const load = `${loadA.load}\n${loadB.load}`
  /** Both operands' registers into the workgroup buffer `buffer` (a WGSL expression, 0 or 1). */
  const store = (buffer: string): string => `${loadA.store(`${buffer} * ${TK * T4}u`)}\n${loadB.store(`${buffer} * ${TK * N4}u`)}`
  // acc r·halves + h: row (r < 4 ? ty·4 + r : 64 + ty·4 + r − 4), columns h·64 + tx·4 … + 3
  const rowOf = (r: number): string => (r < 4 ? `ty * 4u + ${r}u` : `${TILE / 2}u + ty * 4u + ${r - 4}u`)
  const multiply = (buffer: string): string => `    for (var kk = 0u; kk < ${TK}u; kk = kk + 1u) {
      let a0 = As[${buffer} * ${TK * T4}u + kk * ${T4}u + ty];
      let a1 = As[${buffer} * ${TK * T4}u + kk * ${T4}u + ${SIDE}u + ty];
${unrolled(halves, (h) => `      let b${h} = Bs[${buffer} * ${TK * N4}u + kk * ${N4}u + ${h * SIDE}u + tx];`)}
${unrolled(8 * halves, (i) => `      acc${i} = fma(vec4<f32>(a${Math.floor(i / halves) < 4 ? 0 : 1}[${Math.floor(i / halves) % 4}]), b${i % halves}, acc${i});`)}
    }`
  const buffers = pipelined ? 2 : 1
  const loop = pipelined
    ? `  {
    let kt = kBegin;
${load}
  }
${store('0u')}
  workgroupBarrier();
  var buffer = 0u;
  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + ${TK}u) {
    let kt = k0 + ${TK}u;
    if (kt < kEnd) {
${load}
    }
${multiply('buffer')}
    buffer = 1u - buffer;
${store('buffer')}
    workgroupBarrier();
  }`
    : `  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + ${TK}u) {
    let kt = k0;
${load}
${store('0u')}
    workgroupBarrier();
${multiply('0u')}
    workgroupBarrier();
  }`
  return /* wgsl */ `
struct Params {
  M : u32,
  N : u32,
  K : u32,
  kPerSplit : u32,
  aBatch : u32,
  bBatch : u32,
  cBatch : u32,
  splitStride : u32,${conv ? `\n${CONV_GEOMETRY_WGSL}` : ''}
};
@group(0) @binding(0) var<storage, read_write> C : array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> A : array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B : array<vec4<f32>>;
${bias ? '@group(0) @binding(3) var<storage, read> bias : array<vec4<f32>>;\n@group(0) @binding(4) var<uniform> u : Params;' : '@group(0) @binding(3) var<uniform> u : Params;'}
${rounding.wgsl}

var<workgroup> As : array<vec4<f32>, ${buffers * TK * T4}>;
var<workgroup> Bs : array<vec4<f32>, ${buffers * TK * N4}>;

@compute @workgroup_size(${SIDE}, ${SIDE}, 1)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>,
        @builtin(local_invocation_index) li : u32) {
  let tx = lid.x;
  let ty = lid.y;
  let n0 = wg.x * ${tileN}u;
  let m0 = wg.y * ${TILE}u;
  let splits = (u.K + u.kPerSplit - 1u) / u.kPerSplit;
  let z = wg.z / splits;
  let s = wg.z % splits;
  let kBegin = s * u.kPerSplit;
  let kEnd = min(kBegin + u.kPerSplit, u.K);
  let aBase = z * u.aBatch;
  let bBase = z * u.bBatch;
${unrolled(8 * halves, (i) => `  var acc${i} = vec4<f32>(0.0);`)}
${loadA.registers}
${loadB.registers}
${aOperand === 'patches' ? convSetup(inputDilation) : aOperand === 'patches-t' ? FILTER_SETUP : ''}

${loop}

  let cBase = s * u.splitStride + z * u.cBatch;
${unrolled(8 * halves, (i) => {
  const r = Math.floor(i / halves)
  const h = i % halves
  return `  {
    let m = m0 + ${rowOf(r)};
    let n = n0 + ${h * (TILE / 2)}u + tx * 4u;
    if (m < u.M && n < u.N) {
      var v = acc${i};${bias ? '\n      v = v + bias[n / 4u];' : ''}${relu ? '\n      v = max(v, vec4<f32>(0.0));' : ''}
      C[(cBase + m * u.N + n) / 4u] = roundResult4(v);
    }
  }`
})}
}
`
}

/** Workgroup memory of the double-buffered form: two 16-deep tiles of each operand, float32. */
const pipelinedBytes = (tileN: TileN): number => 2 * TK * (TILE + tileN) * 4

/**
 * Whether a call takes the kernel's double-buffered form: where MIXTURE_WEBGPU_GEMM_PIPELINE is `1`
 * every call whose tiles fit the device's workgroup memory; unset, the calls kernel tuning timed
 * faster on a route that asks for it ('pipelined', 'n256-pipelined'). Undefined for such a route
 * where it is not an alternative (it would be the form taken anyway, or cannot run).
 */
function pipelinedFor(backend: Backend, variant: GemmVariant, tileN: TileN): boolean | undefined {
  const fits = backend.device.limits.maxComputeWorkgroupStorageSize >= pipelinedBytes(tileN)
  const mode = webgpuSwitch('gemmPipeline')
  if (variant !== 'pipelined' && variant !== 'n256-pipelined') return fits && mode === 'always'
  return fits && mode === 'tuned' ? true : undefined
}

/** One planned product: the kernel's dispatch, then (k split) the pass that adds the slices. */
interface PlannedRun {
  plan: GemmPlan
  form: GemmForm
  /** Program names: \`name\` (\`${name}N256\` with 128 × 256 tiles, then \`…Pipelined\`), or \`${name}Partial\` and \`${name}Sum\` when k is split. */
  name: string
  inputs: tf.TensorInfo[]
  M: number
  N: number
  K: number
  outShape: number[]
  /** Elements between the batch matrices of A, B and C (0: shared by the batch). */
  batchStrides: [number, number, number]
  /** Uniform fields after the kernel's own eight (the convolution geometry). */
  extraUniforms?: UniformField[]
}

/** The planned product on the kernel (`variant`: the route's), or undefined when the variant does not apply to it. */
function runPlanned(backend: Backend, r: PlannedRun, variant: GemmVariant): tf.TensorInfo | undefined {
  const {splits, kPerSplit, tileN} = r.plan
  const pipelined = pipelinedFor(backend, variant, tileN)
  if (pipelined === undefined) return undefined
  const {transposeA, transposeB, epilogue, aOperand, inputDilation} = r.form
  const dilation = inputDilation && isDilated(inputDilation) ? `-d${inputDilation.join('x')}` : ''
  const name = `${r.name}${tileN === 256 ? 'N256' : ''}${pipelined ? 'Pipelined' : ''}`
  const split = splits > 1
  const rounding = productRounding(split ? 'slices' : 'whole')
  const MN = r.M * r.N
  const [out] = runKernel(backend, {
    name: split ? `${name}Partial` : name,
    key: `gemm-${aOperand}${dilation}-${transposeA ? 't' : 'n'}${transposeB ? 't' : 'n'}-${epilogue}-${tileN}${pipelined ? '-pipelined' : ''}${rounding.key}`,
    wgsl: () => gemmWgsl(r.form, tileN, pipelined, rounding),
    workgroups: r.plan.workgroups,
    inputs: r.inputs,
    outputs: [{shape: split ? [splits, MN] : r.outShape}],
    uniforms: [...[r.M, r.N, r.K, kPerSplit, ...r.batchStrides, MN].map((v) => ({type: 'uint32' as const, data: [v]})), ...(r.extraUniforms ?? [])],
  })
  if (!split) return out
  return sumSplits(backend, out, {name: `${name}Sum`, splits, I: r.M, J: r.N, heads: 1, cView: [MN, 0, r.N, 1], outShape: r.outShape, rounding: productRounding('sum')})
}

/** Whether a fused bias can be added by a kernel's epilogue: none, or one float32 value per output column (shape [N], or [1, …, N]). */
export function biasFits(bias: tf.TensorInfo | undefined, N: number): boolean {
  return !bias || (bias.dtype === 'float32' && tf.util.sizeFromShape(bias.shape) === N && bias.shape[bias.shape.length - 1] === N)
}

interface MatMulArgs {
  a: tf.TensorInfo
  b: tf.TensorInfo
  bias?: tf.TensorInfo
  transposeA: boolean
  transposeB: boolean
  epilogue: GemmEpilogue
  /** An alternative route (kernel tuning's; `GemmVariant`). */
  variant?: GemmVariant
}

export type Backend = WebgpuBackendInternals & tf.KernelBackend

/** The sizes of a (batched, broadcast) product A·B, or undefined for one the project's kernels do not take. */
export interface ProductShape {
  M: number
  N: number
  K: number
  batch: number
  batchA: number
  batchB: number
  outShape: number[]
}

export function productShape(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): ProductShape | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined
  const ra = a.shape.length
  const rb = b.shape.length
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2]
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1]
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1]
  if ((transposeB ? b.shape[rb - 1] : b.shape[rb - 2]) !== K) return undefined
  const aOuter = a.shape.slice(0, -2)
  const bOuter = b.shape.slice(0, -2)
  const batchA = tf.util.sizeFromShape(aOuter)
  const batchB = tf.util.sizeFromShape(bOuter)
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined
  let outOuter: number[]
  try {
    outOuter = tf.broadcast_util.assertAndGetBroadcastShape(aOuter, bOuter)
  } catch {
    return undefined
  }
  return {M, N, K, batch: Math.max(batchA, batchB), batchA, batchB, outShape: [...outOuter, M, N]}
}

/** The product on this kernel, or undefined when the operands are not for it. */
export function gemm(backend: Backend, {a, b, bias, transposeA, transposeB, epilogue, variant}: MatMulArgs): tf.TensorInfo | undefined {
  const shape = productShape(a, b, transposeA, transposeB)
  if (!shape) return undefined
  const {M, N, K, batch, batchA, batchB, outShape} = shape
  if (!biasFits(bias, N)) return undefined
  const plan = gemmPlan({M, N, K, batch}, transposeA, transposeB, epilogue === 'none' && batch === 1, 32, variant)
  if (!plan) return undefined
  return runPlanned(
    backend,
    {
      plan,
      form: {transposeA, transposeB, epilogue, aOperand: 'matrix'},
      name: 'MixtureMatMul',
      inputs: bias ? [a, b, bias] : [a, b],
    M,
    N,
    K,
    outShape,
    batchStrides: [batchA === 1 ? 0 : M * K, batchB === 1 ? 0 : K * N, M * N],
    },
    variant ?? 'default',
  )
}

export interface ConvArgs {
  x: tf.TensorInfo
  filter: tf.TensorInfo
  bias?: tf.TensorInfo
  strides: number | [number, number]
  pad: 'valid' | 'same' | number | number[][]
  dilations?: number | [number, number]
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  epilogue: GemmEpilogue
  /** An alternative route (kernel tuning's; `GemmVariant`). */
  variant?: GemmVariant
  /** x read as if (d − 1) zeros stood between its rows and columns (`convLoad`); [1, 1] where absent. */
  inputDilation?: [number, number]
}

/**
 * An NHWC convolution as the same product (`gemm`'s kernel in convolution mode: M = B·OH·OW output
 * pixels, N = Cout, K = KH·KW·Cin), or undefined when it is not for this kernel: dilated, Cin or
 * Cout not a multiple of 4, Cout under 64, fewer than 64 pixels, or under 2²⁴ multiply-adds (the
 * 3-channel first layers and small maps stay with tfjs's Conv2DMMProgram).
 */
export function convGemm(backend: Backend, {x, filter, bias, strides, pad, dilations, dimRoundingMode, epilogue, variant, inputDilation = [1, 1]}: ConvArgs): tf.TensorInfo | undefined {
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return undefined
  const info = tf.backend_util.computeConv2DInfo(
    dilatedExtents(x.shape, inputDilation),
    filter.shape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad as never,
    dimRoundingMode,
    false,
    'channelsLast',
  )
  const M = info.batchSize * info.outHeight * info.outWidth
  const N = info.outChannels
  const K = info.filterHeight * info.filterWidth * info.inChannels
  const plan = biasFits(bias, N) ? convGemmPlan(info, epilogue === 'none', variant) : undefined
  if (!plan) return undefined
  return runPlanned(
    backend,
    {
      plan,
      form: {transposeA: false, transposeB: false, epilogue, aOperand: 'patches', inputDilation},
      // A transposed convolution (a strided one's input gradient) by its own name in profiles.
      name: isDilated(inputDilation) ? 'MixtureConv2DTransposed' : 'MixtureConv2D',
      inputs: bias ? [x, filter, bias] : [x, filter],
      M,
      N,
      K,
      outShape: info.outShape,
      batchStrides: [0, 0, 0],
      extraUniforms: convGeometryUniforms(info),
    },
    variant ?? 'default',
  )
}

/**
 * An NHWC convolution's filter gradient dW = patches(x)ᵀ · dy on the same kernel (M = KH·KW·Cin,
 * N = Cout, K = B·OH·OW pixels, k split over workgroups and the slices added by `sumSplits`), or
 * undefined when it is not for this kernel (dilated, Cin or Cout not a multiple of 4, fewer than
 * 64 filter rows or output channels, under 2²⁴ multiply-adds, or MIXTURE_WEBGPU_MATMUL=0).
 */
export function filterGemm(backend: Backend, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, filterShape: number[], variant: GemmVariant = 'default'): tf.TensorInfo | undefined {
  if (!webgpuSwitch('matmul') || x.dtype !== 'float32' || dy.dtype !== 'float32') return undefined
  const plan = filterGemmPlan(info, variant)
  if (!plan) return undefined
  const M = info.filterHeight * info.filterWidth * info.inChannels
  const N = info.outChannels
  const K = info.batchSize * info.outHeight * info.outWidth
  return runPlanned(
    backend,
    {
      plan,
      form: {transposeA: true, transposeB: false, epilogue: 'none', aOperand: 'patches-t'},
      name: 'MixtureConv2DFilter',
      inputs: [x, dy],
      M,
      N,
      K,
      outShape: filterShape,
      batchStrides: [0, 0, 0],
      extraUniforms: convGeometryUniforms(info),
    },
    variant,
  )
}

/** The epilogue of a fused kernel's bias and activation, or undefined for an activation this kernel lacks. */
export function epilogueOf(bias: unknown, activation: string | undefined): GemmEpilogue | undefined {
  const act = activation ?? 'linear'
  if (act !== 'linear' && act !== 'relu') return undefined
  return bias ? (act === 'relu' ? 'bias-relu' : 'bias') : act === 'relu' ? 'relu' : 'none'
}

/** A kernel's alternative routes for tuning (tune.ts): `run` under each `GemmVariant` but the default. */
export function gemmVariantRoutes(run: (args: Parameters<tf.KernelFunc>[0], variant: GemmVariant) => tf.TensorInfo | undefined): Record<string, Alternative> {
  return Object.fromEntries((['wide', 'nosplit', 'split', 'pipelined', 'n256', 'n256-pipelined'] as const).map((v) => [v, (args: Parameters<tf.KernelFunc>[0]) => run(args, v)]))
}
