/** `MixtureAdam` for the cpu backend: one fused loop instead of ~12 element-wise kernels. */
import {tf} from '../../../engine/tf.js'
import {ADAM_KERNEL, type AdamAttrs} from '../../../ops/adam.js'
import type {CpuBackendLike} from '../internals.js'

/** The fused update on plain arrays (shared by the cpu kernel and tests). */
export function adamLoop(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, outP: Float32Array, outM: Float32Array, outV: Float32Array, a: AdamAttrs): void {
  const bc1 = 1 - a.beta1 ** a.step
  const bc2 = Math.sqrt(1 - a.beta2 ** a.step)
  const stepSize = a.lr / bc1
  const b1 = a.beta1
  const b2 = a.beta2
  const wd = a.weightDecay
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] + wd * p[i]
    const mi = b1 * m[i] + (1 - b1) * gi
    const vi = b2 * v[i] + (1 - b2) * gi * gi
    outM[i] = mi
    outV[i] = vi
    outP[i] = p[i] - (stepSize * mi) / (Math.sqrt(vi) / bc2 + a.eps)
  }
}

export const adamConfig: tf.KernelConfig = {
  kernelName: ADAM_KERNEL,
  backendName: 'cpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as CpuBackendLike
    const {param, grad, m, v} = inputs as Record<string, tf.TensorInfo>
    const n = tf.util.sizeFromShape(param.shape)
    const out = [new Float32Array(n), new Float32Array(n), new Float32Array(n)]
    const get = (t: tf.TensorInfo) => b.data.get(t.dataId).values
    adamLoop(get(param), get(grad), get(m), get(v), out[0], out[1], out[2], attrs as unknown as AdamAttrs)
    return out.map((values) => b.makeTensorInfo(param.shape, 'float32', values))
  },
}
