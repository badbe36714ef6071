/**
 * LayerNorm over the last axis (nn.LayerNorm(dim)), γ and β of shape [D]; differentiable in x, γ, β.
 * Over several trailing axes it is the normalisation op (norm.ts), which is also the composite.
 *
 * Kernels (the webgpu and wasm backends register them):
 *   `MixtureLayerNorm` {x, gamma, beta}, attrs {epsilon} → [y, mean, rstd] (mean and 1/σ per row)
 *   `MixtureLayerNormGrad` {dy, x, mean, rstd, gamma} → [dx, dgamma, dbeta]
 */
import {tf} from '../engine/tf.js'
import {customOp, hasKernels, runKernel, type OpContract} from './contract.js'
import {normalize, normalizeComposite} from './norm.js'

export const LN_KERNEL = 'MixtureLayerNorm'
export const LN_GRAD_KERNEL = 'MixtureLayerNormGrad'

/** Whether the active backend has the fused LayerNorm kernels. */
export function hasFusedLayerNorm(): boolean {
  return hasKernels(LN_KERNEL, LN_GRAD_KERNEL)
}

/** LayerNorm of `x` over its last `axes` axes (γ, β shaped like them): through the kernels where the backend has them (one axis). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number, axes = 1): tf.Tensor {
  if (axes === 1 && hasFusedLayerNorm()) return layerNormFused(x, gamma, beta, epsilon)
  return normalize(x, gamma, beta, trailingAxes(x, axes), epsilon)
}

function trailingAxes(x: tf.Tensor, axes: number): number[] {
  return Array.from({length: axes}, (_, i) => x.rank - axes + i)
}

/** LayerNorm over the last axis through `MixtureLayerNorm` and `MixtureLayerNormGrad`. */
export function layerNormFused(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  const op = customOp((xi: tf.Tensor, g: tf.Tensor, bt: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, rstd] = runKernel<tf.Tensor[]>(LN_KERNEL, {x: xi, gamma: g, beta: bt}, {epsilon})
    save([xi, mean, rstd, g])
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sRstd, sGamma] = saved
        const [dx, dGamma, dBeta] = runKernel<tf.Tensor[]>(LN_GRAD_KERNEL, {dy, x: sx, mean: sMean, rstd: sRstd, gamma: sGamma})
        return [dx, tf.reshape(dGamma, sGamma.shape), tf.reshape(dBeta, sGamma.shape)]
      },
    }
  })
  return op(x, gamma, beta)
}

export const layerNormOp: OpContract = {
  name: 'layernorm',
  summary: 'LayerNorm over the last axis',
  kernels: [LN_KERNEL, LN_GRAD_KERNEL],
  example: () => [tf.randomUniform([3, 7, 40], -2, 3, 'float32', 31), tf.randomUniform([40], 0.5, 1.5, 'float32', 32), tf.randomUniform([40], -0.5, 0.5, 'float32', 33)],
  fused: ([x, g, b]) => [layerNormFused(x, g, b, 1e-5)],
  composite: ([x, g, b]) => [normalizeComposite(x, g, b, [2], 1e-5)],
  gradients: [0, 1, 2],
  tolerance: 1e-4,
}
