/** The parts of tfjs-backend-cpu's `MathBackendCPU` that the project's cpu kernels use, and the shape of its optimizer kernels. */
import {tf} from '../../engine/tf.js'

export interface CpuBackendLike {
  data: {get(id: unknown): {values: Float32Array}}
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo
}

/**
 * An optimizer kernel (ops/weight-update.ts) on plain arrays: reads [param, grad, ...state] and writes
 * [param', ...state'], all of one length.
 */
export type UpdateLoop<A> = (inputs: Float32Array[], outputs: Float32Array[], attrs: A) => void

/** The cpu kernel `kernelName` {param, grad, <state>...} → [param', <state>'...] running `loop`. */
export function updateKernelConfig<A>(kernelName: string, state: string[], loop: UpdateLoop<A>): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'cpu',
    kernelFunc: ({inputs, backend, attrs}) => {
      const b = backend as unknown as CpuBackendLike
      const named = inputs as Record<string, tf.TensorInfo>
      const param = named.param
      const n = tf.util.sizeFromShape(param.shape)
      const outputs = [param, ...state].map(() => new Float32Array(n))
      loop(['param', 'grad', ...state].map((name) => b.data.get(named[name].dataId).values), outputs, attrs as unknown as A)
      return outputs.map((values) => b.makeTensorInfo(param.shape, 'float32', values))
    },
  }
}
