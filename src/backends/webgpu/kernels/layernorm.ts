/**
 * LayerNorm over the last axis in 1 dispatch forward and 2 backward (3 for rows over 1,024 wide;
 * the composite of ops/norm.ts records about 10 forward and 12 backward).
 *   forward  `MixtureLayerNorm`: one workgroup per row computes the mean, then the variance about it
 *            (two passes over the row, as tf.moments), writes y = x̂·γ + β and keeps mean and 1/σ.
 *   backward `MixtureLayerNormGrad`: dx per row, dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)) with
 *            g = dy·γ, and dγ = Σ dy·x̂, dβ = Σ dy over rows. For rows up to 1,024 wide one
 *            dispatch computes dx for a chunk of rows and the chunk's column sums (kept in
 *            workgroup memory, each thread owning its columns), and a second adds the chunks
 *            (2 dispatches); wider rows take dx (1) and the shared column passes (2).
 * Layers reach it through the LayerNorm op (ops/layernorm.ts `layerNorm`).
 */
import {tf} from '../../../engine/tf.js'
import {LN_GRAD_KERNEL, LN_KERNEL} from '../../../ops/layernorm.js'
import {channelPartials, gradSums} from '../programs/channel-partials.js'
import {bindingsWgsl, flatWorkgroups, runKernel, type WebgpuBackendInternals} from '../runner.js'

const WG = 64
/** Widest rows whose column sums fit in workgroup memory (2 × 4 KiB). */
const FUSED_MAX_D = 1024
/** Workgroups the fused backward aims for (rows per workgroup follow). */
const FUSED_GROUPS = 2048

const reduceWgsl = `
var<workgroup> red : array<f32, ${WG}>;
fn reduceSum(v : f32, lid : u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}`

function forwardWgsl(): string {
  return /* wgsl */ `
struct Params {
  rows : u32,
  D : u32,
  eps : f32,
};
${bindingsWgsl(['y', 'mean', 'rstd'], ['x', 'gamma', 'beta'])}
${reduceWgsl}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>, @builtin(local_invocation_index) lid : u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= u.rows) { return; }
  let base = row * u.D;
  let n = f32(u.D);
  var s = 0.0;
  for (var d = lid; d < u.D; d = d + ${WG}u) { s = s + x[base + d]; }
  let mu = reduceSum(s, lid) / n;
  var q = 0.0;
  for (var d = lid; d < u.D; d = d + ${WG}u) {
    let t = x[base + d] - mu;
    q = q + t * t;
  }
  let r = inverseSqrt(reduceSum(q, lid) / n + u.eps);
  for (var d = lid; d < u.D; d = d + ${WG}u) {
    y[base + d] = (x[base + d] - mu) * r * gamma[d] + beta[d];
  }
  if (lid == 0u) {
    mean[row] = mu;
    rstd[row] = r;
  }
}
`
}

/**
 * dx for a chunk of `rowsPerGroup` rows per workgroup; with `sums`, also the chunk's Σdy and Σdy·x̂
 * per column ([2, chunks, D]), kept in workgroup memory where thread lid owns columns lid, lid + 64, …
 * (so no other thread touches them).
 */
