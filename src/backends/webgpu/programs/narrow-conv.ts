/**
 * An NHWC convolution with a narrow side, as one thread per output pixel holding a group of up to 8
 * of its output channels: the CNN stack's 128→3 layer and its 1×1 shortcut (at most 8 output
 * channels: on a product kernel the output is a (pixels × ≤ 8) matrix, so tfjs's 32-wide and
 * gemm.ts's 64-wide tiles leave most of their columns idle), and the 3-channel image's convolutions
 * (input channels not a multiple of 4, which gemm.ts's vec4 rows cannot read) — any number of output
 * channels there, in groups over the grid's second dimension. Each thread walks its patch tap by tap
 * against that tap's filter slice for its group, staged in workgroup memory (Cin × group values),
 * reading four input channels at a time where Cin is a multiple of 4 and one otherwise, and adds the
 * bias and ReLU of a fused convolution at the end (in mixed16 operands are rounded to float16 as
 * they are loaded, results as they are written: ../precision.ts). No dilation of the filter.
 *
 * `inputDilation`: the input read as if (d − 1) zeros stood between its rows (columns) — a strided
 * convolution's input gradient is the stride-1 convolution of dy so dilated with the flipped filter
 * (../kernels/conv-backprop-input.ts); the zeros are skipped, never stored.
 *
 * An alternative route of kernel tuning (../tune.ts, 'narrow'; ../kernels/conv.ts), and in mixed16
 * the route of the convolutions the product kernel cannot take (rounding inside, instead of tfjs's
 * program between rounding passes).
 */
import {tf} from '../../../engine/tf.js'
import {productRounding, type ProductRounding} from '../precision.js'
import {runKernel, type WebgpuBackendInternals} from '../runner.js'
import {CONV_GEOMETRY_WGSL, convGeometryUniforms, digitsWgsl, isDilated} from './conv-geometry.js'

/** Most output channels a thread holds (and conv-backprop-filter.ts's narrow filter gradient computes). */
export const NARROW_MAX = 8
const WORKGROUP = 256
/** Largest tap slice (Cin × group floats) staged in workgroup memory: 16 KiB, the WebGPU default limit. */
const MAX_SLICE = 4096

type Backend = WebgpuBackendInternals & tf.KernelBackend

/** What one compiled form of the kernel computes. */
interface NarrowForm {
  /** Output channels a thread holds: a divisor of Cout, at most NARROW_MAX. */
  group: number
  /** Input channels read at a time: 4 (vec4 rows) or 1. */
  width: 4 | 1
  bias: boolean
  relu: boolean
  inputDilation: [number, number]
}

function narrowConvWgsl({group: G, width, bias, relu, inputDilation}: NarrowForm, rounding: ProductRounding): string {
  const [dh, dw] = inputDilation
  const each = (f: (n: number) => string): string => Array.from({length: G}, (_, n) => f(n)).join('\n')
  const dilated = isDilated(inputDilation)
  const value = width === 4 ? 'vec4<f32>' : 'f32'
  return /* wgsl */ `
struct Params {
  P : u32,
  filterH : u32,
  N : u32,
${CONV_GEOMETRY_WGSL}
};
@group(0) @binding(0) var<storage, read_write> y : array<f32>;
@group(0) @binding(1) var<storage, read> x : array<${value}>;
@group(0) @binding(2) var<storage, read> w : array<f32>;
${bias ? '@group(0) @binding(3) var<storage, read> b : array<f32>;\n@group(0) @binding(4) var<uniform> u : Params;' : '@group(0) @binding(3) var<uniform> u : Params;'}
${rounding.wgsl}

// One tap's filter slice for the group, [ci / ${width}][n]${width === 4 ? ' as vec4 over four input channels' : ''}.
var<workgroup> ws : array<${value}, ${MAX_SLICE / width}>;

@compute @workgroup_size(${WORKGROUP}, 1, 1)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) li : u32) {
  let p = wg.x * ${WORKGROUP}u + li;
  let n0 = wg.y * ${G}u;
  ${digitsWgsl('let', ['ow', 'oh', 'bi'], 'p', 'u.outW', 'u.outH')}
  let ih0 = i32(oh) * u.strideH - u.padT;
  let iw0 = i32(ow) * u.strideW - u.padL;
  // The input's stored extents${dilated ? ` (u.inH and u.inW are the dilated ones)` : ''}.
  let rows = ${dilated ? `(u.inH - 1u) / ${dh}u + 1u` : 'u.inH'};
  let cols = ${dilated ? `(u.inW - 1u) / ${dw}u + 1u` : 'u.inW'};
  let cq = u.inC / ${width}u;
${each((n) => `  var acc${n} = 0.0;`)}
  for (var fh = 0u; fh < u.filterH; fh = fh + 1u) {
    for (var fw = 0u; fw < u.filterW; fw = fw + 1u) {
      // Stage the group's slice of the tap, w[fh, fw, ci, n0 + n], as ws[(ci / ${width}) · ${G} + n]${width === 4 ? '[ci % 4]' : ''}.
      let tap = (fh * u.filterW + fw) * u.inC * u.N + n0;
      for (var e = li; e < u.inC * ${G}u; e = e + ${WORKGROUP}u) {
        let ci = e / ${G}u;
        let n = e % ${G}u;
        ws[${width === 4 ? `(ci / 4u) * ${G}u + n][ci % 4u]` : `e]`} = roundOperand(w[tap + ci * u.N + n]);
      }
      workgroupBarrier();
      let ih = ih0 + i32(fh);
      let iw = iw0 + i32(fw);
      if (p < u.P && ih >= 0 && ih < i32(u.inH) && iw >= 0 && iw < i32(u.inW)${dilated ? ` && ih % ${dh} == 0 && iw % ${dw} == 0` : ''}) {
        let base = ((bi * rows + u32(ih)${dh > 1 ? ` / ${dh}u` : ''}) * cols + u32(iw)${dw > 1 ? ` / ${dw}u` : ''}) * cq;
        for (var q = 0u; q < cq; q = q + 1u) {
          let xv = ${width === 4 ? 'roundOperand4' : 'roundOperand'}(x[base + q]);
${each((n) => (width === 4 ? `          acc${n} = acc${n} + dot(xv, ws[q * ${G}u + ${n}u]);` : `          acc${n} = acc${n} + xv * ws[q * ${G}u + ${n}u];`))}
        }
      }
      workgroupBarrier();
    }
  }
  if (p < u.P) {
${each((n) => `    var v${n} = acc${n}${bias ? ` + b[n0 + ${n}u]` : ''};${relu ? `\n    v${n} = max(v${n}, 0.0);` : ''}\n    y[p * u.N + n0 + ${n}u] = roundResult(v${n});`)}
  }
}
`
}

