/**
 * Fused normalisation ops that a backend may provide as kernels: training-mode BatchNorm
 * (`MixtureBatchNormStats` → batch and updated running statistics, or optionally
 * `MixtureBatchNormTrain` → y as well; `MixtureBatchNormGrad`) and
 * LayerNorm over the last axis (`MixtureLayerNorm` → y, mean, rstd; `MixtureLayerNormGrad`).
 * The layers in src/layers/norm.ts use them when the active backend registers them and their
 * own closed-form composite otherwise. Kernel contracts are in the functions below.
 */
import {tf} from '../tf.js'

export const BN_STATS_KERNEL = 'MixtureBatchNormStats'
/** Optional: statistics, running statistics and y in one kernel call (BN_STATS_KERNEL + batchNorm otherwise). */
export const BN_TRAIN_KERNEL = 'MixtureBatchNormTrain'
export const BN_GRAD_KERNEL = 'MixtureBatchNormGrad'
export const LN_KERNEL = 'MixtureLayerNorm'
export const LN_GRAD_KERNEL = 'MixtureLayerNormGrad'

/** Whether the active backend has the fused training-mode BatchNorm kernels. */
export function hasFusedBatchNorm(): boolean {
  return tf.getKernel(BN_STATS_KERNEL, tf.getBackend()) != null && tf.getKernel(BN_GRAD_KERNEL, tf.getBackend()) != null
}

export interface BatchNormTrainingOptions {
  /** Weight of the batch statistics in the running ones (PyTorch's momentum, 0.1). */
  momentum: number
  epsilon: number
  /** Running variance from the unbiased batch variance (PyTorch); false: the biased one (tfjs-layers). */
  unbiased?: boolean
}

/**
 * Training-mode batch norm over the last axis of a float32 tensor of rank 2..4: returns y and hands
 * the updated running statistics to `writeRunning`, unless the backend updated `runningMean` and
 * `runningVariance` in place (webgpu, so that a recorded step can be replayed: webgpu/graph.ts).
 * Differentiable in x, gamma and beta.
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  runningMean: tf.Tensor,
  runningVariance: tf.Tensor,
  options: BatchNormTrainingOptions,
  writeRunning: (mean: tf.Tensor, variance: tf.Tensor) => void,
): tf.Tensor {
  const {momentum, epsilon, unbiased = true} = options
  const forward = (xi: tf.Tensor, g: tf.Tensor, bt: tf.Tensor, save: tf.GradSaveFunc) => {
    let y: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, running: tf.Tensor[]
    // `inPlace`: a backend may write the new running statistics over the old ones (when no other
    // tensor shares their data) and then returns none; otherwise they come back as new tensors.
    if (tf.getKernel(BN_TRAIN_KERNEL, tf.getBackend()) != null) {
      ;[y, mean, variance, ...running] = tf.engine().runKernel(
        BN_TRAIN_KERNEL,
        {x: xi, gamma: g, beta: bt, movingMean: runningMean, movingVariance: runningVariance},
        {momentum, unbiased, epsilon, inPlace: true} as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[]
    } else {
      ;[mean, variance, ...running] = tf.engine().runKernel(
        BN_STATS_KERNEL,
        {x: xi, movingMean: runningMean, movingVariance: runningVariance},
        {momentum, unbiased, inPlace: true} as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[]
      y = tf.batchNorm(xi, mean, variance, bt, g, epsilon)
    }
    if (running.length === 2) writeRunning(running[0], running[1])
    save([xi, mean, variance, g])
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sVariance, sGamma] = saved
        return tf.engine().runKernel(
          BN_GRAD_KERNEL,
          {dy, x: sx, mean: sMean, variance: sVariance, gamma: sGamma},
          {epsilon} as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[]
      },
    }
  }
  const op = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x, gamma, beta) as tf.Tensor
}

/** Whether the active backend has the fused LayerNorm kernels. */
export function hasFusedLayerNorm(): boolean {
  return tf.getKernel(LN_KERNEL, tf.getBackend()) != null && tf.getKernel(LN_GRAD_KERNEL, tf.getBackend()) != null
}

/** LayerNorm over the last axis of a float32 tensor (gamma, beta: [D]). Differentiable in x, gamma, beta. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  const forward = (xi: tf.Tensor, g: tf.Tensor, bt: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, rstd] = tf.engine().runKernel(LN_KERNEL, {x: xi, gamma: g, beta: bt}, {epsilon} as unknown as tf.NamedAttrMap) as tf.Tensor[]
    save([xi, mean, rstd, g])
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sRstd, sGamma] = saved
        const [dx, dGamma, dBeta] = tf.engine().runKernel(LN_GRAD_KERNEL, {dy, x: sx, mean: sMean, rstd: sRstd, gamma: sGamma}) as tf.Tensor[]
        return [dx, tf.reshape(dGamma, sGamma.shape), tf.reshape(dBeta, sGamma.shape)]
      },
    }
  }
  const op = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x, gamma, beta) as tf.Tensor
}
