/**
 * Column passes over a (rows, channels) tensor, shared by the BatchNorm, LayerNorm and column-sum
 * kernels: per-channel partial sums over chunks of rows (`channelPartials`: BatchNorm's statistics
 * and parameter gradients, LayerNorm's parameter gradients, plain column sums), and a pass that
 * adds a channel's chunk sums (`gradSums`; its WGSL pieces also serve BatchNorm's own passes).
 */
import {tf} from '../../../engine/tf.js'
import {bindingsWgsl, runKernel, type WebgpuBackendInternals} from '../runner.js'

/** Channels (columns) per workgroup of a partial pass, and lanes of rows per channel. */
export const CHANNELS_PER_GROUP = 64
export const ROW_LANES = 4

/** Rows per chunk for the partial sums: enough workgroups to fill a large GPU, at least 16 rows each. */
export function chunking(rows: number, channels: number): {rowsPerChunk: number; chunks: number} {
  const channelGroups = Math.ceil(channels / CHANNELS_PER_GROUP)
  const targetChunks = Math.max(1, Math.floor(2048 / channelGroups))
  const rowsPerChunk = Math.max(16, Math.ceil(rows / targetChunks))
  return {rowsPerChunk, chunks: Math.ceil(rows / rowsPerChunk)}
}

/** What a column pass sums (see `partialsWgsl`). */
export type PartialsMode = 'stats' | 'grad' | 'rowgrad' | 'sum'

/**
 * Partial sums over a chunk of rows for 64 channels (columns): mode `stats` Σ(x−k), Σ(x−k)²; mode
 * `grad` Σdy, Σdy·x̂ with per-column statistics (BatchNorm); mode `rowgrad` the same with per-row
 * mean and 1/σ (LayerNorm's dγ, dβ); mode `sum` Σx alone (../kernels/sum.ts), written as [chunks, C].
 */
function partialsWgsl(mode: PartialsMode): string {
  const inputs = mode === 'stats' || mode === 'sum' ? ['x'] : ['dy', 'x', 'mean', 'variance']
  const body =
    mode === 'sum'
      ? `for (var r = r0 + lid.y; r < r1; r = r + ${ROW_LANES}u) { a = a + x[r * u.C + c]; }`
      : mode === 'rowgrad'
      ? `for (var r = r0 + lid.y; r < r1; r = r + ${ROW_LANES}u) {
      let i = r * u.C + c;
      let g = dy[i];
      a = a + g;
      b = b + g * (x[i] - mean[r]) * variance[r];
    }`
      : mode === 'stats'
      ? `let k = x[c];
    for (var r = r0 + lid.y; r < r1; r = r + ${ROW_LANES}u) {
      let d = x[r * u.C + c] - k;
      a = a + d;
      b = b + d * d;
    }`
      : `let mu = mean[c];
    let invStd = inverseSqrt(variance[c] + u.eps);
    for (var r = r0 + lid.y; r < r1; r = r + ${ROW_LANES}u) {
      let i = r * u.C + c;
      let g = dy[i];
      a = a + g;
      b = b + g * (x[i] - mu) * invStd;
    }`
  return /* wgsl */ `
struct Params {
  R : u32,
  C : u32,
  rowsPerChunk : u32,
  chunks : u32,
  eps : f32,
};
${bindingsWgsl(['partial'], inputs)}
var<workgroup> sa : array<f32, ${CHANNELS_PER_GROUP * ROW_LANES}>;
var<workgroup> sb : array<f32, ${CHANNELS_PER_GROUP * ROW_LANES}>;

@compute @workgroup_size(${CHANNELS_PER_GROUP}, ${ROW_LANES}, 1)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {
  let c = wg.x * ${CHANNELS_PER_GROUP}u + lid.x;
  let chunk = wg.y;
  let r0 = chunk * u.rowsPerChunk;
  let r1 = min(r0 + u.rowsPerChunk, u.R);
  var a = 0.0;
  var b = 0.0;
  if (c < u.C) {
    ${body}
  }
  let li = lid.y * ${CHANNELS_PER_GROUP}u + lid.x;
  sa[li] = a;
  sb[li] = b;
  workgroupBarrier();
  if (lid.y == 0u && c < u.C) {
    var ta = 0.0;
    var tb = 0.0;
    for (var l = 0u; l < ${ROW_LANES}u; l = l + 1u) {
      ta = ta + sa[l * ${CHANNELS_PER_GROUP}u + lid.x];
      tb = tb + sb[l * ${CHANNELS_PER_GROUP}u + lid.x];
    }
    partial[chunk * u.C + c] = ta;
    ${mode === 'sum' ? '' : 'partial[(u.chunks + chunk) * u.C + c] = tb;'}
  }
}
`
}

