/**
 * `Conv2D` and `FusedConv2D` (bias and/or ReLU; NHWC) on WebGPU: large convolutions as implicit
 * products on the 128×128-tile kernel (../programs/gemm.ts `convGemm`; the stride-1 input gradients
 * that conv-backprop-input.ts runs as forward convolutions too), the rest on tfjs's own programs —
 * in mixed16 on kernels that round inside instead: the product kernel's 'wide' plan where it can read
 * them, else the narrow kernel (../programs/narrow-conv.ts: the 3-channel image's convolutions, those
 * to a few channels).
 * Kernel tuning (../tune.ts) times each call's routes: this one, tfjs's, the product kernel's plan
 * variants and the narrow kernel.
 */
import {tf} from '../../../engine/tf.js'
import {convGemm, epilogueOf, gemmVariantRoutes, type Backend, type ConvArgs, type GemmEpilogue} from '../programs/gemm.js'
import type {GemmVariant} from '../programs/gemm-plan.js'
import {narrowConv} from '../programs/narrow-conv.js'
import {insteadOfRoundedTfjs} from '../precision.js'
import type {TunedKernel} from '../tune.js'

type ConvAttrs = Omit<ConvArgs, 'x' | 'filter' | 'bias' | 'epilogue'> & {dataFormat: 'NHWC' | 'NCHW'; activation?: string}

/** A (fused) convolution's operands and epilogue, or undefined for one the project's kernels do not take. */
function convOperands(args: Parameters<tf.KernelFunc>[0]): (ConvAttrs & {x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo; epilogue: GemmEpilogue}) | undefined {
  const {x, filter, bias, preluActivationWeights} = args.inputs as Record<string, tf.TensorInfo | undefined>
  const attrs = args.attrs as unknown as ConvAttrs
  const epilogue = epilogueOf(bias, attrs.activation)
  if (!x || !filter || preluActivationWeights || !epilogue || attrs.dataFormat === 'NCHW') return undefined
  return {...attrs, x, filter, bias, epilogue}
}

function conv(args: Parameters<tf.KernelFunc>[0], variant: GemmVariant): tf.TensorInfo | undefined {
  const c = convOperands(args)
  return c && convGemm(args.backend as unknown as Backend, {...c, variant})
}

function narrow(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | undefined {
  const c = convOperands(args)
  if (!c || c.x.shape.length !== 4 || c.filter.shape.length !== 4) return undefined
  const info = tf.backend_util.computeConv2DInfo(
    c.x.shape as [number, number, number, number],
    c.filter.shape as [number, number, number, number],
    c.strides,
    c.dilations ?? 1,
    c.pad as never,
    c.dimRoundingMode,
    false,
    'channelsLast',
  )
  return narrowConv(args.backend as unknown as Backend, {x: c.x, filter: c.filter, bias: c.bias, relu: c.epilogue === 'relu' || c.epilogue === 'bias-relu', info})
}

export const convKernels: TunedKernel[] = ['Conv2D', 'FusedConv2D'].map((kernelName) => ({
  kernelName,
  // In mixed16 a convolution the rules leave to tfjs takes the product kernel wherever it can read the rows as vec4, else the narrow kernel.
  wrap: (run) => (args) => conv(args, 'default') ?? insteadOfRoundedTfjs(() => conv(args, 'wide') ?? narrow(args)) ?? run(args),
  alternatives: () => ({...gemmVariantRoutes(conv), narrow}),
}))
