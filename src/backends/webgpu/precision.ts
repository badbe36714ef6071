/**
 * engine.precision on WebGPU (../../engine/precision.ts says what each means). In `mixed16` every
 * product and convolution — forward, both gradients, tfjs's programs and the project's alike, on
 * whichever route kernel tuning chose — takes operands rounded to float16 and rounds its result to
 * float16 (programs/half-round.ts), accumulating in float32 in between: the values PyTorch's
 * autocast(float16) computes with (a product of two float16 values is exact in float32, so the sums
 * are the same as a tensor core's float16 × float16 + float32, in another order). A fused bias and
 * ReLU are applied before the result is rounded, as cuBLAS's epilogues do. Everything else (norms,
 * softmax, the loss, element-wise ops, the optimizer) computes in float32, as under autocast.
 *
 * What this does not do yet: keep activations in float16 in memory (tfjs-core has no float16 dtype,
 * so they are float32 buffers holding float16 values), or run the products on tensor cores (WGSL has
 * no matrix instructions without Dawn's experimental subgroup matrices). It gives AMP's numerics, not
 * its speed: the rounding passes make a step slower than fp32. docs/mixed-precision.md.
 *
 * Wrapped outermost, after every other route of these kernels (register.ts), and only where the
 * device has `shader-f16`, so that a backend that says mixed16 has the feature the float16 kernels
 * that will store float16 need.
 */
import {tf} from '../../engine/tf.js'
import {UsageError} from '../../errors.js'
import type {Precision} from '../../engine/precision.js'
import {STRIDED_MATMUL_KERNEL} from '../../ops/strided-matmul.js'
import {adapterName, webgpuAdapterInfo} from './adapter.js'
import {halfRound} from './programs/half-round.js'
import {wrapWebgpuKernel, type WebgpuBackendInternals} from './runner.js'

/** The products and convolutions, and which of their inputs are operands (a bias is not rounded). */
const PRODUCT_OPERANDS: Record<string, string[]> = {
  BatchMatMul: ['a', 'b'],
  _FusedMatMul: ['a', 'b'],
  [STRIDED_MATMUL_KERNEL]: ['a', 'b'],
  Conv2D: ['x', 'filter'],
  FusedConv2D: ['x', 'filter'],
  Conv2DBackpropInput: ['dy', 'filter'],
  Conv2DBackpropFilter: ['x', 'dy'],
  DepthwiseConv2dNative: ['x', 'filter'],
  FusedDepthwiseConv2D: ['x', 'filter'],
  DepthwiseConv2dNativeBackpropInput: ['dy', 'filter'],
  DepthwiseConv2dNativeBackpropFilter: ['x', 'dy'],
}

let precision: Precision = 'fp32'

/** The precision the webgpu backend's products compute in. */
export function productPrecision(): Precision {
  return precision
}

/** Sets it, or throws a UsageError where the device lacks float16 (engine/backend.ts calls this once the backend is active). */
export function setProductPrecision(value: Precision): void {
  const info = webgpuAdapterInfo()
  if (value === 'mixed16' && !info?.shaderF16) {
    throw new UsageError(`engine.precision: mixed16 needs a WebGPU adapter with shader-f16 (float16 in shaders); ${info ? adapterName(info) : 'this adapter'} lacks it. Use engine.precision: fp32 on it`)
  }
  precision = value
}

/** `kernelName`'s function with its operands and result rounded to float16 while the precision is mixed16. */
function roundedProduct(kernelName: string, original: tf.KernelFunc): tf.KernelFunc {
  const operands = PRODUCT_OPERANDS[kernelName]
  return (args) => {
    if (precision === 'fp32') return original(args)
    const backend = args.backend as unknown as WebgpuBackendInternals & tf.KernelBackend
    const inputs: tf.NamedTensorInfoMap = {...args.inputs}
    const made: tf.TensorInfo[] = []
    for (const name of operands) {
      const t = inputs[name]
      if (t?.dtype !== 'float32') continue
      inputs[name] = halfRound(backend, t)
      made.push(inputs[name]!)
    }
    const out = original({...args, inputs})
    const outs = Array.isArray(out) ? out : [out]
    const kept = new Set(outs.map((o) => o.dataId))
    for (const t of made) if (!kept.has(t.dataId)) backend.disposeData(t.dataId)
    const rounded = outs.map((o) => {
      if (o.dtype !== 'float32') return o
      const r = halfRound(backend, o)
      backend.disposeData(o.dataId)
      return r
    })
    return Array.isArray(out) ? rounded : rounded[0]
  }
}

/** Wraps every product and convolution registered on webgpu (once per process; call after their other routes). */
export function wrapProductsForPrecision(): void {
  for (const kernelName of Object.keys(PRODUCT_OPERANDS)) wrapWebgpuKernel(kernelName, (original) => roundedProduct(kernelName, original), 'precision')
}