/**
 * WGSL head and body of a pass over the chunk sums: a, b = the two sums of channel c over every
 * chunk of `partial` ([2, chunks, C]), for the `channels` channels of this workgroup, the chunks
 * spread over `lanes` lanes per channel and the lanes added by a tree in workgroup memory. With
 * `everyLane` all lanes of a channel keep a and b (the 2-pass route's second pass, whose lanes go on
 * to the rows); otherwise only lane 0 does. Threads past the last channel return. One thread per
 * channel walking all (up to 2,048) chunks was latency-bound (the BatchNorm statistics and
 * parameter-gradient sums took 0.35 ms a layer at 96×96 on an H200).
 */
export function chunkSumsHead(channels: number, lanes: number): string {
  return /* wgsl */ `var<workgroup> ra : array<f32, ${channels * lanes}>;
var<workgroup> rb : array<f32, ${channels * lanes}>;

@compute @workgroup_size(${channels}, ${lanes}, 1)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {`
}

export function chunkSums(channels: number, lanes: number, everyLane: boolean): string {
  return /* wgsl */ `let c = wg.x * ${channels}u + lid.x;
  var a = 0.0;
  var b = 0.0;
  if (c < u.C) {
    for (var k = lid.y; k < u.chunks; k = k + ${lanes}u) {
      a = a + partial[k * u.C + c];
      b = b + partial[(u.chunks + k) * u.C + c];
    }
  }
  let li = lid.y * ${channels}u + lid.x;
  ra[li] = a;
  rb[li] = b;
  workgroupBarrier();
  for (var s = ${lanes / 2}u; s > 0u; s = s >> 1u) {
    if (lid.y < s) {
      ra[li] = ra[li] + ra[li + s * ${channels}u];
      rb[li] = rb[li] + rb[li + s * ${channels}u];
    }
    workgroupBarrier();
  }
  if (${everyLane ? '' : 'lid.y != 0u || '}c >= u.C) { return; }
  a = ra[lid.x];
  b = rb[lid.x];`
}

/** The 3-pass route's passes over the chunks: 8 channels × 32 lanes a workgroup. */
export const SUM_CHANNELS = 8
const SUM_LANES = 32
export const SUM_CHUNKS_HEAD = chunkSumsHead(SUM_CHANNELS, SUM_LANES)
export const SUM_CHUNKS = chunkSums(SUM_CHANNELS, SUM_LANES, false)

function gradSumsWgsl(): string {
  return /* wgsl */ `
struct Params {
  C : u32,
  chunks : u32,
};
${bindingsWgsl(['dGamma', 'dBeta'], ['partial'])}

${SUM_CHUNKS_HEAD}
  ${SUM_CHUNKS}
  dBeta[c] = a;
  dGamma[c] = b;
}
`
}

export function dispose(backend: WebgpuBackendInternals, t: tf.TensorInfo): void {
  ;(backend as unknown as tf.KernelBackend).disposeData(t.dataId)
}

/**
 * The first pass of BatchNorm statistics, of the BatchNorm/LayerNorm parameter gradients and of
 * column sums: per-channel sums over chunks of rows, [2, chunks, C] ([chunks, C] for `sum`;
 * `partialsWgsl(mode)` says which sums). `rowsPerChunk` overrides the default chunking.
 */
export function channelPartials(
  b: WebgpuBackendInternals,
  name: string,
  mode: PartialsMode,
  inputs: tf.TensorInfo[],
  R: number,
  C: number,
  eps = 0,
  rowsPerChunkOverride?: number,
): {partial: tf.TensorInfo; chunks: number} {
  const {rowsPerChunk, chunks} = rowsPerChunkOverride ? {rowsPerChunk: rowsPerChunkOverride, chunks: Math.ceil(R / rowsPerChunkOverride)} : chunking(R, C)
  const [partial] = runKernel(b, {
    name,
    key: `bn-partials-${mode}`,
    wgsl: () => partialsWgsl(mode),
    workgroups: [Math.ceil(C / CHANNELS_PER_GROUP), chunks],
    inputs,
    outputs: [{shape: mode === 'sum' ? [chunks, C] : [2, chunks, C]}],
    uniforms: [
      {type: 'uint32', data: [R]},
      {type: 'uint32', data: [C]},
      {type: 'uint32', data: [rowsPerChunk]},
      {type: 'uint32', data: [chunks]},
      {type: 'float32', data: [eps]},
    ],
  })
  return {partial, chunks}
}

/** dγ, dβ: the grad partials summed over their chunks (disposes `partial`). */
export function gradSums(b: WebgpuBackendInternals, name: string, partial: tf.TensorInfo, C: number, chunks: number): tf.TensorInfo[] {
  const sums = runKernel(b, {
    name,
    key: 'bn-grad-sums',
    wgsl: gradSumsWgsl,
    workgroups: [Math.ceil(C / SUM_CHANNELS)],
    inputs: [partial],
    outputs: [{shape: [C]}, {shape: [C]}],
    uniforms: [
      {type: 'uint32', data: [C]},
      {type: 'uint32', data: [chunks]},
    ],
  })
  dispose(b, partial)
  return sums
}
