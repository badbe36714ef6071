/**
 * The second pass of a split-k product: partial results laid out (split, batch·head, i, j),
 * contiguous, are added over the splits and written to the output through its strides
 * (C[b·cB + h·cH + i·cI + j·cJ]). Shared by the strided products, the product kernel, the
 * convolution filter gradients and the column sums.
 */
import {tf} from '../../../engine/tf.js'
import {NO_ROUNDING, type ProductRounding} from '../precision.js'
import {bindingsWgsl, flatIndexWgsl, flatWorkgroups, runKernel, type WebgpuBackendInternals} from '../runner.js'

const SUM_WORKGROUP = 256

function splitSumWgsl(rounding: ProductRounding): string {
  return /* wgsl */ `
struct Params {
  dims : vec4<i32>,
  cOff : vec4<i32>,
  cStr : vec4<i32>,
};
${bindingsWgsl(['C'], ['P'])}
${rounding.wgsl}

@compute @workgroup_size(${SUM_WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  ${flatIndexWgsl(SUM_WORKGROUP)}
  // dims: I, J, Z·I·J, splits; cOff: heads, batchStride, headStride; cStr: iStride, jStride
  let total = u.dims.z;
  let e = i32(index);
  if (e >= total) { return; }
  var sum = 0.0;
  for (var s = 0; s < u.dims.w; s++) { sum += P[s * total + e]; }
  let ij = u.dims.x * u.dims.y;
  let z = e / ij;
  let r = e % ij;
  let i = r / u.dims.y;
  let j = r % u.dims.y;
  let bi = z / u.cOff.x;
  let h = z % u.cOff.x;
  C[bi * u.cOff.y + h * u.cOff.z + i * u.cStr.x + j * u.cStr.y] = roundResult(sum);
}
`
}

export interface SplitSum {
  /** Program name in dispatch counts and profiles. */
  name: string
  splits: number
  I: number
  J: number
  heads: number
  /** Output strides: batch, head, i, j. */
  cView: number[]
  outShape: number[]
  /** How the sums are rounded: a product's as engine.precision holds its results (`productRounding('sum')`); by default not at all. */
  rounding?: ProductRounding
}

/** Sum `partial` ([splits, batch·heads·I·J]) over its splits into a new tensor; disposes `partial`. */
export function sumSplits(backend: WebgpuBackendInternals & tf.KernelBackend, partial: tf.TensorInfo, s: SplitSum): tf.TensorInfo {
  const total = tf.util.sizeFromShape(s.outShape)
  const rounding = s.rounding ?? NO_ROUNDING
  const vec = (xs: number[]): {type: 'int32'; data: number[]} => ({type: 'int32', data: [...xs, 0, 0, 0, 0].slice(0, 4)})
  const [sum] = runKernel(backend, {
    name: s.name,
    key: `split-k-sum${rounding.key}`,
    wgsl: () => splitSumWgsl(rounding),
    workgroups: flatWorkgroups(backend, total, SUM_WORKGROUP),
    inputs: [partial],
    outputs: [{shape: s.outShape}],
    uniforms: [vec([s.I, s.J, total, s.splits]), vec([s.heads, s.cView[0], s.cView[1]]), vec([s.cView[2], s.cView[3]])],
  })
  backend.disposeData(partial.dataId)
  return sum
}
