/**
 * Adam on WebGPU (ops/adam.ts), same arithmetic as the cpu kernel (PyTorch's Adam with
 * coupled L2 decay), two ways:
 *   - `MixtureAdam`, the tfjs kernel: one dispatch per weight tensor writes new param', m', v'
 *     tensors (the composite costs about a dozen element-wise dispatches);
 *   - the in-place step the Trainer uses through `adamStep` (ops/adam.ts): one dispatch updates
 *     the buffers of several weights and their m, v where they are, with no tfjs kernel call, no new
 *     tensors and no `assign`. On the H200 a training step was bound by the host's per-dispatch cost,
 *     and Adam was a dispatch per weight (62 of ResNet-18's 371, 157 of the Perceiver's 813).
 *     A dispatch binds 4 buffers per weight plus the step scalars, so it takes
 *     ⌊(maxStorageBuffersPerShaderStage − 1) / 4⌋ weights (3 at the WebGPU limit of 16; at most 8).
 *     A weight is updated in place only when no other tensor shares its data (and m's and v's);
 *     the rest go through `MixtureAdam`. MIXTURE_WEBGPU_ADAM_INPLACE=0 turns it off;
 *     MIXTURE_WEBGPU_ADAM_GROUP=N caps the weights per dispatch.
 */
import {tf} from '../../../engine/tf.js'
import {ADAM_KERNEL, type AdamAttrs, type InPlaceAdam} from '../../../ops/adam.js'
import {dispatchOn, flatIndexWgsl, flatWorkgroups, ownsData, perStepTensor, runKernel, type StepValues, type UniformField, type WebgpuBackendInternals} from '../runner.js'
import {webgpuSwitch} from '../switches.js'

const WORKGROUP = 256

/** The uniform fields both Adam kernels start with (same values every step). */
const HYPER_FIELDS = `beta1 : f32,
  beta2 : f32,
  eps : f32,
  weightDecay : f32,`

function hyperUniforms(a: AdamAttrs): UniformField[] {
  return [a.beta1, a.beta2, a.eps, a.weightDecay].map((value) => ({type: 'float32', data: [value]}))
}

export function adamWgsl(): string {
  return /* wgsl */ `
struct Params {
  ${HYPER_FIELDS}
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
  ${updateWgsl('param', 'grad', 'm', 'v', 'outP', 'outM', 'outV')}
}
`
}

/** The update of element `index`, reading from the first four arrays and writing to the last three. */
function updateWgsl(p: string, g: string, m: string, v: string, outP: string, outM: string, outV: string): string {
  return `let p = ${p}[index];
  let g = ${g}[index] + u.weightDecay * p;
  let m1 = u.beta1 * ${m}[index] + (1.0 - u.beta1) * g;
  let v1 = u.beta2 * ${v}[index] + (1.0 - u.beta2) * g * g;
  ${outM}[index] = m1;
  ${outV}[index] = v1;
  // stepScalars = [lr / (1 - beta1^t), sqrt(1 - beta2^t)]
  ${outP}[index] = p - (stepScalars[0] * m1) / (sqrt(v1) / stepScalars[1] + u.eps);`
}

/**
 * In-place update of `k` weights: bindings 4i..4i+3 are weight i's param, m, v (read_write) and
 * gradient; workgroups [start_i, start_{i+1}) belong to weight i.
 */
export function adamInPlaceWgsl(k: number): string {
  const decl: string[] = []
  const fields: string[] = []
  const branches: string[] = []
  for (let i = 0; i < k; i++) {
    decl.push(`@group(0) @binding(${4 * i}) var<storage, read_write> pw${i} : array<f32>;
@group(0) @binding(${4 * i + 1}) var<storage, read_write> mw${i} : array<f32>;
@group(0) @binding(${4 * i + 2}) var<storage, read_write> vw${i} : array<f32>;
@group(0) @binding(${4 * i + 3}) var<storage, read> gw${i} : array<f32>;`)
    fields.push(`  size${i} : u32,\n  start${i} : u32,`)
    const body = `{
    let index = (wg - u.start${i}) * ${WORKGROUP}u + lid;
    if (index >= u.size${i}) { return; }
    ${updateWgsl(`pw${i}`, `gw${i}`, `mw${i}`, `vw${i}`, `pw${i}`, `mw${i}`, `vw${i}`)}
    return;
  }`
    branches.push(i + 1 < k ? `if (wg < u.start${i + 1}) ${body}` : body)
  }
  return /* wgsl */ `
struct Params {
  ${HYPER_FIELDS}
  total : u32,
${fields.join('\n')}
};
${decl.join('\n')}
@group(0) @binding(${4 * k}) var<storage, read> stepScalars : array<f32>;
@group(0) @binding(${4 * k + 1}) var<uniform> u : Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_index) lid : u32, @builtin(num_workgroups) nwg : vec3<u32>) {
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= u.total) { return; }
  ${branches.join('\n  ')}
}
`
}

