/**
 * Every kernel the project registers for the `webgpu` backend, one file each under kernels/, and
 * the backend's hooks for the trainer (step replay, in-place metric sums and optimizer updates, per-step values,
 * kernel tuning): the one place that decides what loads, once, when the backend loads.
 *
 * Always: dropout (without it the fallback reads back to the CPU), the in-place metric sums, step
 * replay, and an identity `Transpose` that shares its input's buffer. The rest only saves time, and
 * MIXTURE_WEBGPU_FUSED=0 leaves it out so that tfjs's composites can be compared; within it
 * MIXTURE_WEBGPU_ATTENTION, _MATMUL, _CONV_FILTER, _COLUMN_SUM and the conv input switches leave
 * out one kernel each (switches.ts). Beneath the project's routes, tfjs's products round their
 * operands and results in mixed16 (precision.ts); the project's kernels round as they load and store.
 */
import {tf} from '../../engine/tf.js'
import {registerKernelTuner} from '../../engine/kernel-tuning.js'
import {registerStepGraphs} from '../../engine/step-graph.js'
import {registerInPlaceUpdate, type InPlaceUpdate} from '../../ops/weight-update.js'
import {registerInPlaceMetrics} from '../../ops/metric-sums.js'
import {LOSS_SCALE_VALUES, registerInPlaceUnscale} from '../../ops/loss-scale.js'
import {registerInPlaceStore} from '../../ops/store.js'
import {createStepGraphs} from './graph.js'
import {adamConfig, adamInPlace, adamProgram} from './kernels/adam.js'
import {adamwConfig, adamwInPlace, adamwProgram} from './kernels/adamw.js'
import {batchNormConfigs} from './kernels/batchnorm.js'
import {convKernels} from './kernels/conv.js'
import {convBackpropFilterKernel} from './kernels/conv-backprop-filter.js'
import {convBackpropInputKernel} from './kernels/conv-backprop-input.js'
import {crossEntropyConfigs} from './kernels/cross-entropy.js'
import {dropoutConfig, dropoutStepValues} from './kernels/dropout.js'
import {gegluConfigs} from './kernels/geglu.js'
import {geluConfigs} from './kernels/gelu.js'
import {layerNormConfigs} from './kernels/layernorm.js'
import {inPlaceUnscale, lossScaleConfig} from './kernels/loss-scale.js'
import {matMulKernels} from './kernels/matmul.js'
import {inPlaceMetricSums} from './kernels/metric-sums.js'
import {reluGradConfig} from './kernels/relu-grad.js'
import {sgdConfig, sgdInPlace, sgdProgram} from './kernels/sgd.js'
import {softmaxGradConfig} from './kernels/softmax-grad.js'
import {inPlaceStore} from './kernels/store.js'
import {stridedMatMulConfig} from './kernels/strided-matmul.js'
import {columnSumKernel} from './kernels/sum.js'
import {identityTransposeKernel} from './kernels/transpose.js'
import {roundTfjsProducts} from './precision.js'
import {registerStepValues, wrapWebgpuKernel, type KernelWrapper} from './runner.js'
import {webgpuSwitch} from './switches.js'
import {createKernelTuner, wrapTunedKernel, type TunedKernel} from './tune.js'

/** The kernels that only save time, in the order they are registered. */
function fusedKernels(): {kernels: tf.KernelConfig[]; tuned: TunedKernel[]; wrapped: KernelWrapper[]} {
  const convInput = convBackpropInputKernel()
  return {
    kernels: [
      adamConfig,
      adamwConfig,
      sgdConfig,
      ...batchNormConfigs,
      ...layerNormConfigs,
      ...geluConfigs,
      reluGradConfig,
      ...gegluConfigs,
      softmaxGradConfig,
      ...crossEntropyConfigs,
      ...(webgpuSwitch('attention') ? [stridedMatMulConfig] : []),
    ],
    tuned: [
      ...(convInput ? [convInput] : []),
      ...(webgpuSwitch('matmul') ? [...matMulKernels, ...convKernels] : []),
      ...(webgpuSwitch('convFilter') ? [convBackpropFilterKernel] : []),
    ],
    wrapped: webgpuSwitch('columnSum') ? [columnSumKernel] : [],
  }
}

let registered = false

/** Registers the kernels and hooks above (once per process), with the switches as they are now. */
export function registerWebgpuKernels(): void {
  if (registered) return
  registered = true
  registerStepValues(dropoutStepValues)
  tf.registerKernel(dropoutConfig)
  // Always: a loss scale must reach a replayed step as a per-step value (ops/loss-scale.ts), and the
  // loss-scaled step's halves share their gradients through variables written in place (ops/store.ts;
  // the unscaled gradients in one dispatch each, ops/loss-scale.ts).
  registerStepValues(LOSS_SCALE_VALUES)
  tf.registerKernel(lossScaleConfig)
  registerInPlaceUnscale('webgpu', inPlaceUnscale)
  registerInPlaceStore('webgpu', inPlaceStore)
  registerInPlaceMetrics('webgpu', inPlaceMetricSums)
  registerStepGraphs('webgpu', createStepGraphs)
  wrapWebgpuKernel(identityTransposeKernel.kernelName, identityTransposeKernel.wrap)
  // tfjs's products, before the project's routes wrap them: a route hands a call it does not take to
  // tfjs rounded, and the project's kernels round themselves (engine.precision holds whichever runs).
  roundTfjsProducts()
  if (webgpuSwitch('fused')) registerFusedKernels()
}

function registerFusedKernels(): void {
  registerKernelTuner('webgpu', createKernelTuner)
  for (const [program, inPlace] of [
    [adamProgram, adamInPlace],
    [adamwProgram, adamwInPlace],
    [sgdProgram, sgdInPlace],
  ] as const) {
    registerStepValues(program.stepValues)
    registerInPlaceUpdate('webgpu', program.kernel, inPlace as InPlaceUpdate<never>)
  }
  const {kernels, tuned, wrapped} = fusedKernels()
  for (const config of kernels) tf.registerKernel(config)
  for (const {kernelName, wrap} of wrapped) wrapWebgpuKernel(kernelName, wrap)
  for (const {kernelName, wrap, alternatives} of tuned) wrapTunedKernel(kernelName, wrap, alternatives)
}
