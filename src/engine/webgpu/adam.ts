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
  stepSize : f32,
  beta1 : f32,
  beta2 : f32,
  eps : f32,
  weightDecay : f32,
  sqrtBc2 : f32,
  size : u32,
};
@group(0) @binding(0) var<storage, read_write> outP : array<f32>;
@group(0) @binding(1) var<storage, read_write> outM : array<f32>;
@group(0) @binding(2) var<storage, read_write> outV : array<f32>;
@group(0) @binding(3) var<storage, read> param : array<f32>;
@group(0) @binding(4) var<storage, read> grad : array<f32>;
@group(0) @binding(5) var<storage, read> m : array<f32>;
@group(0) @binding(6) var<storage, read> v : array<f32>;
@group(0) @binding(7) var<uniform> u : Params;

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
  outP[index] = p - (u.stepSize * m1) / (sqrt(v1) / u.sqrtBc2 + u.eps);
}
`
}

tf.registerKernel({
  kernelName: ADAM_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as WebgpuBackendInternals
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
      key: 'adam',
      wgsl: adamWgsl,
      workgroups: flatWorkgroups(b, n, WORKGROUP),
      inputs: [param, grad, m, v],
      outputs: [{shape: param.shape}, {shape: param.shape}, {shape: param.shape}],
      uniforms: [
        {type: 'float32', data: [a.lr / (1 - a.beta1 ** a.step)]},
        {type: 'float32', data: [a.beta1]},
        {type: 'float32', data: [a.beta2]},
        {type: 'float32', data: [a.eps]},
        {type: 'float32', data: [a.weightDecay]},
        {type: 'float32', data: [Math.sqrt(1 - a.beta2 ** a.step)]},
        {type: 'uint32', data: [n]},
      ],
    })
  },
})