/** [lr / (1 − β1ᵗ), √(1 − β2ᵗ)]: in a per-step tensor, not the uniforms (see `perStepTensor`). */
function stepScalars(a: AdamAttrs): number[] {
  return [a.lr / (1 - a.beta1 ** a.step), Math.sqrt(1 - a.beta2 ** a.step)]
}

function stepScalarsFor(backend: WebgpuBackendInternals & tf.KernelBackend, a: AdamAttrs): tf.TensorInfo {
  return perStepTensor(backend, 'adam', 'float32', stepScalars(a))
}

/** The per-step tensor of the bias corrections. */
export const adamStepValues: StepValues = {name: 'adam', values: (context) => stepScalars(context.adam)}

export const adamConfig: tf.KernelConfig = {
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
      uniforms: [...hyperUniforms(a), {type: 'uint32', data: [n]}],
    })
  },
}

const MAX_GROUP = 8

/** Weights per in-place dispatch on this device (binding limit, MIXTURE_WEBGPU_ADAM_GROUP). */
export function adamGroupSize(backend: WebgpuBackendInternals): number {
  const byLimit = Math.min(MAX_GROUP, Math.floor((backend.device.limits.maxStorageBuffersPerShaderStage - 1) / 4))
  return Math.max(1, Math.min(byLimit, webgpuSwitch('adamGroup')))
}

/** The in-place update of every weight it can (`InPlaceAdam`): the others go through `MixtureAdam`. */
export const adamInPlace: InPlaceAdam = (params, grads, m, v, a) => {
  const done = params.map(() => false)
  if (!webgpuSwitch('adamInPlace')) return done
  const b = tf.backend() as unknown as WebgpuBackendInternals & tf.KernelBackend
  const eligible: number[] = []
  // A buffer written in place must be bound once per dispatch: a weight listed twice goes through MixtureAdam.
  const written = new Set<object>()
  params.forEach((p, i) => {
    const g = grads[i]
    const sameShape = [g, m[i], v[i]].every((t) => tf.util.arraysEqual(t.shape, p.shape))
    const ids = [p.dataId, m[i].dataId, v[i].dataId]
    const distinct = new Set([...ids, g.dataId]).size === 4 && ids.every((id) => !written.has(id))
    if (sameShape && distinct && g.dtype === 'float32' && p.size > 0 && [p, m[i], v[i]].every((t) => ownsData(b, t))) {
      eligible.push(i)
      for (const id of ids) written.add(id)
    }
  })
  if (eligible.length === 0) return done
  const scalars = stepScalarsFor(b, a)
  const k = adamGroupSize(b)
  for (let at = 0; at < eligible.length; at += k) {
    const group = eligible.slice(at, at + k)
    const tensors: tf.TensorInfo[] = []
    const sizes: UniformField[] = []
    let total = 0
    for (const i of group) {
      tensors.push(params[i], m[i], v[i], grads[i])
      sizes.push({type: 'uint32', data: [params[i].size]}, {type: 'uint32', data: [total]})
      total += Math.ceil(params[i].size / WORKGROUP)
    }
    tensors.push(scalars)
    dispatchOn(
      b,
      {
        name: 'MixtureAdamInPlace',
        key: `adam-in-place-${group.length}`,
        wgsl: () => adamInPlaceWgsl(group.length),
        workgroups: flatWorkgroups(b, total * WORKGROUP, WORKGROUP),
        uniforms: [...hyperUniforms(a), {type: 'uint32', data: [total]}, ...sizes],
      },
      tensors,
      tensors.length - 1,
    )
    for (const i of group) {
      // A value read back earlier is cached on the CPU and would now be stale.
      for (const t of [params[i], m[i], v[i]]) b.tensorMap.get(t.dataId)!.values = null
      done[i] = true
    }
  }
  return done
}
