/**
 * Normalisation over any set of axes with a closed-form gradient: the op under LayerNorm over
 * several trailing axes and under training-mode BatchNorm where the backend has no BatchNorm kernels.
 *
 *   y = (x − mean) · rstd · γ + β, mean and variance over `axes` (biased), rstd = 1/√(variance + ε),
 *   γ and β broadcast against x.
 * Gradients: dβ = Σ dy, dγ = Σ dy·x̂, dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ, where the sums
 * run over the axes not in γ's shape and the means over `axes`. tfjs-layers' LayerNormalization tiles
 * γ and β to the input's shape instead (one Slice + Add per row in the backward pass).
 *
 * Kernels (a backend may register both; the native one does):
 *   `MixtureNorm` {x, gamma, beta}, attrs {axes, epsilon} → [y, mean, variance] (statistics with `axes` kept as 1)
 *   `MixtureNormGrad` {dy, x, mean, variance, gamma}, attrs {axes, epsilon} → [dx, dgamma, dbeta]
 */
import {tf} from '../engine/tf.js'
import {constant} from '../engine/constants.js'
import {customOp, hasKernels, runKernel, type OpContract} from './contract.js'

export const NORM_KERNEL = 'MixtureNorm'
export const NORM_GRAD_KERNEL = 'MixtureNormGrad'

/** Attributes of both kernels. */
export interface NormAttrs {
  axes: number[]
  epsilon: number
}

/** Where a caller wants the batch statistics (kept; the caller disposes them). */
export interface NormStats {
  mean?: tf.Tensor
  variance?: tf.Tensor
}

/** Normalise `x` over `axes` (see the module comment): through the kernels where the backend has them. */
export function normalize(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, axes: number[], eps: number, stats?: NormStats): tf.Tensor {
  if (hasKernels(NORM_KERNEL, NORM_GRAD_KERNEL)) return normalizeFused(x, gamma, beta, axes, eps, stats)
  return normalizeComposite(x, gamma, beta, axes, eps, stats)
}

/** The op from tfjs ops: moments, rsqrt, and the closed-form gradient. */
export function normalizeComposite(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, axes: number[], eps: number, stats?: NormStats): tf.Tensor {
  const op = customOp((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const {mean, variance} = tf.moments(xIn, axes, true)
    const rstd = tf.rsqrt(tf.add(variance, constant(eps)))
    const xhat = tf.mul(tf.sub(xIn, mean), rstd)
    if (stats) {
      stats.mean = tf.keep(mean)
      stats.variance = tf.keep(variance)
    }
    save([xhat, rstd, g])
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sxhat, srstd, sg] = saved
        const sumToParam = (t: tf.Tensor) => tf.reshape(tf.sum(t, paramAxesFor(t, sg)), sg.shape)
        const dBeta = sumToParam(dy)
        const dGamma = sumToParam(tf.mul(dy, sxhat))
        const gdy = tf.mul(dy, sg)
        const dx = tf.mul(srstd, tf.sub(tf.sub(gdy, tf.mean(gdy, axes, true)), tf.mul(sxhat, tf.mean(tf.mul(gdy, sxhat), axes, true))))
        return [dx, dGamma, dBeta]
      },
    }
  })
  return op(x, gamma, beta)
}

/** The op through `MixtureNorm` and `MixtureNormGrad`. */
export function normalizeFused(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, axes: number[], eps: number, stats?: NormStats): tf.Tensor {
  const attrs: NormAttrs = {axes, epsilon: eps}
  const op = customOp((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, variance] = runKernel<tf.Tensor[]>(NORM_KERNEL, {x: xIn, gamma: g, beta: b}, attrs)
    if (stats) {
      stats.mean = tf.keep(mean)
      stats.variance = tf.keep(variance)
    }
    save([xIn, mean, variance, g])
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sVariance, sGamma] = saved
        return runKernel<tf.Tensor[]>(NORM_GRAD_KERNEL, {dy, x: sx, mean: sMean, variance: sVariance, gamma: sGamma}, attrs)
      },
    }
  })
  return op(x, gamma, beta)
}

/** Axes of `t` along which a parameter of shape `param` was broadcast (to be summed in its gradient). */
function paramAxesFor(t: tf.Tensor, param: tf.Tensor): number[] {
  const offset = t.rank - param.rank
  return t.shape.map((_, i) => i).filter((i) => i < offset || param.shape[i - offset] === 1)
}

/** Both layouts the layers use: LayerNorm over the two trailing axes, and BatchNorm's every axis but the last. */
export const normOps: OpContract[] = [
  {axes: [2, 3], gamma: [5, 6], name: 'norm over the trailing axes'},
  {axes: [0, 1, 2], gamma: [6], name: 'norm over every axis but the last'},
].map(({axes, gamma, name}) => ({
  name,
  summary: `(x − mean) · rstd · γ + β over axes [${axes}]`,
  kernels: [NORM_KERNEL, NORM_GRAD_KERNEL],
  example: () => [tf.randomUniform([3, 4, 5, 6], -2, 3, 'float32', 11), tf.randomUniform(gamma, 0.5, 1.5, 'float32', 12), tf.randomUniform(gamma, -0.5, 0.5, 'float32', 13)],
  fused: ([x, g, b]) => [normalizeFused(x, g, b, axes, 1e-5)],
  composite: ([x, g, b]) => [normalizeComposite(x, g, b, axes, 1e-5)],
  gradients: [0, 1, 2],
  tolerance: 1e-4,
}))
