/** The project's kernels for the `cpu` backend, one file each under kernels/. */
import {tf} from '../../engine/tf.js'
import {adamConfig} from './kernels/adam.js'
import {adamwConfig} from './kernels/adamw.js'
import {dropoutConfig} from './kernels/dropout.js'
import {sgdConfig} from './kernels/sgd.js'

export const CPU_KERNELS: tf.KernelConfig[] = [dropoutConfig, adamConfig, adamwConfig, sgdConfig]

let registered = false

/** Registers every kernel of `CPU_KERNELS` (once per process). */
export function registerCpuKernels(): void {
  if (registered) return
  registered = true
  for (const config of CPU_KERNELS) tf.registerKernel(config)
}
