/**
 * `MixtureDropout` on WebGPU: the same counter-based hash as ops/dropout.ts, so the mask is
 * bit-identical to the cpu backend's for a given seed. Without this kernel the generic fallback
 * would read the tensor back to the CPU on every call. When the caller passes the seed's source
 * (a layer seed and the training step, seed = dropoutHash(layerSeed, step)), the seed is derived in
 * the shader from a per-step tensor shared by the step's dropout calls, so the uniform block — and
 * the bind group — repeat from step to step instead of being new for every call.
 */
import {tf} from '../../../engine/tf.js'
import {DROPOUT_KERNEL, type DropoutAttrs} from '../../../ops/dropout.js'
import {flatIndexWgsl, flatWorkgroups, perStepTensor, runKernel, type StepValues, type WebgpuBackendInternals} from '../runner.js'

const WORKGROUP = 256

/** `fromStep`: the uniform `seed` is the layer seed, mixed in the shader with step[0] (dropoutHash). */
export function dropoutWgsl(fromStep: boolean): string {
  return /* wgsl */ `
struct Params {
  seed : u32,
  threshold : u32,
  scale : f32,
  size : u32,
};
@group(0) @binding(0) var<storage, read_write> y : array<f32>;
@group(0) @binding(1) var<storage, read> x : array<f32>;
${fromStep ? '@group(0) @binding(2) var<storage, read> step : array<i32>;\n@group(0) @binding(3) var<uniform> u : Params;' : '@group(0) @binding(2) var<uniform> u : Params;'}

fn hash(i : u32, seed : u32) -> u32 {
  var h = (i * 0x9e3779b1u) ^ seed;
  h = h ^ (h >> 16u);
  h = h * 0x85ebca6bu;
  h = h ^ (h >> 13u);
  h = h * 0xc2b2ae35u;
  h = h ^ (h >> 16u);
  return h;
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  ${flatIndexWgsl(WORKGROUP)}
  if (index >= u.size) { return; }
  let seed = ${fromStep ? 'hash(u32(step[0]), u.seed)' : 'u.seed'};
  y[index] = select(0.0, x[index] * u.scale, hash(index, seed) >= u.threshold);
}
`
}

/** The per-step tensor the seeds derive from: the trainer sets the dropout step to its optimizer step (ops/dropout.ts). */
export const dropoutStepValues: StepValues = {name: 'dropout', values: (context) => [context.step]}

export const dropoutConfig: tf.KernelConfig = {
  kernelName: DROPOUT_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as WebgpuBackendInternals & tf.KernelBackend
    const x = inputs.x as tf.TensorInfo
    const {rate, seed, layerSeed, step} = attrs as unknown as DropoutAttrs
    const n = tf.util.sizeFromShape(x.shape)
    const fromStep = layerSeed !== undefined && step !== undefined && (step | 0) === step
    const [y] = runKernel(b, {
      name: DROPOUT_KERNEL,
      key: fromStep ? 'dropout-step' : 'dropout',
      wgsl: () => dropoutWgsl(fromStep),
      workgroups: flatWorkgroups(b, n, WORKGROUP),
      inputs: fromStep ? [x, perStepTensor(b, 'dropout', 'int32', [step])] : [x],
      outputs: [{shape: x.shape}],
      uniforms: [
        {type: 'uint32', data: [(fromStep ? layerSeed : seed) >>> 0]},
        {type: 'uint32', data: [Math.floor(rate * 4294967296)]},
        {type: 'float32', data: [1 / (1 - rate)]},
        {type: 'uint32', data: [n]},
      ],
    })
    return y
  },
}
