/**
 * Training-mode BatchNorm over the last axis in 2 dispatches forward and 2 backward, with the
 * project's BatchNorm semantics (ops/batchnorm.ts, PyTorch's): the batch's biased variance
 * normalises, the running variance takes the unbiased one, running = running·(1 − m) + batch·m.
 *
 *   forward  `MixtureBatchNormTrain`: per-chunk shifted sums (1 dispatch, at most 128 chunks), then
 *            one dispatch in which every workgroup adds its channels' chunk sums itself (the same
 *            values, in the same order, in every workgroup), normalises its block of rows, and the
 *            first block writes the mean, the biased variance and both updated running statistics.
 *   backward `MixtureBatchNormGrad`: per-chunk Σdy and Σdy·x̂ (1 dispatch), then dx the same way,
 *            the first block writing dγ and dβ.
 * A device that binds fewer than 11 storage buffers per shader stage (or MIXTURE_WEBGPU_BN_TWO_PASS=0)
 * gets the 3 + 3 route instead:
 * chunk sums, a pass that adds them (`MixtureBatchNormStats` / `…GradSums`), then tfjs's
 * `FusedBatchNorm` / the dx pass. The composite (moments, rsqrt, sub, mul, add, then the
 * closed-form gradient and the running updates) records about 30 dispatches per layer per step.
 * Sums are taken around the channel's first value (a shift) so that E[x²] − E[x]² does not cancel.
 *
 * Layers reach it through the BatchNorm op (ops/batchnorm.ts `batchNormTraining`).
 */
import {tf} from '../../../engine/tf.js'
import {BN_GRAD_KERNEL, BN_STATS_KERNEL, BN_TRAIN_KERNEL} from '../../../ops/batchnorm.js'
import {
  channelPartials,
  CHANNELS_PER_GROUP,
  chunking,
  chunkSums,
  chunkSumsHead,
  dispose,
  gradSums,
  ROW_LANES,
  SUM_CHANNELS,
  SUM_CHUNKS,
  SUM_CHUNKS_HEAD,
} from '../programs/channel-partials.js'
import {bindingsWgsl, flatIndexWgsl, flatWorkgroups, ownsData, runKernel, webgpuKernelFunc, type WebgpuBackendInternals} from '../runner.js'
import {webgpuSwitch} from '../switches.js'

const ELEMENTWISE = 256

/** WGSL: the channel's mean m and biased variance v from its shifted sums a = Σ(x − k), b = Σ(x − k)², k = x[c]. */
const MEAN_VARIANCE = /* wgsl */ `let n = f32(u.R);
  let d = a / n;
  let m = x[c] + d;
  let v = max(b / n - d * d, 0.0);`

/**
 * WGSL: the batch statistics and the updated running ones of channel c, written to new tensors or,
 * `inPlace`, over the running statistics themselves (one thread per channel reads and writes them).
 */
function writeStatistics(inPlace: boolean): string {
  const [outMean, outVariance] = inPlace ? ['movingMean', 'movingVariance'] : ['newMovingMean', 'newMovingVariance']
  return /* wgsl */ `mean[c] = m;
  variance[c] = v;
  ${outMean}[c] = movingMean[c] * (1.0 - u.momentum) + m * u.momentum;
  ${outVariance}[c] = movingVariance[c] * (1.0 - u.momentum) + v * u.unbiasedScale * u.momentum;`
}

/** Output names of the passes that write the running statistics: the new ones last unless in place. */
function statisticsOutputs(inPlace: boolean): string[] {
  return inPlace ? ['mean', 'variance'] : ['mean', 'variance', 'newMovingMean', 'newMovingVariance']
}

/** The inputs those passes write: the running statistics when they are updated in place. */
function runningWritten(inPlace: boolean): string[] {
  return inPlace ? ['movingMean', 'movingVariance'] : []
}

/** WGSL: BatchNorm's dx at element i of channel c, given dβ and dγ of the channel. */
function dxWgsl(i: string, dBeta: string, dGamma: string, invStd: string): string {
  return `gamma[c] * ${invStd} * (dy[${i}] - u.invR * (${dBeta} + xHat * ${dGamma}))`
}

