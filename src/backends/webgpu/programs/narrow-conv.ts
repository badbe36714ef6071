/**
 * An NHWC convolution with at most 8 output channels (the CNN stack's 128→3 layer and its 1×1
 * shortcut) as one thread per output pixel holding all of its outputs. On a product kernel the
 * output is a (pixels × ≤ 8) matrix, so tfjs's 32-wide and gemm.ts's 64-wide tiles leave most of
 * their columns idle; here each thread walks its patch tap by tap, reading four input channels at a
 * time, against that tap's filter slice staged in workgroup memory (Cin × N values), and adds the
 * bias and ReLU of a fused convolution at the end (in mixed16 operands are rounded to float16 as they
 * are loaded, results as they are written: ../precision.ts). Input channels a multiple of 4, no dilation.
 * Only an alternative route of kernel tuning (../tune.ts, 'narrow'; ../kernels/conv.ts), never taken untimed.
 */
import {tf} from '../../../engine/tf.js'
import {productRounding, type ProductRounding} from '../precision.js'
import {runKernel, type WebgpuBackendInternals} from '../runner.js'
import {CONV_GEOMETRY_WGSL, convGeometryUniforms, digitsWgsl} from './conv-geometry.js'

/** Most output channels this kernel (and conv-backprop-filter.ts's narrow filter gradient) takes. */
export const NARROW_MAX = 8
const WORKGROUP = 256
/** Largest tap slice (Cin × N floats) staged in workgroup memory: 16 KiB, the WebGPU default limit. */
const MAX_SLICE = 4096

type Backend = WebgpuBackendInternals & tf.KernelBackend

function narrowConvWgsl(N: number, bias: boolean, relu: boolean, rounding: ProductRounding): string {
  const each = (f: (n: number) => string): string => Array.from({length: N}, (_, n) => f(n)).join('\n')
  return /* wgsl */ `
struct Params {
  P : u32,
  filterH : u32,
${CONV_GEOMETRY_WGSL}
};
@group(0) @binding(0) var<storage, read_write> y : array<f32>;
@group(0) @binding(1) var<storage, read> x : array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w : array<f32>;
${bias ? '@group(0) @binding(3) var<storage, read> b : array<f32>;\n@group(0) @binding(4) var<uniform> u : Params;' : '@group(0) @binding(3) var<uniform> u : Params;'}
${rounding.wgsl}

// One tap's filter slice, [ci / 4][n] as vec4 over four input channels.
var<workgroup> ws : array<vec4<f32>, ${MAX_SLICE / 4}>;

@compute @workgroup_size(${WORKGROUP}, 1, 1)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) li : u32) {
  let p = wg.x * ${WORKGROUP}u + li;
  ${digitsWgsl('let', ['ow', 'oh', 'bi'], 'p', 'u.outW', 'u.outH')}
  let ih0 = i32(oh) * u.strideH - u.padT;
  let iw0 = i32(ow) * u.strideW - u.padL;
  let c4 = u.inC / 4u;
${each((n) => `  var acc${n} = 0.0;`)}
  for (var fh = 0u; fh < u.filterH; fh = fh + 1u) {
    for (var fw = 0u; fw < u.filterW; fw = fw + 1u) {
      // Stage the tap's filter slice w[fh, fw, ci, n] as ws[(ci / 4) · N + n][ci % 4].
      let tap = (fh * u.filterW + fw) * u.inC * ${N}u;
      for (var e = li; e < u.inC * ${N}u; e = e + ${WORKGROUP}u) {
        let ci = e / ${N}u;
        let n = e % ${N}u;
        ws[(ci / 4u) * ${N}u + n][ci % 4u] = roundOperand(w[tap + e]);
      }
      workgroupBarrier();
      let ih = ih0 + i32(fh);
      let iw = iw0 + i32(fw);
      if (p < u.P && ih >= 0 && ih < i32(u.inH) && iw >= 0 && iw < i32(u.inW)) {
        let base = ((bi * u.inH + u32(ih)) * u.inW + u32(iw)) * c4;
        for (var q = 0u; q < c4; q = q + 1u) {
          let xv = roundOperand4(x[base + q]);
${each((n) => `          acc${n} = acc${n} + dot(xv, ws[q * ${N}u + ${n}u]);`)}
        }
      }
      workgroupBarrier();
    }
  }
  if (p < u.P) {
${each((n) => `    var v${n} = acc${n}${bias ? ` + b[${n}]` : ''};${relu ? `\n    v${n} = max(v${n}, 0.0);` : ''}\n    y[p * ${N}u + ${n}u] = roundResult(v${n});`)}
  }
}
`
}

export interface NarrowConvArgs {
  x: tf.TensorInfo
  filter: tf.TensorInfo
  bias?: tf.TensorInfo
  relu: boolean
  info: tf.backend_util.Conv2DInfo
}

/** The convolution on this kernel, or undefined for one it does not take. */
export function narrowConv(backend: Backend, {x, filter, bias, relu, info}: NarrowConvArgs): tf.TensorInfo | undefined {
  const N = info.outChannels
  if (N > NARROW_MAX || info.inChannels % 4 !== 0 || info.inChannels * N > MAX_SLICE) return undefined
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || x.dtype !== 'float32' || filter.dtype !== 'float32') return undefined
  if (bias && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== N)) return undefined
  const P = info.batchSize * info.outHeight * info.outWidth
  const rounding = productRounding()
  const [y] = runKernel(backend, {
    name: 'MixtureConv2DNarrow',
    key: `conv-narrow-${N}-${bias ? 'b' : ''}${relu ? 'r' : ''}${rounding.key}`,
    wgsl: () => narrowConvWgsl(N, Boolean(bias), relu, rounding),
    workgroups: [Math.ceil(P / WORKGROUP)],
    inputs: bias ? [x, filter, bias] : [x, filter],
    outputs: [{shape: info.outShape}],
    uniforms: [{type: 'uint32', data: [P]}, {type: 'uint32', data: [info.filterHeight]}, ...convGeometryUniforms(info)],
  })
  return y
}
