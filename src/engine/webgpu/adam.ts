/**
 * `MixtureAdam` on WebGPU: one dispatch per weight tensor writes param', m' and v' (the composite
 * costs about a dozen element-wise dispatches, each with its own uniform buffer and bind group).
 * Same arithmetic as the cpu kernel in ../kernels/adam.ts (PyTorch's Adam with coupled L2 decay).
 */
import {tf} from '../tf.js'
import {ADAM_KERNEL, type AdamAttrs} from '../optimizer.js'
import {flatIndexWgsl, flatWorkgroups, runKernel, type WebgpuBackendInternals} from './runner.js'

const WORKGROUP = 256

export function adamWgsl(): string {
  return /* wgsl */ `
struct Params {
  beta1 : f32,
  beta2 : f32,
  eps : f32,
  weightDecay : f32,
  size : u32,
};
@group(0) @binding(0) var<storage, read_write> outP : array<f32>;
@group(0) @binding(1) var<storage, read_write> outM : array<f32>;
@group(0) @binding(2) var<storage, read_write> outV : array<f32>;
@group(0) @binding(3) var<storage, read> param : array<f32>;
@group(0) @binding(4) var<storage, read> grad : array<f32>;
@group(0) @binding(5) var<storage, read> m : array<f32>;
@group(0) @binding(6) var<storage, read> v : array<f32>;
@group(0) @binding(7) var<storage, read> stepScalars : array<f32>;
@group(0) @binding(8) var<uniform> u : Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  ${flatIndexWgsl(WORKGROUP)}
  if (index >= u.size) { return; }
  let p = param[index];
  let g = grad[index] + u.weightDecay * p;
  let m1 = u.beta1 * m[index] + (1.0 - u.beta1) * g;
  let v1 = u.beta2 * v[index] + (1.0 - u.beta2) * g * g;
  outM[index] = m1;
  outV[index] = v1;
  // stepScalars = [lr / (1 - beta1^t), sqrt(1 - beta2^t)]
  outP[index] = p - (stepScalars[0] * m1) / (sqrt(v1) / stepScalars[1] + u.eps);
}
`
}

/**
 * The two scalars that change every step live in a tiny tensor shared by all of the step's
 * dispatches, not in the uniform block: the uniforms then repeat from step to step and so do the
 * bind groups (see record.ts), instead of one new uniform buffer and bind group per weight per step.
 */
let stepScalars: {key: string; info: tf.TensorInfo; backend: tf.KernelBackend} | undefined

function stepScalarsFor(backend: WebgpuBackendInternals & tf.KernelBackend, a: AdamAttrs): tf.TensorInfo {
  const stepSize = a.lr / (1 - a.beta1 ** a.step)
  const sqrtBc2 = Math.sqrt(1 - a.beta2 ** a.step)
  const key = `${stepSize}/${sqrtBc2}`
  if (stepScalars?.key === key && stepScalars.backend === backend) return stepScalars.info
  if (stepScalars && stepScalars.backend === backend) backend.disposeData(stepScalars.info.dataId, true)
  const info = backend.makeTensorInfo([2], 'float32', new Float32Array([stepSize, sqrtBc2]) as unknown as tf.backend_util.BackendValues)
  stepScalars = {key, info, backend}
  return info
}

tf.registerKernel({
  kernelName: ADAM_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as WebgpuBackendInternals & tf.KernelBackend
    const {param, grad, m, v} = inputs as Record<string, tf.TensorInfo>
    const a = attrs as unknown as AdamAttrs
    for (const t of [grad, m, v]) {
      if (!tf.util.arraysEqual(t.shape, param.shape)) {
        throw new Error(`${ADAM_KERNEL}: every input must have the weight's shape ${JSON.stringify(param.shape)}, got ${JSON.stringify(t.shape)}`)
      }
    }
    const n = tf.util.sizeFromShape(param.shape)
    return runKernel(b, {
      name: ADAM_KERNEL,
      key: 'adam-step-scalars',
      wgsl: adamWgsl,
      workgroups: flatWorkgroups(b, n, WORKGROUP),
      inputs: [param, grad, m, v, stepScalarsFor(b, a)],
      outputs: [{shape: param.shape}, {shape: param.shape}, {shape: param.shape}],
      uniforms: [
        {type: 'float32', data: [a.beta1]},
        {type: 'float32', data: [a.beta2]},
        {type: 'float32', data: [a.eps]},
        {type: 'float32', data: [a.weightDecay]},
        {type: 'uint32', data: [n]},
      ],
    })
  },
})