function statsWgsl(inPlace: boolean): string {
  return /* wgsl */ `
struct Params {
  R : u32,
  C : u32,
  chunks : u32,
  momentum : f32,
  unbiasedScale : f32,
};
${bindingsWgsl(statisticsOutputs(inPlace), ['partial', 'x', 'movingMean', 'movingVariance'], runningWritten(inPlace))}

${SUM_CHUNKS_HEAD}
  ${SUM_CHUNKS}
  ${MEAN_VARIANCE}
  ${writeStatistics(inPlace)}
}
`
}

function gradInputWgsl(): string {
  return /* wgsl */ `
struct Params {
  size : u32,
  C : u32,
  invR : f32,
  eps : f32,
};
${bindingsWgsl(['dx'], ['dy', 'x', 'mean', 'variance', 'gamma', 'dGamma', 'dBeta'])}

@compute @workgroup_size(${ELEMENTWISE})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  ${flatIndexWgsl(ELEMENTWISE)}
  if (index >= u.size) { return; }
  let c = index % u.C;
  let invStd = inverseSqrt(variance[c] + u.eps);
  let xHat = (x[index] - mean[c]) * invStd;
  dx[index] = ${dxWgsl('index', 'dBeta[c]', 'dGamma[c]', 'invStd')};
}
`
}

/** Most chunks the 2-pass route sums in every workgroup of its second pass. */
const APPLY_CHUNKS = 128

/** Storage buffers the 2-pass forward binds (5 outputs, 6 inputs); the backward binds 9. */
const APPLY_FORWARD_BUFFERS = 11
const APPLY_BACKWARD_BUFFERS = 9

/** Rows per block of the second pass: about 1,024 workgroups, at least 16 rows each. */
function rowBlocks(R: number, C: number): {rowsPerBlock: number; blocks: number} {
  const targetBlocks = Math.max(1, Math.floor(1024 / Math.ceil(C / CHANNELS_PER_GROUP)))
  const rowsPerBlock = Math.max(16, Math.ceil(R / targetBlocks))
  return {rowsPerBlock, blocks: Math.ceil(R / rowsPerBlock)}
}

/**
 * WGSL of the 2-pass route's second pass: the chunk sums of its 64 channels taken by the workgroup's
 * 4 row lanes (the same values, in the same order, in every workgroup), then this block's rows.
 */
const APPLY_HEAD = chunkSumsHead(CHANNELS_PER_GROUP, ROW_LANES)
const APPLY_SUMS = `${chunkSums(CHANNELS_PER_GROUP, ROW_LANES, true)}
  let r0 = wg.y * u.rowsPerBlock;
  let r1 = min(r0 + u.rowsPerBlock, u.R);
  let first = wg.y == 0u && lid.y == 0u;`

function applyForwardWgsl(inPlace: boolean): string {
  return /* wgsl */ `
struct Params {
  R : u32,
  C : u32,
  chunks : u32,
  rowsPerBlock : u32,
  momentum : f32,
  unbiasedScale : f32,
  eps : f32,
};
${bindingsWgsl(['y', ...statisticsOutputs(inPlace)], ['x', 'partial', 'gamma', 'beta', 'movingMean', 'movingVariance'], runningWritten(inPlace))}
${APPLY_HEAD}
  ${APPLY_SUMS}
  ${MEAN_VARIANCE}
  let scale = inverseSqrt(v + u.eps) * gamma[c];
  let offset = beta[c];
  for (var r = r0 + lid.y; r < r1; r = r + ${ROW_LANES}u) {
    let i = r * u.C + c;
    y[i] = (x[i] - m) * scale + offset;
  }
  if (first) {
    ${writeStatistics(inPlace)}
  }
}
`
}

function applyBackwardWgsl(): string {
  return /* wgsl */ `
struct Params {
  R : u32,
  C : u32,
  chunks : u32,
  rowsPerBlock : u32,
  invR : f32,
  eps : f32,
};
${bindingsWgsl(['dx', 'dGamma', 'dBeta'], ['dy', 'x', 'mean', 'variance', 'gamma', 'partial'])}
${APPLY_HEAD}
  ${APPLY_SUMS}
  let mu = mean[c];
  let invStd = inverseSqrt(variance[c] + u.eps);
  for (var r = r0 + lid.y; r < r1; r = r + ${ROW_LANES}u) {
    let i = r * u.C + c;
    let xHat = (x[i] - mu) * invStd;
    dx[i] = ${dxWgsl('i', 'a', 'b', 'invStd')};
  }
  if (first) {
    dBeta[c] = a;
    dGamma[c] = b;
  }
}
`
}

