/**
 * Small helpers for kernels that run on the WASM backend's heap: calling the backend's own
 * kernels, zero-copy views into a tensor's memory, typed-array access to the heap, and the config
 * of a kernel written here.
 */
import {tf} from '../../engine/tf.js'
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm'
import type {WasmModule} from './module.js'
import type {UpdateLoop} from '../cpu/internals.js'

export type Backend = BackendWasm
export type Info = tf.TensorInfo

export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap
  backend: Backend
  attrs?: tf.NamedAttrMap
}

export function wasmOf(backend: Backend): WasmModule {
  return backend.wasm as unknown as WasmModule
}

/** The heap as float32, re-read every call: the memory may have grown since the last view. */
export function heapF32(backend: Backend): Float32Array {
  const wasm = wasmOf(backend)
  const buffer = wasm.wasmMemory?.buffer ?? wasm.HEAPU8.buffer
  return new Float32Array(buffer)
}

export function heapI32(backend: Backend): Int32Array {
  const wasm = wasmOf(backend)
  const buffer = wasm.wasmMemory?.buffer ?? wasm.HEAPU8.buffer
  return new Int32Array(buffer)
}

/** Byte offset of a tensor's data on the heap. */
export function offsetOf(backend: Backend, info: Info): number {
  return backend.dataIdMap.get(info.dataId)!.memoryOffset
}

/** The C++ side's id of a tensor. */
export function idOf(backend: Backend, info: Info): number {
  return backend.dataIdMap.get(info.dataId)!.id
}

/** Float32 view of a tensor's data (valid until the next allocation). */
export function f32(backend: Backend, info: Info): Float32Array {
  const size = tf.util.sizeFromShape(info.shape)
  return heapF32(backend).subarray(offsetOf(backend, info) / 4, offsetOf(backend, info) / 4 + size)
}

export function i32(backend: Backend, info: Info): Int32Array {
  const size = tf.util.sizeFromShape(info.shape)
  return heapI32(backend).subarray(offsetOf(backend, info) / 4, offsetOf(backend, info) / 4 + size)
}

/**
 * Registers `size` elements at byte `offset` as a tensor for the C++ kernels, without copying.
 * Return its id; call `releaseView` when done (that also drops any XNNPACK operator the C++ side
 * cached for it).
 */
export function makeView(backend: Backend, offset: number, size: number): number {
  const b = backend as unknown as {dataIdNextNumber: number}
  const id = b.dataIdNextNumber++
  wasmOf(backend).tfjs.registerTensor(id, size, offset)
  return id
}

export function releaseView(backend: Backend, id: number): void {
  wasmOf(backend).tfjs.disposeData(id)
}

/** Run one of the backend's registered kernels (ours or the package's) on tensor infos. */
export function run(kernelName: string, backend: Backend, inputs: tf.NamedTensorInfoMap, attrs: Record<string, unknown> = {}): Info {
  const kernel = tf.getKernel(kernelName, 'wasm')
  if (!kernel) throw new Error(`kernel ${kernelName} is not registered for the wasm backend`)
  return kernel.kernelFunc({inputs, backend, attrs: attrs as tf.NamedAttrMap}) as Info
}

export function dispose(backend: Backend, ...infos: (Info | undefined)[]): void {
  for (const info of infos) if (info) backend.disposeData(info.dataId)
}

/** The same data under another shape (no copy; the caller must not dispose it separately). */
export function reshaped(info: Info, shape: number[]): Info {
  return {dataId: info.dataId, shape, dtype: info.dtype}
}

export function int32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(values).buffer)
}

/** The config of a kernel of the `wasm` backend computed by `kernelFunc`. */
export function wasmKernel(kernelName: string, kernelFunc: (args: KernelArgs) => Info | Info[]): tf.KernelConfig {
  return {kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc}
}

/** Throws unless every one of `infos` is float32 (`what` names the kernel). */
export function requireFloat32(what: string, ...infos: Info[]): void {
  for (const t of infos) if (t.dtype !== 'float32') throw new Error(`${what} needs float32 tensors, got ${t.dtype}`)
}

/** A shape read as (rows, last axis). */
export function rowsAndChannels(shape: number[]): [number, number] {
  const c = shape[shape.length - 1] ?? 1
  return [c === 0 ? 0 : tf.util.sizeFromShape(shape) / c, c]
}

/**
 * An optimizer kernel {param, grad, <state>...} → [param', <state>'...] (ops/weight-update.ts) that runs
 * the cpu backend's loop (`UpdateLoop`) on views of the heap: one pass, no copy.
 */
export function heapUpdateKernel<A>(kernelName: string, state: string[], loop: UpdateLoop<A>): tf.KernelConfig {
  return wasmKernel(kernelName, ({inputs, backend, attrs}) => {
    const named = inputs as Record<string, Info>
    const ins = ['param', 'grad', ...state].map((name) => named[name])
    const shape = ins[0].shape
    requireFloat32(kernelName, ...ins)
    for (const t of ins) if (!tf.util.arraysEqual(t.shape, shape)) throw new Error(`${kernelName} needs tensors of one shape, got ${shape} and ${t.shape}`)
    const outs = Array.from({length: 1 + state.length}, () => backend.makeOutput(shape, 'float32'))
    // Views after the allocations: they may have grown the memory.
    loop(
      ins.map((t) => f32(backend, t)),
      outs.map((t) => f32(backend, t)),
      attrs as unknown as A,
    )
    return outs
  })
}
