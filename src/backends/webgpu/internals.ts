/** What the project reads and calls of tfjs-backend-webgpu's backend and of the WebGPU device. */
import type {tf} from '../../engine/tf.js'

/** The parts of tfjs-backend-webgpu's `WebGPUBackend` (4.22) that the project's kernels, recording and replay use. */
export interface WebgpuBackendInternals {
  device: GpuDevice
  queue: unknown
  tensorMap: {get(dataId: object): {resource: unknown; dtype: string; shape: number[]; values?: unknown} | undefined}
  refCount(dataId: object): number
  makeTensorInfo(shape: number[], dtype: string, values?: tf.backend_util.BackendValues): tf.TensorInfo
  uploadToGPU(dataId: object): void
  tensorToBinding(t: tf.TensorInfo): unknown
  makeUniforms(uniforms: UniformField[]): unknown
  commandQueueOwnedIds: WeakSet<object>
  ensureCommandEncoderReady(): void
  endComputePassEncoder(): void
  commandEncoder: {beginComputePass(desc: object): GpuComputePass} | null
  computePassEncoder: GpuComputePass | null
  dispatchCountInPass: number
  submitQueue(): void
  activeTimers?: {name: string; query: Promise<number>}[] | null
  supportTimestampQuery: boolean
  querySet: unknown
  querySetCount: number
  getQueryTime(): Promise<number>
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], dtype: string, uniforms?: UniformField[], output?: tf.TensorInfo): tf.TensorInfo
  recordAndSubmit(program: {constructor: {name: string}; shaderKey?: string}, ...rest: unknown[]): void
}

export interface GpuComputePass {
  setPipeline(p: unknown): void
  setBindGroup(i: number, g: unknown): void
  dispatchWorkgroups(x: number, y?: number, z?: number): void
  end(): void
}

export interface GpuDevice {
  createShaderModule(desc: {code: string; label?: string}): unknown
  createComputePipeline(desc: object): {getBindGroupLayout(i: number): unknown}
  createBindGroup(desc: object): unknown
  createQuerySet(desc: object): unknown
  limits: {maxComputeWorkgroupsPerDimension: number; maxStorageBuffersPerShaderStage: number; maxComputeWorkgroupStorageSize: number}
}

export interface UniformField {
  type: 'float32' | 'int32' | 'uint32'
  data: number[]
}
