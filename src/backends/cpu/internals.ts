/** The parts of tfjs-backend-cpu's `MathBackendCPU` that the project's cpu kernels use. */
import type {tf} from '../../engine/tf.js'

export interface CpuBackendLike {
  data: {get(id: unknown): {values: Float32Array}}
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo
}
