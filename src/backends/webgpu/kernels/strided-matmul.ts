/**
 * `MixtureStridedMatMul` on WebGPU: C = α·A·B for a batch of (batch × heads) matrices, each operand
 * addressed through its own strides, so that attention reads q, k, v straight out of the packed
 * projection (B, N, 3·h·d) and writes its output in (B, N, h·d) — no split, no head transposes.
 *
 *   inputs {a, b}; attrs {I, J, K, batch, heads, alpha, outShape,
 *     aView: [offset, batchStride, headStride, iStride, kStride],
 *     bView: [offset, batchStride, headStride, kStride, jStride],
 *     cView: [batchStride, headStride, iStride, jStride]}
 *   C[b, h, i, j] (at b·cB + h·cH + i·cI + j·cJ of a new tensor of `outShape`)
 *     = α · Σ_k A[aOff + b·aB + h·aH + i·aI + k·aK] · B[bOff + b·bB + h·bH + k·bK + j·bJ]
 *
 * 64×64 output tiles (32×32 when a side is at most 32), 16-deep k steps through workgroup memory,
 * 4×4 outputs per thread. The tile
 * loads read along whichever index of an operand has stride 1, so global reads stay coalesced for
 * transposed operands too. Products with few tiles and a long k (attention's P·V and dS·K over
 * 9,216 pixels) split k over workgroups, write partial sums, and add them in a second dispatch
 * (`sumSplits`). In mixed16 (../precision.ts) operands are rounded to float16 as they are loaded
 * and results (after α) as they are written. A fused product's bias and ReLU (`StridedEpilogue`, for
 * ./matmul.ts) are applied before that, with k unsplit.
 * The cpu reference is `stridedMatMulReference` (tests).
 */
import {tf} from '../../../engine/tf.js'
import {STRIDED_MATMUL_KERNEL, type StridedMatMulAttrs} from '../../../ops/strided-matmul.js'
import {productRounding, type ProductRounding} from '../precision.js'
import {sumSplits} from '../programs/split-k.js'
import {runKernel, type WebgpuBackendInternals} from '../runner.js'

const TK = 16

/** Output tile edge: 64 (16×16 threads), or 32 (8×8 threads) when a side is small (Perceiver heads of 16). */
export function tileFor(I: number, J: number): number {
  return Math.min(I, J) <= 32 ? 32 : 64
}

/**
 * What is done to each output value before it is written (a fused product's bias, one value per
 * output column j, and ReLU; none by default). Only on a product whose k is not split.
 */
export interface StridedEpilogue {
  bias?: tf.TensorInfo
  relu: boolean
}

