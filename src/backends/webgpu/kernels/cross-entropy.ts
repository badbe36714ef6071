/**
 * `MixtureSoftmaxXent` / `MixtureSoftmaxXentGrad` on WebGPU (ops/cross-entropy.ts): the
 * loss, the correct count and the softmax in one dispatch (one workgroup walks the rows and reduces
 * in shared memory; a batch is at most a few thousand rows of K classes), the gradient in one.
 * Same arithmetic as tfjs's logSoftmax (x − max − log Σ exp(x − max)); ties in the top-1 go to the
 * first index, as tfjs's argMax. Label smoothing ε > 0 takes its own variant of both programs
 * (Σ_k −log p_k = K·(max + log Σ) − Σ_k x_k per row); at ε = 0 they are the plain ones.
 */
import {tf} from '../../../engine/tf.js'
import {XENT_GRAD_KERNEL, XENT_KERNEL} from '../../../ops/cross-entropy.js'
import {flatIndexWgsl, flatWorkgroups, runKernel, type UniformField, type WebgpuBackendInternals} from '../runner.js'

const THREADS = 256

function forwardWgsl(smoothed: boolean): string {
  // A row's loss: −log p_label, or (1 − ε)·(−log p_label) + ε·mean_k(−log p_k) when smoothed.
  const rowLoss = smoothed
    ? `var sx = 0.0;
      for (var k = 0u; k < u.K; k = k + 1u) { sx = sx + logits[base + k]; }
      let nll = -(logits[base + u32(label)] - m - logSum);
      let spread = (f32(u.K) * (m + logSum) - sx) / f32(u.K);
      l = l + (1.0 - u.smoothing) * nll + u.smoothing * spread;`
    : 'l = l - (logits[base + u32(label)] - m - logSum);'
  return /* wgsl */ `
struct Params { B : u32, K : u32,${smoothed ? ' smoothing : f32,' : ''} };
@group(0) @binding(0) var<storage, read_write> loss : array<f32>;
@group(0) @binding(1) var<storage, read_write> correct : array<f32>;
@group(0) @binding(2) var<storage, read_write> probs : array<f32>;
@group(0) @binding(3) var<storage, read> logits : array<f32>;
@group(0) @binding(4) var<storage, read> labels : array<i32>;
@group(0) @binding(5) var<uniform> u : Params;
var<workgroup> sl : array<f32, ${THREADS}>;
var<workgroup> sc : array<f32, ${THREADS}>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(local_invocation_index) lid : u32) {
  var l = 0.0;
  var c = 0.0;
  for (var r = lid; r < u.B; r = r + ${THREADS}u) {
    let base = r * u.K;
    var m = logits[base];
    var best = 0u;
    for (var k = 1u; k < u.K; k = k + 1u) {
      let v = logits[base + k];
      if (v > m) { m = v; best = k; }
    }
    var s = 0.0;
    for (var k = 0u; k < u.K; k = k + 1u) { s = s + exp(logits[base + k] - m); }
    let logSum = log(s);
    for (var k = 0u; k < u.K; k = k + 1u) { probs[base + k] = exp(logits[base + k] - m) / s; }
    let label = labels[r];
    if (label >= 0 && u32(label) < u.K) {
      ${rowLoss}
      if (best == u32(label)) { c = c + 1.0; }
    }
  }
  sl[lid] = l;
  sc[lid] = c;
  workgroupBarrier();
  for (var stride = ${THREADS / 2}u; stride > 0u; stride = stride >> 1u) {
    if (lid < stride) {
      sl[lid] = sl[lid] + sl[lid + stride];
      sc[lid] = sc[lid] + sc[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    loss[0] = sl[0] / f32(u.B);
    correct[0] = sc[0];
  }
}
`
}

