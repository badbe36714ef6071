/**
 * Every kernel of the `native` backend, one file each under kernels/, and their registration: the
 * cpu backend's kernels first (the native backend keeps its storage and cheap kernels, the project's
 * own included), then these over them, each handing the inputs it does not cover to the cpu kernel
 * of the same name.
 */
import {tf} from '../../engine/tf.js'
import type {NativeAddon} from './addon.js'
import type {Args, NativeKernel} from './kernel.js'
import {adamKernel} from './kernels/adam.js'
import {adamwKernel} from './kernels/adamw.js'
import {addNKernel} from './kernels/add-n.js'
import {argMaxKernel} from './kernels/arg-max.js'
import {binaryKernels} from './kernels/binary.js'
import {concatKernel} from './kernels/concat.js'
import {convKernels} from './kernels/conv.js'
import {dropoutKernel} from './kernels/dropout.js'
import {fillKernels} from './kernels/fill.js'
import {fusedBatchNormKernel} from './kernels/fused-batchnorm.js'
import {geluKernels} from './kernels/gelu.js'
import {matMulKernels} from './kernels/matmul.js'
import {normKernels} from './kernels/norm.js'
import {padV2Kernel} from './kernels/pad.js'
import {poolKernels} from './kernels/pool.js'
import {reduceKernels} from './kernels/reduce.js'
import {sliceKernels} from './kernels/slice.js'
import {softmaxKernel} from './kernels/softmax.js'
import {sgdKernel} from './kernels/sgd.js'
import {softmaxGradKernel} from './kernels/softmax-grad.js'
import {tileKernel} from './kernels/tile.js'
import {transposeKernel} from './kernels/transpose.js'
import {unaryKernels} from './kernels/unary.js'

export const NATIVE_BACKEND = 'native'

export const NATIVE_KERNELS: NativeKernel[] = [
  ...unaryKernels,
  ...binaryKernels,
  ...reduceKernels,
  softmaxKernel,
  argMaxKernel,
  ...fillKernels,
  transposeKernel,
  tileKernel,
  padV2Kernel,
  ...sliceKernels,
  dropoutKernel,
  concatKernel,
  addNKernel,
  fusedBatchNormKernel,
  ...poolKernels,
  ...convKernels,
  ...matMulKernels,
  adamKernel,
  adamwKernel,
  sgdKernel,
  ...normKernels,
  softmaxGradKernel,
  ...geluKernels,
]

/** `kernel` as a config of the `native` backend, falling back to the cpu kernel where `run` returns undefined. */
function withFallback({kernelName, run}: NativeKernel, addon: NativeAddon): tf.KernelConfig {
  const cpu = tf.getKernel(kernelName, 'cpu')?.kernelFunc
  return {
    kernelName,
    backendName: NATIVE_BACKEND,
    kernelFunc: (args: Args) => {
      const result = run(args, addon)
      if (result !== undefined) return result
      if (!cpu) throw new Error(`native backend: no kernel ${kernelName} for these inputs and no cpu kernel to fall back to`)
      return cpu(args)
    },
  }
}

/** Registers the cpu backend's kernels for `native`, then `NATIVE_KERNELS` over them. */
export function registerNativeKernels(addon: NativeAddon): void {
  const configs = [...tf.getKernelsForBackend('cpu').map((config) => ({...config, backendName: NATIVE_BACKEND})), ...NATIVE_KERNELS.map((kernel) => withFallback(kernel, addon))]
  for (const config of configs) {
    if (tf.getKernel(config.kernelName, NATIVE_BACKEND)) tf.unregisterKernel(config.kernelName, NATIVE_BACKEND)
    tf.registerKernel(config)
  }
}