function matmulWgsl(aKFast: boolean, bKFast: boolean, TILE: number, rounding: ProductRounding, epilogue?: StridedEpilogue): string {
  const T4 = TILE / 4
  const threads = T4 * T4
  const loads = (TILE * TK) / threads
  const aLoad = aKFast ? `let kk = idx % ${TK}; let mm = idx / ${TK};` : `let mm = idx % ${TILE}; let kk = idx / ${TILE};`
  const bLoad = bKFast ? `let kb = idx % ${TK}; let nn = idx / ${TK};` : `let nn = idx % ${TILE}; let kb = idx / ${TILE};`
  return /* wgsl */ `
struct Params {
  dims : vec4<i32>,
  split : vec4<i32>,
  alpha : vec4<f32>,
  aOff : vec4<i32>,
  aStr : vec4<i32>,
  bOff : vec4<i32>,
  bStr : vec4<i32>,
  cOff : vec4<i32>,
  cStr : vec4<i32>,
};
@group(0) @binding(0) var<storage, read_write> C : array<f32>;
@group(0) @binding(1) var<storage, read> A : array<f32>;
@group(0) @binding(2) var<storage, read> B : array<f32>;
${epilogue?.bias ? '@group(0) @binding(3) var<storage, read> bias : array<f32>;\n@group(0) @binding(4) var<uniform> u : Params;' : '@group(0) @binding(3) var<uniform> u : Params;'}
${rounding.wgsl}
var<workgroup> As : array<f32, ${TILE * TK}>;
var<workgroup> Bs : array<f32, ${TILE * TK}>;

@compute @workgroup_size(${T4}, ${T4}, 1)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>, @builtin(local_invocation_index) li : u32) {
  let I = u.dims.x;
  let J = u.dims.y;
  let K = u.dims.z;
  let heads = u.dims.w;
  let splits = u.split.x;
  let s = i32(wg.z) % splits;
  let z = i32(wg.z) / splits;
  let bi = z / heads;
  let h = z % heads;
  let aBase = u.aOff.x + bi * u.aOff.y + h * u.aOff.z;
  let bBase = u.bOff.x + bi * u.bOff.y + h * u.bOff.z;
  let row0 = i32(wg.y) * ${TILE};
  let col0 = i32(wg.x) * ${TILE};
  let kBegin = s * u.split.y;
  let kEnd = min(K, kBegin + u.split.y);
  let tx = i32(lid.x);
  let ty = i32(lid.y);
  var acc : array<vec4<f32>, 4>;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${TK}) {
    for (var e = 0; e < ${loads}; e++) {
      let idx = i32(li) + e * ${threads};
      ${aLoad}
      let gm = row0 + mm;
      let gk = k0 + kk;
      var av = 0.0;
      if (gm < I && gk < kEnd) { av = roundOperand(A[aBase + gm * u.aStr.x + gk * u.aStr.y]); }
      As[kk * ${TILE} + mm] = av;
      ${bLoad}
      let gn = col0 + nn;
      let gkb = k0 + kb;
      var bv = 0.0;
      if (gn < J && gkb < kEnd) { bv = roundOperand(B[bBase + gkb * u.bStr.x + gn * u.bStr.y]); }
      Bs[kb * ${TILE} + nn] = bv;
    }
    workgroupBarrier();
    for (var kk = 0; kk < ${TK}; kk++) {
      let o = kk * ${TILE};
      let b4 = vec4<f32>(Bs[o + tx], Bs[o + tx + ${T4}], Bs[o + tx + ${2 * T4}], Bs[o + tx + ${3 * T4}]);
      acc[0] = fma(vec4<f32>(As[o + ty]), b4, acc[0]);
      acc[1] = fma(vec4<f32>(As[o + ty + ${T4}]), b4, acc[1]);
      acc[2] = fma(vec4<f32>(As[o + ty + ${2 * T4}]), b4, acc[2]);
      acc[3] = fma(vec4<f32>(As[o + ty + ${3 * T4}]), b4, acc[3]);
    }
    workgroupBarrier();
  }
  let cBase = u.cOff.x + s * u.cOff.w + bi * u.cOff.y + h * u.cOff.z;
  for (var i = 0; i < 4; i++) {
    let gm = row0 + ty + ${T4} * i;
    if (gm < I) {
      for (var j = 0; j < 4; j++) {
        let gn = col0 + tx + ${T4} * j;
        if (gn < J) {
          var v = u.alpha.x * acc[i][j];${epilogue?.bias ? '\n          v = v + bias[gn];' : ''}${epilogue?.relu ? '\n          v = max(v, 0.0);' : ''}
          C[cBase + gm * u.cStr.x + gn * u.cStr.y] = roundResult(v);
        }
      }
    }
  }
}
`
}

/**
 * How many ways to split k: enough workgroups to fill a large GPU (about 1,024), chunks of at least
 * 256, at most 256 slices (a product with 2 output tiles over 147,456 pixels gets 256 workgroups of
 * 576 rows rather than 64 of 2,304).
 */
export function kSplits(I: number, J: number, K: number, z: number): number {
  const tile = tileFor(I, J)
  const tiles = Math.ceil(I / tile) * Math.ceil(J / tile) * z
  if (K <= 512 || tiles >= 512) return 1
  return Math.max(1, Math.min(256, Math.ceil(K / 256), Math.ceil(1024 / tiles)))
}

function check(a: StridedMatMulAttrs, aT: tf.TensorInfo, bT: tf.TensorInfo): void {
  const fail = (why: string): never => {
    throw new Error(`${STRIDED_MATMUL_KERNEL}: ${why}`)
  }
  if (aT.dtype !== 'float32' || bT.dtype !== 'float32') fail('float32 operands only')
  if (a.aView.length !== 5 || a.bView.length !== 5 || a.cView.length !== 4) fail('aView/bView need 5 numbers, cView 4')
  for (const v of [a.I, a.J, a.K, a.batch, a.heads]) if (!Number.isInteger(v) || v < 1) fail(`sizes must be positive integers, got I ${a.I} J ${a.J} K ${a.K} batch ${a.batch} heads ${a.heads}`)
  const last = (view: number[], x: number, y: number): number => view[0] + (a.batch - 1) * view[1] + (a.heads - 1) * view[2] + (x - 1) * view[3] + (y - 1) * view[4]
  if (last(a.aView, a.I, a.K) >= tf.util.sizeFromShape(aT.shape)) fail(`A's view reaches past its ${tf.util.sizeFromShape(aT.shape)} elements`)
  if (last(a.bView, a.K, a.J) >= tf.util.sizeFromShape(bT.shape)) fail(`B's view reaches past its ${tf.util.sizeFromShape(bT.shape)} elements`)
  const cLast = (a.batch - 1) * a.cView[0] + (a.heads - 1) * a.cView[1] + (a.I - 1) * a.cView[2] + (a.J - 1) * a.cView[3]
  const cSize = tf.util.sizeFromShape(a.outShape)
  if (cLast >= cSize || a.batch * a.heads * a.I * a.J !== cSize) fail(`the output view must cover the ${cSize} elements of [${a.outShape}] exactly once`)
}

/**
 * The product of `MixtureStridedMatMul` (also used directly for plain products: kernels/matmul.ts
 * `longKProduct`, `stridedProduct`), with `epilogue` applied to each value (k then unsplit).
 */