/** Whether to take the 2-pass route: the device binds its storage buffers, and MIXTURE_WEBGPU_BN_TWO_PASS is not 0. */
function twoPass(b: WebgpuBackendInternals, buffers: number): boolean {
  return webgpuSwitch('bnTwoPass') && b.device.limits.maxStorageBuffersPerShaderStage >= buffers
}

/** Chunking of the 2-pass route's first pass: the default, with at most APPLY_CHUNKS chunks. */
function applyChunkRows(R: number, C: number): number {
  const {rowsPerChunk, chunks} = chunking(R, C)
  return chunks <= APPLY_CHUNKS ? rowsPerChunk : Math.ceil(R / APPLY_CHUNKS)
}

function rowsAndChannels(shape: number[]): {R: number; C: number} {
  const C = shape[shape.length - 1]
  return {R: tf.util.sizeFromShape(shape) / C, C}
}

/**
 * Whether this call updates the running statistics in place: asked for (attr `inPlace`) and no other
 * tensor shares their data. A value read back earlier is cached on the CPU; it is dropped here.
 */
function runningInPlace(b: WebgpuBackendInternals, asked: boolean | undefined, movingMean: tf.TensorInfo, movingVariance: tf.TensorInfo): boolean {
  if (!asked || movingMean.dataId === movingVariance.dataId || !ownsData(b, movingMean) || !ownsData(b, movingVariance)) return false
  for (const t of [movingMean, movingVariance]) {
    // Values not yet on the GPU (just set from the CPU) go up first; only then is the CPU copy stale.
    b.uploadToGPU(t.dataId)
    b.tensorMap.get(t.dataId)!.values = null
  }
  return true
}

export const batchNormStatsConfig: tf.KernelConfig = {
  kernelName: BN_STATS_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as WebgpuBackendInternals
    const {x, movingMean, movingVariance} = inputs as Record<string, tf.TensorInfo>
    const {momentum, unbiased, inPlace: asked} = attrs as unknown as {momentum: number; unbiased: boolean; inPlace?: boolean}
    const {R, C} = rowsAndChannels(x.shape)
    const inPlace = runningInPlace(b, asked, movingMean, movingVariance)
    const {partial, chunks} = channelPartials(b, 'MixtureBatchNormPartials', 'stats', [x], R, C)
    const outputs = runKernel(b, {
      name: BN_STATS_KERNEL,
      key: `bn-stats${inPlace ? '-in-place' : ''}`,
      wgsl: () => statsWgsl(inPlace),
      workgroups: [Math.ceil(C / SUM_CHANNELS)],
      inputs: [partial, x, movingMean, movingVariance],
      outputs: statisticsOutputs(inPlace).map(() => ({shape: [C]})),
      uniforms: [
        {type: 'uint32', data: [R]},
        {type: 'uint32', data: [C]},
        {type: 'uint32', data: [chunks]},
        {type: 'float32', data: [momentum]},
        {type: 'float32', data: [unbiased && R > 1 ? R / (R - 1) : 1]},
      ],
    })
    dispose(b, partial)
    return outputs
  },
}

