/**
 * The optimizer kernels on WebGPU (ops/weight-update.ts; kernels/adam.ts, adamw.ts, sgd.ts describe
 * their arithmetic), each two ways:
 *   - the tfjs kernel (`MixtureAdam`, …): one dispatch per weight tensor writes new param' and state'
 *     tensors (the composite costs about a dozen element-wise dispatches);
 *   - the in-place step the Trainer uses (`updateStep`): one dispatch updates the buffers of several
 *     weights and their state where they are, with no tfjs kernel call, no new tensors and no
 *     `assign` — which is also what lets a recorded step be replayed (graph.ts needs the weights
 *     updated in place). On the H200 a training step was bound by the host's per-dispatch cost, and
 *     the optimizer was a dispatch per weight (62 of ResNet-18's 371, 157 of the Perceiver's 813).
 *     A dispatch binds the weight, its state tensors and its gradient per weight plus the step
 *     scalars, so it takes ⌊(maxStorageBuffersPerShaderStage − 1) / (2 + state)⌋ weights (3 for Adam,
 *     5 for SGD at the WebGPU limit of 16; at most 8). A weight is updated in place only when no other
 *     tensor shares its data (nor its state's); the rest go through the tfjs kernel.
 *     MIXTURE_WEBGPU_ADAM_INPLACE=0 turns the in-place update off for every optimizer;
 *     MIXTURE_WEBGPU_ADAM_GROUP=N caps the weights per dispatch.
 * What changes every step (the learning rate, bias corrections, the momentum's first step) is in a
 * per-step tensor (`perStepTensor`), not the uniforms, so that a replayed step writes it from the step
 * context; the uniforms hold what is fixed (β, ε, the weight group's decay).
 */
import {tf} from '../../../engine/tf.js'
import type {InPlaceUpdate} from '../../../ops/weight-update.js'
import {dispatchOn, flatIndexWgsl, flatWorkgroups, ownsData, perStepTensor, runKernel, type StepValues, type UniformField, type WebgpuBackendInternals} from '../runner.js'
import {webgpuSwitch} from '../switches.js'

const WORKGROUP = 256

/** One optimizer's update as WGSL, its uniforms and its per-step values. */
export interface UpdateProgram<A> {
  /** The tfjs kernel (`MixtureAdam`); its in-place dispatches are named `<kernel>InPlace`. */
  kernel: string
  /** Pipeline cache key prefix (`adam`). */
  key: string
  /** The state tensors of one weight, in the op's order (`m`, `v`). */
  state: string[]
  /** WGSL fields that start the uniform struct (same values every step). */
  hyperFields: string
  hyper(a: A): UniformField[]
  /** The per-step tensor `stepScalars`: its name and values (registered with `registerStepValues`). */
  stepValues: StepValues
  stepScalars(a: A): number[]
  /**
   * WGSL updating element `index`: reads `param`, `grad` and `state` (array names), writes `outParam`
   * and `outState` (the same arrays when in place); may use `u.<hyper field>` and `stepScalars[k]`.
   */
  body(param: string, grad: string, state: string[], outParam: string, outState: string[]): string
}

/** One weight: outputs param', state'... (read_write) from binding 0, then param, grad, state..., the step scalars, the uniforms. */
export function updateWgsl<A>(prog: UpdateProgram<A>): string {
  const outputs = ['outP', ...prog.state.map((s) => `out${s[0].toUpperCase()}${s.slice(1)}`)]
  const inputs = ['param', 'grad', ...prog.state]
  const decl = [...outputs.map((name) => `var<storage, read_write> ${name}`), ...inputs.map((name) => `var<storage, read> ${name}`), 'var<storage, read> stepScalars']
  return /* wgsl */ `
struct Params {
  ${prog.hyperFields}
  size : u32,
};
${decl.map((d, i) => `@group(0) @binding(${i}) ${d} : array<f32>;`).join('\n')}
@group(0) @binding(${decl.length}) var<uniform> u : Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  ${flatIndexWgsl(WORKGROUP)}
  if (index >= u.size) { return; }
  ${prog.body('param', 'grad', prog.state, 'outP', outputs.slice(1))}
}
`
}

/**
 * In-place update of `k` weights: per weight i, its param and state (read_write) then its gradient,
 * (2 + state) bindings each; workgroups [start_i, start_{i+1}) belong to weight i.
 */
export function updateInPlaceWgsl<A>(prog: UpdateProgram<A>, k: number): string {
  const width = 2 + prog.state.length
  const decl: string[] = []
  const fields: string[] = []
  const branches: string[] = []
  for (let i = 0; i < k; i++) {
    const state = prog.state.map((s) => `${s}w${i}`)
    ;[`pw${i}`, ...state].forEach((name, j) => decl.push(`@group(0) @binding(${width * i + j}) var<storage, read_write> ${name} : array<f32>;`))
    decl.push(`@group(0) @binding(${width * i + width - 1}) var<storage, read> gw${i} : array<f32>;`)
    fields.push(`  size${i} : u32,\n  start${i} : u32,`)
    const body = `{
    let index = (wg - u.start${i}) * ${WORKGROUP}u + lid;
    if (index >= u.size${i}) { return; }
    ${prog.body(`pw${i}`, `gw${i}`, state, `pw${i}`, state)}
    return;
  }`
    branches.push(i + 1 < k ? `if (wg < u.start${i + 1}) ${body}` : body)
  }
  return /* wgsl */ `
struct Params {
  ${prog.hyperFields}
  total : u32,
${fields.join('\n')}
};
${decl.join('\n')}
@group(0) @binding(${width * k}) var<storage, read> stepScalars : array<f32>;
@group(0) @binding(${width * k + 1}) var<uniform> u : Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_index) lid : u32, @builtin(num_workgroups) nwg : vec3<u32>) {
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= u.total) { return; }
  ${branches.join('\n  ')}
}
`
}