export function stridedMatMul(b: WebgpuBackendInternals & tf.KernelBackend, aT: tf.TensorInfo, bT: tf.TensorInfo, a: StridedMatMulAttrs, epilogue?: StridedEpilogue): tf.TensorInfo {
  check(a, aT, bT)
  if (epilogue?.bias && (epilogue.bias.dtype !== 'float32' || tf.util.sizeFromShape(epilogue.bias.shape) !== a.J)) {
    throw new Error(`${STRIDED_MATMUL_KERNEL}: a bias of ${a.J} float32 values, one per output column, not ${epilogue.bias.dtype} [${epilogue.bias.shape}]`)
  }
  const z = a.batch * a.heads
  const splits = epilogue ? 1 : kSplits(a.I, a.J, a.K, z)
  const chunk = Math.ceil(a.K / splits / TK) * TK
  const aKFast = a.aView[4] === 1 || a.aView[3] !== 1
  const bKFast = a.bView[3] === 1 && a.bView[4] !== 1
  const vec = (xs: number[]): {type: 'int32'; data: number[]} => ({type: 'int32', data: [...xs, 0, 0, 0, 0].slice(0, 4)})
  const total = z * a.I * a.J
  const direct = splits === 1
  const tile = tileFor(a.I, a.J)
  const rounding = productRounding(direct ? 'whole' : 'slices')
  const [out] = runKernel(b, {
    name: direct ? STRIDED_MATMUL_KERNEL : `${STRIDED_MATMUL_KERNEL}Partial`,
    key: `strided-matmul-${aKFast ? 'k' : 'm'}${bKFast ? 'k' : 'n'}-${tile}${epilogue?.bias ? '-bias' : ''}${epilogue?.relu ? '-relu' : ''}${rounding.key}`,
    wgsl: () => matmulWgsl(aKFast, bKFast, tile, rounding, epilogue),
    workgroups: [Math.ceil(a.J / tile), Math.ceil(a.I / tile), z * splits],
    inputs: epilogue?.bias ? [aT, bT, epilogue.bias] : [aT, bT],
    outputs: [{shape: direct ? a.outShape : [splits, total]}],
    uniforms: [
      vec([a.I, a.J, a.K, a.heads]),
      vec([splits, chunk, z]),
      {type: 'float32', data: [a.alpha, 0, 0, 0]},
      vec([a.aView[0], a.aView[1], a.aView[2]]),
      vec([a.aView[3], a.aView[4]]),
      vec([a.bView[0], a.bView[1], a.bView[2]]),
      vec([a.bView[3], a.bView[4]]),
      // split partials are laid out (split, batch, head, i, j), contiguous
      direct ? vec([0, a.cView[0], a.cView[1], 0]) : vec([0, a.heads * a.I * a.J, a.I * a.J, total]),
      direct ? vec([a.cView[2], a.cView[3]]) : vec([a.J, 1]),
    ],
  })
  if (direct) return out
  return sumSplits(b, out, {name: `${STRIDED_MATMUL_KERNEL}Sum`, splits, I: a.I, J: a.J, heads: a.heads, cView: a.cView, outShape: a.outShape, rounding: productRounding('sum')})
}

export const stridedMatMulConfig: tf.KernelConfig = {
  kernelName: STRIDED_MATMUL_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const {a, b} = inputs as Record<string, tf.TensorInfo>
    return stridedMatMul(backend as unknown as WebgpuBackendInternals & tf.KernelBackend, a, b, attrs as unknown as StridedMatMulAttrs)
  },
}

/** Registers this kernel alone, whether or not MIXTURE_WEBGPU_ATTENTION=0 kept it from the attention layers (tests). */
export function installStridedMatMul(): void {
  if (!tf.getKernel(STRIDED_MATMUL_KERNEL, 'webgpu')) tf.registerKernel(stridedMatMulConfig)
}

/** The same product on the CPU, from flat arrays (the reference the tests compare against). */
export function stridedMatMulReference(A: ArrayLike<number>, B: ArrayLike<number>, a: StridedMatMulAttrs): Float32Array {
  const C = new Float32Array(tf.util.sizeFromShape(a.outShape))
  for (let bi = 0; bi < a.batch; bi++) {
    for (let h = 0; h < a.heads; h++) {
      for (let i = 0; i < a.I; i++) {
        for (let j = 0; j < a.J; j++) {
          let sum = 0
          for (let k = 0; k < a.K; k++) {
            sum +=
              A[a.aView[0] + bi * a.aView[1] + h * a.aView[2] + i * a.aView[3] + k * a.aView[4]] *
              B[a.bView[0] + bi * a.bView[1] + h * a.bView[2] + k * a.bView[3] + j * a.bView[4]]
          }
          C[bi * a.cView[0] + h * a.cView[1] + i * a.cView[2] + j * a.cView[3]] = a.alpha * sum
        }
      }
    }
  }
  return C
}
