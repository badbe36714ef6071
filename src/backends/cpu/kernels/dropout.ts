/** `MixtureDropout` for the cpu backend: the reference loop (ops/dropout.ts) on the tensor's values. */
import {tf} from '../../../engine/tf.js'
import {DROPOUT_KERNEL, dropoutLoop, type DropoutAttrs} from '../../../ops/dropout.js'
import type {CpuBackendLike} from '../internals.js'

export const dropoutConfig: tf.KernelConfig = {
  kernelName: DROPOUT_KERNEL,
  backendName: 'cpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as CpuBackendLike
    const x = inputs.x as tf.TensorInfo
    const {rate, seed} = attrs as unknown as DropoutAttrs
    const out = new Float32Array(tf.util.sizeFromShape(x.shape))
    dropoutLoop(b.data.get(x.dataId).values, out, rate, seed)
    return b.makeTensorInfo(x.shape, 'float32', out)
  },
}
