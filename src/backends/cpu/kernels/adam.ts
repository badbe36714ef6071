/** `MixtureAdam` for the cpu backend: one fused loop instead of ~12 element-wise kernels. */
import type {tf} from '../../../engine/tf.js'
import {ADAM, type AdamAttrs} from '../../../ops/adam.js'
import {updateKernelConfig} from '../internals.js'

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

export const adamConfig: tf.KernelConfig = updateKernelConfig<AdamAttrs>(ADAM.kernel, ADAM.state, ([p, g, m, v], [outP, outM, outV], a) => adamLoop(p, g, m, v, outP, outM, outV, a))
