/** The fused epilogue of the convolution and product kernels: a per-channel bias and PReLU. */
import {tf} from '../../engine/tf.js'
import {B, type NativeAddon} from './addon.js'
import {alloc, out, size, values, type MathBackendCPU, type TensorInfo} from './kernel.js'

const {backend_util} = tf

/** A bias the fused kernels can take as a per-output-channel vector: numel = channels and only the last axis non-1. */
export function channelBias(backend: MathBackendCPU, bias: TensorInfo | undefined, channels: number): Float32Array | null | undefined {
  if (bias == null) return null
  const v = values(backend, bias)
  if (!v || v.length !== channels || bias.shape[bias.shape.length - 1] !== channels) return undefined
  return v
}

export function prelu(backend: MathBackendCPU, n: NativeAddon, shape: number[], y: Float32Array, alpha: TensorInfo | undefined): TensorInfo | undefined {
  const av = alpha && values(backend, alpha)
  if (!alpha || !av) return undefined
  const outShape = backend_util.assertAndGetBroadcastShape(shape, alpha.shape)
  const z = alloc(backend, size(outShape))
  n.binary(B.prelu, y, shape, av, alpha.shape, z, outShape)
  return out(backend, outShape, z)
}
