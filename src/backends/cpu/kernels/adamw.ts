/** `MixtureAdamW` for the cpu backend: one fused loop (also what the wasm backend runs on its heap). */
import type {tf} from '../../../engine/tf.js'
import type {AdamAttrs} from '../../../ops/adam.js'
import {ADAMW} from '../../../ops/adamw.js'
import {updateKernelConfig, type UpdateLoop} from '../internals.js'

/** PyTorch's AdamW on plain arrays: [param, grad, m, v] → [param', m', v']. */
export const adamwLoop: UpdateLoop<AdamAttrs> = ([p, g, m, v], [outP, outM, outV], a) => {
  const decay = 1 - a.lr * a.weightDecay
  const stepSize = a.lr / (1 - a.beta1 ** a.step)
  const bc2 = Math.sqrt(1 - a.beta2 ** a.step)
  const b1 = a.beta1
  const b2 = a.beta2
  for (let i = 0; i < p.length; i++) {
    // PyTorch decays the weight in place (a float32 result) before the step.
    const pi = Math.fround(p[i] * decay)
    const gi = g[i]
    const mi = b1 * m[i] + (1 - b1) * gi
    const vi = b2 * v[i] + (1 - b2) * gi * gi
    outM[i] = mi
    outV[i] = vi
    outP[i] = pi - (stepSize * mi) / (Math.sqrt(vi) / bc2 + a.eps)
  }
}

export const adamwConfig: tf.KernelConfig = updateKernelConfig(ADAMW.kernel, ADAMW.state, adamwLoop)
