/**
 * Running the project's own WGSL kernels on tfjs-backend-webgpu's device and command stream.
 *
 * `backend.runWebGPUProgram` binds exactly one output, so a kernel with several outputs (Adam's
 * param', m', v'; batch-norm's y, mean, variance) would cost a dispatch per output plus slices.
 * `runKernel` below records one dispatch that writes any number of outputs: it allocates the output
 * tensors through the backend, binds them and the inputs as storage buffers, and records the
 * dispatch into the backend's open compute pass, following the same bookkeeping as the backend's
 * own `recordAndSubmit` (queue ownership of the buffers, deferred submit batching, timestamp
 * queries under `tf.profile`/`tf.time`). The shader is plain WGSL written by the kernel: bindings
 * 0..outputs-1 are the outputs (read_write), then the inputs (read), then one uniform struct.
 */
import {tf} from '../../engine/tf.js'
import type {StepContext} from '../../engine/step-graph.js'
import type {UniformField, WebgpuBackendInternals} from './internals.js'
import {bindGroupFor, captureHook, encodeDispatch, uniformsFor, type BindingLike} from './record.js'

export type {UniformField, WebgpuBackendInternals}

export interface KernelSpec {
  /** Name shown in dispatch counts and profiles. */
  name: string
  /** Pipeline cache key: everything that changes the WGSL text. */
  key: string
  /** Builds the WGSL; called once per key and device. The entry point must be `main`. */
  wgsl: () => string
  /** Workgroups to dispatch. */
  workgroups: [number, number?, number?]
  inputs: tf.TensorInfo[]
  /** Shapes (and dtypes, default float32) of the outputs, in binding order. */
  outputs: {shape: number[]; dtype?: string}[]
  /** One uniform struct, laid out by the backend's own `makeUniforms` (WGSL alignment rules). */
  uniforms: UniformField[]
}

/**
 * WGSL declarations of a kernel's bindings in the order \`runKernel\` and \`dispatchOn\` bind them:
 * \`outputs\` (read_write) from binding 0, then \`inputs\` (read; read_write for those named in
 * \`readWrite\`, tensors the kernel updates in place), each an array<f32>, then the uniform struct
 * \`u : Params\`.
 */
export function bindingsWgsl(outputs: string[], inputs: string[], readWrite: string[] = []): string {
  const lines = outputs.map((name, i) => `@group(0) @binding(${i}) var<storage, read_write> ${name} : array<f32>;`)
  inputs.forEach((name, i) => {
    lines.push(`@group(0) @binding(${outputs.length + i}) var<storage, ${readWrite.includes(name) ? 'read_write' : 'read'}> ${name} : array<f32>;`)
  })
  lines.push(`@group(0) @binding(${outputs.length + inputs.length}) var<uniform> u : Params;`)
  return lines.join('\n')
}

const pipelines = new WeakMap<object, Map<string, {getBindGroupLayout(i: number): unknown}>>()

/** Listeners told of every dispatch the project's kernels record (see `dispatches.ts`). */
export const dispatchListeners = new Set<(name: string) => void>()

export function webgpuBackend(): WebgpuBackendInternals {
  return tf.backend() as unknown as WebgpuBackendInternals
}

function pipelineFor(backend: WebgpuBackendInternals, spec: Pick<KernelSpec, 'name' | 'key' | 'wgsl'>): {getBindGroupLayout(i: number): unknown} {
  let cache = pipelines.get(backend.device)
  if (!cache) {
    cache = new Map()
    pipelines.set(backend.device, cache)
  }
  let pipeline = cache.get(spec.key)
  if (!pipeline) {
    const module = backend.device.createShaderModule({code: spec.wgsl(), label: spec.name})
    pipeline = backend.device.createComputePipeline({compute: {module, entryPoint: 'main'}, layout: 'auto', label: spec.name})
    cache.set(spec.key, pipeline)
  }
  return pipeline
}

/** Record one dispatch of `spec` on `backend`; returns the output tensors (owned by the caller). */
export function runKernel(backend: WebgpuBackendInternals, spec: KernelSpec): tf.TensorInfo[] {
  const outputs = spec.outputs.map((o) => backend.makeTensorInfo(o.shape, o.dtype ?? 'float32'))
  if (outputs.some((o) => tf.util.sizeFromShape(o.shape) === 0)) {
    throw new Error(`${spec.name}: empty tensors are not supported`)
  }
  dispatchOn(backend, spec, [...outputs, ...spec.inputs], outputs.length)
  return outputs
}

/**
 * Record one dispatch of `spec` binding `tensors` as storage buffers 0..n-1 (in that order) and its
 * uniforms as binding n. The shader may write the first `writes` of them (all by default): an
 * in-place kernel binds the tensors it updates read_write; the caller answers for no other live
 * tensor sharing their data. Their values read back earlier, cached on the CPU, are dropped: stale now.
 */
export function dispatchOn(
  backend: WebgpuBackendInternals,
  spec: Pick<KernelSpec, 'name' | 'key' | 'wgsl' | 'workgroups' | 'uniforms'>,
  tensors: tf.TensorInfo[],
  writes = tensors.length,
): void {
  for (const t of tensors) backend.uploadToGPU(t.dataId)
  // Only once the data is on the GPU (values set from the CPU go up first) is the CPU copy stale.
  for (const t of tensors.slice(0, writes)) backend.tensorMap.get(t.dataId)!.values = null
  const pipeline = pipelineFor(backend, spec)
  const bindings = tensors.map((t) => backend.tensorToBinding(t))
  bindings.push(uniformsFor(backend, spec.uniforms.map((u) => ({...u, data: [...u.data]}))))
  for (const t of tensors) backend.commandQueueOwnedIds.add(t.dataId)
  const bindGroup = bindGroupFor(backend, pipeline, bindings)
  captureHook.current?.dispatch(spec.name, pipeline, bindings as BindingLike[], spec.workgroups as number[], writes)
  encodeDispatch(backend, spec.name, pipeline, bindGroup, spec.workgroups as number[])
  for (const listener of dispatchListeners) listener(spec.name)
}