export interface NarrowConvArgs {
  x: tf.TensorInfo
  filter: tf.TensorInfo
  bias?: tf.TensorInfo
  relu: boolean
  /** The convolution's geometry (of the dilated input where `inputDilation` is given). */
  info: tf.backend_util.Conv2DInfo
  inputDilation?: [number, number]
}

/**
 * The output channels a thread holds for a convolution of this geometry (the largest divisor of Cout
 * up to NARROW_MAX), or undefined where the kernel does not take it: a convolution with a narrow side
 * — at most NARROW_MAX output channels, or input or output channels not a multiple of 4 (where the
 * product kernel cannot read or write vec4 rows) — undilated, its group's tap slice within MAX_SLICE.
 */
export function narrowGroup(info: tf.backend_util.Conv2DInfo): number | undefined {
  const N = info.outChannels
  const C = info.inChannels
  if ((N > NARROW_MAX && C % 4 === 0 && N % 4 === 0) || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined
  let group = Math.min(N, NARROW_MAX)
  while (N % group !== 0) group--
  return C * group <= MAX_SLICE ? group : undefined
}

/** The convolution on this kernel (float32), or undefined for one it does not take (`narrowGroup`). */
export function narrowConv(backend: Backend, {x, filter, bias, relu, info, inputDilation = [1, 1]}: NarrowConvArgs): tf.TensorInfo | undefined {
  const N = info.outChannels
  const C = info.inChannels
  const group = narrowGroup(info)
  if (group === undefined || x.dtype !== 'float32' || filter.dtype !== 'float32') return undefined
  if (bias && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== N)) return undefined
  const P = info.batchSize * info.outHeight * info.outWidth
  const pixelGroups = Math.ceil(P / WORKGROUP)
  if (pixelGroups > backend.device.limits.maxComputeWorkgroupsPerDimension) return undefined
  const form: NarrowForm = {group, width: C % 4 === 0 ? 4 : 1, bias: Boolean(bias), relu, inputDilation}
  const rounding = productRounding()
  const [y] = runKernel(backend, {
    name: isDilated(inputDilation) ? 'MixtureConv2DNarrowTransposed' : 'MixtureConv2DNarrow',
    key: `conv-narrow-${group}-${form.width}-${inputDilation.join('x')}-${bias ? 'b' : ''}${relu ? 'r' : ''}${rounding.key}`,
    wgsl: () => narrowConvWgsl(form, rounding),
    workgroups: [pixelGroups, N / group],
    inputs: bias ? [x, filter, bias] : [x, filter],
    outputs: [{shape: info.outShape}],
    uniforms: [{type: 'uint32', data: [P]}, {type: 'uint32', data: [info.filterHeight]}, {type: 'uint32', data: [N]}, ...convGeometryUniforms(info)],
  })
  return y
}