function gradWgsl(sums: boolean): string {
  return /* wgsl */ `
struct Params {
  rows : u32,
  D : u32,
  rowsPerGroup : u32,
  chunks : u32,
};
${bindingsWgsl(sums ? ['dx', 'partial'] : ['dx'], ['dy', 'x', 'mean', 'rstd', 'gamma'])}
${reduceWgsl}
${sums ? `var<workgroup> colA : array<f32, ${FUSED_MAX_D}>;
var<workgroup> colB : array<f32, ${FUSED_MAX_D}>;` : ''}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>, @builtin(local_invocation_index) lid : u32) {
  let chunk = wg.x + wg.y * nwg.x;
  if (chunk >= u.chunks) { return; }
  let n = f32(u.D);
  ${
    sums
      ? `for (var d = lid; d < u.D; d = d + ${WG}u) {
    colA[d] = 0.0;
    colB[d] = 0.0;
  }`
      : ''
  }
  let r0 = chunk * u.rowsPerGroup;
  let r1 = min(r0 + u.rowsPerGroup, u.rows);
  for (var row = r0; row < r1; row = row + 1u) {
    let base = row * u.D;
    let mu = mean[row];
    let r = rstd[row];
    var a = 0.0;
    var b = 0.0;
    for (var d = lid; d < u.D; d = d + ${WG}u) {
      let g = dy[base + d] * gamma[d];
      a = a + g;
      b = b + g * (x[base + d] - mu) * r;
    }
    let meanG = reduceSum(a, lid) / n;
    let meanGX = reduceSum(b, lid) / n;
    for (var d = lid; d < u.D; d = d + ${WG}u) {
      let e = dy[base + d];
      let xHat = (x[base + d] - mu) * r;
      dx[base + d] = r * (e * gamma[d] - meanG - xHat * meanGX);${
        sums
          ? `
      colA[d] = colA[d] + e;
      colB[d] = colB[d] + e * xHat;`
          : ''
      }
    }
  }${
    sums
      ? `
  for (var d = lid; d < u.D; d = d + ${WG}u) {
    partial[chunk * u.D + d] = colA[d];
    partial[(u.chunks + chunk) * u.D + d] = colB[d];
  }`
      : ''
  }
}
`
}

export const layerNormConfig: tf.KernelConfig = {
  kernelName: LN_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as WebgpuBackendInternals
    const {x, gamma, beta} = inputs as Record<string, tf.TensorInfo>
    const {epsilon} = attrs as unknown as {epsilon: number}
    const D = x.shape[x.shape.length - 1]
    const rows = tf.util.sizeFromShape(x.shape) / D
    return runKernel(b, {
      name: LN_KERNEL,
      key: 'ln-forward',
      wgsl: forwardWgsl,
      workgroups: flatWorkgroups(b, rows, 1),
      inputs: [x, gamma, beta],
      outputs: [{shape: x.shape}, {shape: [rows]}, {shape: [rows]}],
      uniforms: [
        {type: 'uint32', data: [rows]},
        {type: 'uint32', data: [D]},
        {type: 'float32', data: [epsilon]},
      ],
    })
  },
}

export const layerNormGradConfig: tf.KernelConfig = {
  kernelName: LN_GRAD_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend}) => {
    const b = backend as unknown as WebgpuBackendInternals
    const {dy, x, mean, rstd, gamma} = inputs as Record<string, tf.TensorInfo>
    const D = x.shape[x.shape.length - 1]
    const rows = tf.util.sizeFromShape(x.shape) / D
    const sums = D <= FUSED_MAX_D
    const rowsPerGroup = sums ? Math.max(1, Math.ceil(rows / FUSED_GROUPS)) : 1
    const chunks = Math.ceil(rows / rowsPerGroup)
    const [dx, fusedPartial] = runKernel(b, {
      name: LN_GRAD_KERNEL,
      key: sums ? 'ln-grad-fused' : 'ln-grad-input',
      wgsl: () => gradWgsl(sums),
      workgroups: flatWorkgroups(b, chunks, 1),
      inputs: [dy, x, mean, rstd, gamma],
      outputs: sums ? [{shape: x.shape}, {shape: [2, chunks, D]}] : [{shape: x.shape}],
      uniforms: [
        {type: 'uint32', data: [rows]},
        {type: 'uint32', data: [D]},
        {type: 'uint32', data: [rowsPerGroup]},
        {type: 'uint32', data: [chunks]},
      ],
    })
    const {partial, chunks: partialChunks} = sums ? {partial: fusedPartial, chunks} : channelPartials(b, 'MixtureLayerNormGradPartials', 'rowgrad', [dy, x, mean, rstd], rows, D)
    const [dGamma, dBeta] = gradSums(b, 'MixtureLayerNormGradSums', partial, D, partialChunks)
    return [dx, dGamma, dBeta]
  },
}

export const layerNormConfigs = [layerNormConfig, layerNormGradConfig]
