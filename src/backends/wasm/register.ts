/**
 * Every kernel the project registers for the `wasm` backend, one file each under kernels/: those
 * that replace (or add to) the package's outright, those that take over the common cases and hand
 * the rest to the package's own kernel, and — registered last — every other kernel the cpu backend
 * has, through a copy-to-cpu fallback (cpu-fallback.ts).
 */
import {tf} from '../../engine/tf.js'
import {registerCpuFallbacks} from './cpu-fallback.js'
import {adamConfig} from './kernels/adam.js'
import {adamwConfig} from './kernels/adamw.js'
import {batchNormConfigs} from './kernels/batchnorm.js'
import {conv2dBackpropFilterConfig, conv2dBackpropInputConfig, convForwardConfig} from './kernels/conv.js'
import {castConfig, identityConfig, transposeConfig} from './kernels/copy.js'
import {dropoutConfig} from './kernels/dropout.js'
import {geluConfigs} from './kernels/gelu.js'
import {layerNormConfigs} from './kernels/layernorm.js'
import {batchMatMulConfig, fusedMatMulConfig} from './kernels/matmul.js'
import {maxPoolGradConfig} from './kernels/pool.js'
import {reductionConfig} from './kernels/reduce.js'
import {sgdConfig} from './kernels/sgd.js'
import {softmaxGradConfig} from './kernels/softmax-grad.js'
import {tileConfig} from './kernels/tile.js'

/** Kernels that replace (or add to) the package's outright. */
const NEW_KERNELS: tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
  maxPoolGradConfig,
  adamConfig,
  adamwConfig,
  sgdConfig,
  ...batchNormConfigs,
  ...layerNormConfigs,
  dropoutConfig,
  ...geluConfigs,
  softmaxGradConfig,
]

/** Kernels that take over the common cases and hand the rest to the package's own kernel. */
const WRAPPED_KERNELS: Record<string, (original: tf.KernelConfig) => tf.KernelConfig> = {
  Conv2D: convForwardConfig,
  FusedConv2D: convForwardConfig,
  Tile: tileConfig,
  Transpose: transposeConfig,
  Identity: identityConfig,
  Cast: castConfig,
  Sum: (original) => reductionConfig('Sum', original),
  Mean: (original) => reductionConfig('Mean', original),
}

/** Names of the kernels this module registers for `wasm` (besides the cpu fallbacks). */
export const WASM_KERNELS: string[] = [...NEW_KERNELS.map((k) => k.kernelName), ...Object.keys(WRAPPED_KERNELS)]

/** Registers every kernel above, then the cpu fallbacks; returns how many fallbacks. */
export function registerWasmKernels(): number {
  for (const config of NEW_KERNELS) {
    if (tf.getKernel(config.kernelName, 'wasm')) tf.unregisterKernel(config.kernelName, 'wasm')
    tf.registerKernel(config)
  }
  for (const [name, wrap] of Object.entries(WRAPPED_KERNELS)) {
    const original = tf.getKernel(name, 'wasm')
    if (!original) throw new Error(`@tensorflow/tfjs-backend-wasm has no ${name} kernel to extend`)
    tf.unregisterKernel(name, 'wasm')
    tf.registerKernel(wrap(original))
  }
  return registerCpuFallbacks().length
}
