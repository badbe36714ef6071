/** `MixtureSgd` for the cpu backend: one fused loop (also what the wasm backend runs on its heap). */
import type {tf} from '../../../engine/tf.js'
import {SGD, sgdBufferScales, type SgdAttrs} from '../../../ops/sgd.js'
import {updateKernelConfig, type UpdateLoop} from '../internals.js'

/** PyTorch's SGD on plain arrays: [param, grad, momentum] → [param', momentum']. */
export const sgdLoop: UpdateLoop<SgdAttrs> = ([p, g, b], [outP, outB], a) => {
  const {keep, take} = sgdBufferScales(a)
  const {lr, momentum, nesterov, weightDecay} = a
  for (let i = 0; i < p.length; i++) {
    const gi = Math.fround(g[i] + weightDecay * p[i])
    const bi = Math.fround(keep * b[i] + take * gi)
    outB[i] = bi
    outP[i] = p[i] - lr * (nesterov ? Math.fround(gi + momentum * bi) : bi)
  }
}

export const sgdConfig: tf.KernelConfig = updateKernelConfig(SGD.kernel, SGD.state, sgdLoop)