/** Whether `t`'s float32 data belongs to `t` alone, so that writing it in place changes no other tensor. */
export function ownsData(backend: WebgpuBackendInternals, t: tf.TensorInfo): boolean {
  const data = backend.tensorMap.get(t.dataId)
  return data !== undefined && data.dtype === 'float32' && backend.refCount(t.dataId) === 1
}

interface PerStep {
  key: string
  dtype: 'float32' | 'int32'
  info: tf.TensorInfo
}

const stepValues = new WeakMap<object, Map<string, PerStep>>()
const stepValueFunctions = new Map<string, (context: StepContext) => number[]>()

/**
 * A small tensor holding values that change every training step (Adam's bias corrections, the step
 * that dropout seeds derive from), shared by all of the step's dispatches under `name` and replaced
 * only when the values change. Kept out of the uniform blocks so that those repeat from step to
 * step, and with them the bind groups (record.ts). The values of `name` must be what the function
 * registered under `name` (`registerStepValues`) gives for the step: a replayed step (graph.ts)
 * writes them from it.
 */
export function perStepTensor(backend: WebgpuBackendInternals & tf.KernelBackend, name: string, dtype: 'float32' | 'int32', values: number[]): tf.TensorInfo {
  let byName = stepValues.get(backend)
  if (!byName) {
    byName = new Map()
    stepValues.set(backend, byName)
  }
  const key = values.join('/')
  const held = byName.get(name)
  if (held?.key === key) return held.info
  if (held) backend.disposeData(held.info.dataId, true)
  const data = dtype === 'int32' ? new Int32Array(values) : new Float32Array(values)
  const info = backend.makeTensorInfo([values.length], dtype, data as unknown as tf.backend_util.BackendValues)
  byName.set(name, {key, dtype, info})
  return info
}

/** How the values of the per-step tensor `name` follow from the step (see `perStepTensor`). */
export interface StepValues {
  name: string
  values: (context: StepContext) => number[]
}

/** Registers a per-step tensor's values (see `perStepTensor`). */
export function registerStepValues({name, values}: StepValues): void {
  stepValueFunctions.set(name, values)
}

/** The per-step tensors alive on `backend`, with the function that gives their values (if registered). */
export function perStepTensors(backend: WebgpuBackendInternals): {name: string; dtype: 'float32' | 'int32'; info: tf.TensorInfo; values?: (context: StepContext) => number[]}[] {
  return [...(stepValues.get(backend)?.entries() ?? [])].map(([name, s]) => ({name, dtype: s.dtype, info: s.info, values: stepValueFunctions.get(name)}))
}

/** Workgroup counts for `n` threads in groups of `size`, folded into 2-D past the per-dimension limit. */
export function flatWorkgroups(backend: WebgpuBackendInternals, n: number, size: number): [number, number] {
  const groups = Math.max(1, Math.ceil(n / size))
  const limit = backend.device.limits.maxComputeWorkgroupsPerDimension
  if (groups <= limit) return [groups, 1]
  const x = limit
  return [x, Math.ceil(groups / x)]
}

/** WGSL for the flat thread index of a 2-D dispatch made by `flatWorkgroups` (`size` threads per group). */
export function flatIndexWgsl(size: number): string {
  return `let index = gid.x + gid.y * nwg.x * ${size}u;`
}

/** WGSL generated for i = 0 … n − 1 and joined by lines: a loop unrolled, so that no array is indexed dynamically. */
export function unrolled(n: number, f: (i: number) => string): string {
  return Array.from({length: n}, (_, i) => f(i)).join('\n')
}

/** tfjs's own webgpu implementation of `kernelName`, for kernels that compose it (Reshape, Conv2D, BatchMatMul). */
export function webgpuKernelFunc(kernelName: string): tf.KernelFunc {
  const config = tf.getKernel(kernelName, 'webgpu')
  if (!config) throw new Error(`the webgpu backend has no ${kernelName} kernel`)
  return config.kernelFunc
}

/** A project route over one of tfjs's webgpu kernels: `wrap(original)` runs in its place and hands `original` the cases it does not take. */
export interface KernelWrapper {
  kernelName: string
  wrap: (original: tf.KernelFunc) => tf.KernelFunc
}

const wrapped = new Set<string>()

/**
 * Replace the webgpu registration of `kernelName` by `wrap(original)`, once per process and `layer`:
 * for the kernels where the project handles some cases itself and hands the rest to tfjs's own
 * ('route'), and for the precision products compute in, around all of those (precision.ts).
 */
export function wrapWebgpuKernel(kernelName: string, wrap: (original: tf.KernelFunc) => tf.KernelFunc, layer: 'route' | 'precision' = 'route'): void {
  const original = tf.getKernel(kernelName, 'webgpu')
  if (!original || wrapped.has(`${layer}:${kernelName}`)) return
  wrapped.add(`${layer}:${kernelName}`)
  tf.unregisterKernel(kernelName, 'webgpu')
  tf.registerKernel({...original, kernelFunc: wrap(original.kernelFunc)})
}