export const batchNormTrainConfig: tf.KernelConfig = {
  kernelName: BN_TRAIN_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as WebgpuBackendInternals
    const {x, gamma, beta, movingMean, movingVariance} = inputs as Record<string, tf.TensorInfo>
    const {momentum, unbiased, epsilon, inPlace: asked} = attrs as unknown as {momentum: number; unbiased: boolean; epsilon: number; inPlace?: boolean}
    const {R, C} = rowsAndChannels(x.shape)
    const unbiasedScale = unbiased && R > 1 ? R / (R - 1) : 1
    if (!twoPass(b, APPLY_FORWARD_BUFFERS)) {
      const stats = webgpuKernelFunc(BN_STATS_KERNEL)({inputs: {x, movingMean, movingVariance}, backend, attrs: {momentum, unbiased, inPlace: asked === true}}) as tf.TensorInfo[]
      const [mean, variance] = stats
      const y = webgpuKernelFunc('FusedBatchNorm')({inputs: {x, mean, variance, offset: beta, scale: gamma}, backend, attrs: {varianceEpsilon: epsilon}}) as tf.TensorInfo
      return [y, ...stats]
    }
    const inPlace = runningInPlace(b, asked, movingMean, movingVariance)
    const {partial, chunks} = channelPartials(b, 'MixtureBatchNormPartials', 'stats', [x], R, C, 0, applyChunkRows(R, C))
    const {rowsPerBlock, blocks} = rowBlocks(R, C)
    const outputs = runKernel(b, {
      name: BN_TRAIN_KERNEL,
      key: `bn-train-apply${inPlace ? '-in-place' : ''}`,
      wgsl: () => applyForwardWgsl(inPlace),
      workgroups: [Math.ceil(C / CHANNELS_PER_GROUP), blocks],
      inputs: [x, partial, gamma, beta, movingMean, movingVariance],
      outputs: [{shape: x.shape}, ...statisticsOutputs(inPlace).map(() => ({shape: [C]}))],
      uniforms: [
        {type: 'uint32', data: [R]},
        {type: 'uint32', data: [C]},
        {type: 'uint32', data: [chunks]},
        {type: 'uint32', data: [rowsPerBlock]},
        {type: 'float32', data: [momentum]},
        {type: 'float32', data: [unbiasedScale]},
        {type: 'float32', data: [epsilon]},
      ],
    })
    dispose(b, partial)
    return outputs
  },
}

export const batchNormGradConfig: tf.KernelConfig = {
  kernelName: BN_GRAD_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as WebgpuBackendInternals
    const {dy, x, mean, variance, gamma} = inputs as Record<string, tf.TensorInfo>
    const {epsilon} = attrs as unknown as {epsilon: number}
    const {R, C} = rowsAndChannels(x.shape)
    if (twoPass(b, APPLY_BACKWARD_BUFFERS)) {
      const {partial, chunks} = channelPartials(b, 'MixtureBatchNormGradPartials', 'grad', [dy, x, mean, variance], R, C, epsilon, applyChunkRows(R, C))
      const {rowsPerBlock, blocks} = rowBlocks(R, C)
      const outputs = runKernel(b, {
        name: BN_GRAD_KERNEL,
        key: 'bn-grad-apply',
        wgsl: applyBackwardWgsl,
        workgroups: [Math.ceil(C / CHANNELS_PER_GROUP), blocks],
        inputs: [dy, x, mean, variance, gamma, partial],
        outputs: [{shape: x.shape}, {shape: [C]}, {shape: [C]}],
        uniforms: [
          {type: 'uint32', data: [R]},
          {type: 'uint32', data: [C]},
          {type: 'uint32', data: [chunks]},
          {type: 'uint32', data: [rowsPerBlock]},
          {type: 'float32', data: [1 / R]},
          {type: 'float32', data: [epsilon]},
        ],
      })
      dispose(b, partial)
      return outputs
    }
    const {partial, chunks} = channelPartials(b, 'MixtureBatchNormGradPartials', 'grad', [dy, x, mean, variance], R, C, epsilon)
    const [dGamma, dBeta] = gradSums(b, 'MixtureBatchNormGradSums', partial, C, chunks)
    const n = R * C
    const [dx] = runKernel(b, {
      name: BN_GRAD_KERNEL,
      key: 'bn-grad-input',
      wgsl: gradInputWgsl,
      workgroups: flatWorkgroups(b, n, ELEMENTWISE),
      inputs: [dy, x, mean, variance, gamma, dGamma, dBeta],
      outputs: [{shape: x.shape}],
      uniforms: [
        {type: 'uint32', data: [n]},
        {type: 'uint32', data: [C]},
        {type: 'float32', data: [1 / R]},
        {type: 'float32', data: [epsilon]},
      ],
    })
    return [dx, dGamma, dBeta]
  },
}

export const batchNormConfigs = [batchNormStatsConfig, batchNormTrainConfig, batchNormGradConfig]