function stepScalarsFor<A>(backend: WebgpuBackendInternals & tf.KernelBackend, prog: UpdateProgram<A>, a: A): tf.TensorInfo {
  return perStepTensor(backend, prog.stepValues.name, 'float32', prog.stepScalars(a))
}

/** The tfjs kernel of `prog`: {param, grad, <state>...} → [param', <state>'...] in one dispatch. */
export function updateKernelConfig<A>(prog: UpdateProgram<A>): tf.KernelConfig {
  return {
    kernelName: prog.kernel,
    backendName: 'webgpu',
    kernelFunc: ({inputs, backend, attrs}) => {
      const b = backend as unknown as WebgpuBackendInternals & tf.KernelBackend
      const named = inputs as Record<string, tf.TensorInfo>
      const param = named.param
      const rest = ['grad', ...prog.state].map((name) => named[name])
      for (const t of rest) {
        if (!tf.util.arraysEqual(t.shape, param.shape)) {
          throw new Error(`${prog.kernel}: every input must have the weight's shape ${JSON.stringify(param.shape)}, got ${JSON.stringify(t.shape)}`)
        }
      }
      const a = attrs as unknown as A
      const n = tf.util.sizeFromShape(param.shape)
      return runKernel(b, {
        name: prog.kernel,
        key: `${prog.key}-step-scalars`,
        wgsl: () => updateWgsl(prog),
        workgroups: flatWorkgroups(b, n, WORKGROUP),
        inputs: [param, ...rest, stepScalarsFor(b, prog, a)],
        outputs: [param, ...prog.state].map(() => ({shape: param.shape})),
        uniforms: [...prog.hyper(a), {type: 'uint32', data: [n]}],
      })
    },
  }
}

const MAX_GROUP = 8

/** Weights per in-place dispatch of an optimizer with `stateCount` state tensors (binding limit, MIXTURE_WEBGPU_ADAM_GROUP). */
export function updateGroupSize(backend: WebgpuBackendInternals, stateCount: number): number {
  const byLimit = Math.min(MAX_GROUP, Math.floor((backend.device.limits.maxStorageBuffersPerShaderStage - 1) / (2 + stateCount)))
  return Math.max(1, Math.min(byLimit, webgpuSwitch('adamGroup')))
}

/** The in-place update of every weight it can (`InPlaceUpdate`): the others go through the tfjs kernel. */
export function inPlaceUpdate<A>(prog: UpdateProgram<A>): InPlaceUpdate<A> {
  return (params, grads, state, a) => {
    const done = params.map(() => false)
    if (!webgpuSwitch('adamInPlace')) return done
    const b = tf.backend() as unknown as WebgpuBackendInternals & tf.KernelBackend
    const eligible: number[] = []
    // A buffer written in place must be bound once per dispatch: a weight listed twice goes through the kernel.
    const written = new Set<object>()
    params.forEach((p, i) => {
      const g = grads[i]
      const own = [p, ...state[i]]
      const sameShape = [g, ...state[i]].every((t) => tf.util.arraysEqual(t.shape, p.shape))
      const ids = own.map((t) => t.dataId)
      const distinct = new Set([...ids, g.dataId]).size === ids.length + 1 && ids.every((id) => !written.has(id))
      if (sameShape && distinct && g.dtype === 'float32' && p.size > 0 && own.every((t) => ownsData(b, t))) {
        eligible.push(i)
        for (const id of ids) written.add(id)
      }
    })
    if (eligible.length === 0) return done
    const scalars = stepScalarsFor(b, prog, a)
    const k = updateGroupSize(b, prog.state.length)
    for (let at = 0; at < eligible.length; at += k) {
      const group = eligible.slice(at, at + k)
      const tensors: tf.TensorInfo[] = []
      const sizes: UniformField[] = []
      let total = 0
      for (const i of group) {
        tensors.push(params[i], ...state[i], grads[i])
        sizes.push({type: 'uint32', data: [params[i].size]}, {type: 'uint32', data: [total]})
        total += Math.ceil(params[i].size / WORKGROUP)
      }
      tensors.push(scalars)
      dispatchOn(
        b,
        {
          name: `${prog.kernel}InPlace`,
          key: `${prog.key}-in-place-${group.length}`,
          wgsl: () => updateInPlaceWgsl(prog, group.length),
          workgroups: flatWorkgroups(b, total * WORKGROUP, WORKGROUP),
          uniforms: [...prog.hyper(a), {type: 'uint32', data: [total]}, ...sizes],
        },
        tensors,
        tensors.length - 1,
      )
      for (const i of group) done[i] = true
    }
    return done
  }
}