function gradWgsl(smoothed: boolean): string {
  // The target of element k: its one-hot value, or (1 − ε)·hot + ε/K when smoothed.
  const target = smoothed ? '((1.0 - u.smoothing) * hot + u.smoothing / f32(u.K))' : 'hot'
  return /* wgsl */ `
struct Params { size : u32, K : u32, invB : f32,${smoothed ? ' smoothing : f32,' : ''} };
@group(0) @binding(0) var<storage, read_write> dx : array<f32>;
@group(0) @binding(1) var<storage, read> dy : array<f32>;
@group(0) @binding(2) var<storage, read> probs : array<f32>;
@group(0) @binding(3) var<storage, read> labels : array<i32>;
@group(0) @binding(4) var<uniform> u : Params;

@compute @workgroup_size(${THREADS})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  ${flatIndexWgsl(THREADS)}
  if (index >= u.size) { return; }
  let r = index / u.K;
  let k = index % u.K;
  let label = labels[r];
  let hot = select(0.0, 1.0, label == i32(k));
  // A row whose label is outside [0, K) is not in the loss: its gradient is zero.
  let valid = label >= 0 && u32(label) < u.K;
  dx[index] = select(0.0, dy[0] * (probs[index] - ${target}) * u.invB, valid);
}
`
}

function checkShapes(name: string, probs: tf.TensorInfo, labels: tf.TensorInfo): {B: number; K: number} {
  if (probs.shape.length !== 2 || labels.shape.length !== 1 || labels.shape[0] !== probs.shape[0]) {
    throw new Error(`${name}: logits must be (B, K) and labels (B), got [${probs.shape}] and [${labels.shape}]`)
  }
  if (probs.dtype !== 'float32' || labels.dtype !== 'int32') throw new Error(`${name}: float32 logits and int32 labels, got ${probs.dtype} and ${labels.dtype}`)
  const [B, K] = probs.shape
  if (B === 0 || K === 0) throw new Error(`${name}: empty logits [${probs.shape}]`)
  return {B, K}
}

/** ε of the kernels' attributes (0 when absent). */
function smoothingOf(attrs: tf.NamedAttrMap | undefined): number {
  return Number((attrs as {labelSmoothing?: number} | undefined)?.labelSmoothing ?? 0)
}

/** The uniform field of ε, only in the smoothed variants (the plain ones keep their layout). */
function smoothingUniform(smoothing: number): UniformField[] {
  return smoothing > 0 ? [{type: 'float32', data: [smoothing]}] : []
}

export const crossEntropyConfig: tf.KernelConfig = {
  kernelName: XENT_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as WebgpuBackendInternals
    const {logits, labels} = inputs as Record<string, tf.TensorInfo>
    const {B, K} = checkShapes(XENT_KERNEL, logits, labels)
    const smoothing = smoothingOf(attrs)
    return runKernel(b, {
      name: XENT_KERNEL,
      key: smoothing ? 'softmax-xent-smoothed' : 'softmax-xent',
      wgsl: () => forwardWgsl(smoothing > 0),
      workgroups: [1],
      inputs: [logits, labels],
      outputs: [{shape: []}, {shape: []}, {shape: [B, K]}],
      uniforms: [
        {type: 'uint32', data: [B]},
        {type: 'uint32', data: [K]},
        ...smoothingUniform(smoothing),
      ],
    })
  },
}

export const crossEntropyGradConfig: tf.KernelConfig = {
  kernelName: XENT_GRAD_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as WebgpuBackendInternals
    const {dy, probs, labels} = inputs as Record<string, tf.TensorInfo>
    const {B, K} = checkShapes(XENT_GRAD_KERNEL, probs, labels)
    const smoothing = smoothingOf(attrs)
    return runKernel(b, {
      name: XENT_GRAD_KERNEL,
      key: smoothing ? 'softmax-xent-grad-smoothed' : 'softmax-xent-grad',
      wgsl: () => gradWgsl(smoothing > 0),
      workgroups: flatWorkgroups(b, B * K, THREADS),
      inputs: [dy, probs, labels],
      outputs: [{shape: [B, K]}],
      uniforms: [
        {type: 'uint32', data: [B * K]},
        {type: 'uint32', data: [K]},
        {type: 'float32', data: [1 / B]},
        ...smoothingUniform(smoothing),
      ],
    })[0]
  },
}

export const crossEntropyConfigs = [crossEntropyConfig, crossEntropyGradConfig]
