/**
 * What a kernel of the `native` backend is, and the float32 buffers it reads and writes. A kernel runs
 * on the `cpu` backend's storage: it hands the input Float32Arrays to the addon as they are, lets it
 * write into a fresh Float32Array (from the backend's pool) and gives that to `makeTensorInfo`.
 * Anything a kernel does not cover (other dtypes, NCHW, unusual broadcasts) it hands to the `cpu`
 * kernel of the same name by returning undefined (register.ts).
 */
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu'
import type {tf} from '../../engine/tf.js'
import type {NativeAddon} from './addon.js'
import {NativeBackend} from './storage.js'

export type TensorInfo = tf.TensorInfo
export type Args = Parameters<tf.KernelFunc>[0]
export type Attrs = Record<string, unknown>
export type {MathBackendCPU}

/** One kernel: the addon's computation for `kernelName`, or undefined for inputs it leaves to the cpu kernel. */
export interface NativeKernel {
  kernelName: string
  run(args: Args, addon: NativeAddon): TensorInfo | TensorInfo[] | undefined
}

export function values(backend: MathBackendCPU, t: TensorInfo): Float32Array | undefined {
  if (t.dtype !== 'float32') return undefined
  const v = backend.data.get(t.dataId).values
  return v instanceof Float32Array ? v : undefined
}

/** An output buffer: from the backend's pool when it has one. */
export function alloc(backend: MathBackendCPU, n: number): Float32Array {
  return backend instanceof NativeBackend ? backend.alloc(n) : new Float32Array(n)
}

export function out(backend: MathBackendCPU, shape: number[], data: Float32Array): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', data)
}

export function size(shape: number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}
