/**
 * `Transpose` with an identity permutation shares its input's buffer on WebGPU instead of running a
 * copy. tfjs-layers' Dense on a rank-3 input (every token-wise projection of the ViT and Perceiver)
 * transposes its 2-D kernel by [0, 1] on every call, and the gradient does it again: 120 dispatches
 * per Perceiver training step, 246 for the 2-block Perceiver mixture. Other permutations run the
 * backend's own kernel.
 */
import type {tf} from '../../../engine/tf.js'
import type {KernelWrapper} from '../runner.js'

export const identityTransposeKernel: KernelWrapper = {
  kernelName: 'Transpose',
  wrap: (run) => (args) => {
    const x = args.inputs.x as tf.TensorInfo
    const perm = (args.attrs as unknown as {perm: number[]}).perm
    if (perm.every((p, i) => p === i)) {
      ;(args.backend as unknown as {incRef(dataId: object): void}).incRef(x.dataId)
      return {dataId: x.dataId, shape: [...x.shape], dtype: x.dtype}
    }
    return run(args)
  },
}
