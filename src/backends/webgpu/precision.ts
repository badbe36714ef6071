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
 * Where the rounding happens: the project's product kernels round each operand value as they load
 * it and each result as they write it (`productRounding`: no dispatch and no memory of its own; where
 * k is split, the pass that adds the slices rounds the result). tfjs's own programs cannot, so
 * `roundTfjsProducts` wraps them with a rounding pass for each operand and one for the result —
 * beneath the project's routes, which hand it the calls they do not take.
 *
 * What this does not do yet: keep activations in float16 in memory (tfjs-core has no float16 dtype,
 * so they are float32 buffers holding float16 values), or run the products on tensor cores (WGSL has
 * no matrix instructions without Dawn's experimental subgroup matrices). It gives AMP's numerics, not
 * its speed. docs/mixed-precision.md.
 *
 * Only where the device has `shader-f16`, so that a backend that says mixed16 has the feature the
 * float16 kernels that will store float16 need.
 */
import {tf} from '../../engine/tf.js'
import {UsageError} from '../../errors.js'
import type {Precision} from '../../engine/precision.js'
import {adapterName, webgpuAdapterInfo} from './adapter.js'
import {halfRound, roundingWgsl} from './programs/half-round.js'
import {wrapWebgpuKernel, type WebgpuBackendInternals} from './runner.js'

/**
 * tfjs's products and convolutions, and which of their inputs are operands (a bias is not rounded).
 * `MixtureStridedMatMul` is the project's alone (where it is not registered, attention computes
 * through `BatchMatMul`).
 */
const PRODUCT_OPERANDS: Record<string, string[]> = {
  BatchMatMul: ['a', 'b'],
  _FusedMatMul: ['a', 'b'],
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

/**
 * How a product kernel of the project rounds: WGSL defining `roundOperand`, `roundOperand4`,
 * `roundResult` and `roundResult4` (programs/half-round.ts `roundingWgsl`), and the suffix its
 * pipeline key takes.
 */
export interface ProductRounding {
  key: string
  wgsl: string
}

export type ProductPart = 'whole' | 'slices' | 'sum'

/** A kernel that rounds nothing (a sum that is not a product's). */
export const NO_ROUNDING: ProductRounding = {key: '', wgsl: roundingWgsl({operands: false, result: false})}

/** Each part's float16 rounding (made once: every product dispatch asks for one). */
const HALF_ROUNDING: Record<ProductPart, ProductRounding> = Object.fromEntries(
  (['whole', 'slices', 'sum'] as const).map((part) => [part, {key: `-half-${part}`, wgsl: roundingWgsl({operands: part !== 'sum', result: part !== 'slices'})}]),
) as Record<ProductPart, ProductRounding>

/**
 * How a product kernel rounds at the precision set now (nothing in fp32). `part`: the whole product
 * (operands and result), or, where k is split, the dispatch that computes the slices (operands) and
 * the pass that adds them (result).
 */
export function productRounding(part: ProductPart = 'whole'): ProductRounding {
  return precision === 'fp32' ? NO_ROUNDING : HALF_ROUNDING[part]
}

/**
 * `take()` in mixed16, undefined in fp32: a route of the project's asks it for a call it would
 * otherwise hand to tfjs, whose program would then need a rounding pass over each operand and one
 * over the result, and `take` runs the call on a kernel of the project's that rounds inside.
 */
export function insteadOfRoundedTfjs(take: () => tf.TensorInfo | undefined): tf.TensorInfo | undefined {
  return precision === 'mixed16' ? take() : undefined
}

/** tfjs's `kernelName` with its operands and result rounded to float16 by passes of their own while the precision is mixed16. */
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

/** Wraps tfjs's products and convolutions on webgpu (once per process; call before the project's routes wrap them). */
export function roundTfjsProducts(): void {
  for (const kernelName of Object.keys(PRODUCT_OPERANDS)) wrapWebgpuKernel(kernelName, (original) => roundedProduct(kernelName, original), 'precision')
}
