/**
 * Training-mode BatchNorm over the last (channel) axis, PyTorch's semantics: the batch's biased
 * variance normalises, the running variance takes the unbiased one, running = running·(1 − m) + batch·m.
 * Differentiable in x, γ and β.
 *
 * Kernels (the webgpu backend registers them, the wasm backend the first and the last):
 *   `MixtureBatchNormStats` {x, movingMean, movingVariance}, attrs {momentum, unbiased, inPlace}
 *     → [mean, variance, runningMean', runningVariance'] (the last two left out when the backend
 *     wrote them over the old ones: attr `inPlace`, and no other tensor shares their data)
 *   `MixtureBatchNormTrain` (optional) {x, gamma, beta, movingMean, movingVariance}, attrs as above
 *     and {epsilon} → [y, mean, variance, (running statistics, as above)]
 *   `MixtureBatchNormGrad` {dy, x, mean, variance, gamma}, attrs {epsilon} → [dx, dgamma, dbeta]
 * Updating the running statistics in place lets a recorded training step be replayed
 * (backends/webgpu/graph.ts). The composite is the normalisation op (norm.ts) and the running
 * updates in tfjs ops.
 */
import {tf} from '../engine/tf.js'
import {customOp, hasKernels, runKernel, type OpContract} from './contract.js'
import {normalize, type NormStats} from './norm.js'

export const BN_STATS_KERNEL = 'MixtureBatchNormStats'
/** Optional: statistics, running statistics and y in one kernel call (BN_STATS_KERNEL + batchNorm otherwise). */
export const BN_TRAIN_KERNEL = 'MixtureBatchNormTrain'
export const BN_GRAD_KERNEL = 'MixtureBatchNormGrad'

/** Whether the active backend has the fused training-mode BatchNorm kernels. */
export function hasFusedBatchNorm(): boolean {
  return hasKernels(BN_STATS_KERNEL, BN_GRAD_KERNEL)
}

export interface BatchNormTrainingOptions {
  /** Weight of the batch statistics in the running ones (PyTorch's momentum, 0.1). */
  momentum: number
  epsilon: number
  /** Running variance from the unbiased batch variance (PyTorch); false: the biased one (tfjs-layers). */
  unbiased?: boolean
}

/** Receives the updated running statistics (new tensors) when the backend did not update them in place. */
export type WriteRunning = (mean: tf.Tensor, variance: tf.Tensor) => void

/** Training-mode batch norm's signature (`batchNormTraining` and its two ways). */
export type BatchNormTrainingOp = (
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  runningMean: tf.Tensor,
  runningVariance: tf.Tensor,
  options: BatchNormTrainingOptions,
  writeRunning: WriteRunning,
) => tf.Tensor

/**
 * Training-mode batch norm of a float32 tensor over its last axis: returns y and hands the updated
 * running statistics to `writeRunning`, unless the backend updated `runningMean` and
 * `runningVariance` in place. Through the kernels where the backend has them (ranks 2 to 4).
 */
export const batchNormTraining: BatchNormTrainingOp = (x, ...rest) => {
  const fused = hasFusedBatchNorm() && x.rank >= 2 && x.rank <= 4
  return (fused ? batchNormTrainingFused : batchNormTrainingComposite)(x, ...rest)
}

/** The op from tfjs ops: the normalisation op over every axis but the last, then the running updates. */
export const batchNormTrainingComposite: BatchNormTrainingOp = (x, gamma, beta, runningMean, runningVariance, options, writeRunning) => {
  const {momentum: m, epsilon, unbiased = true} = options
  const axes = x.shape.slice(0, -1).map((_, i) => i)
  const stats: NormStats = {}
  const y = normalize(x, gamma, beta, axes, epsilon, stats)
  const n = x.size / x.shape[x.rank - 1]!
  const mean = tf.reshape(stats.mean!, [-1])
  const variance = tf.reshape(stats.variance!, [-1])
  const runningVarianceFrom = unbiased ? tf.mul(variance, n > 1 ? n / (n - 1) : 1) : variance
  writeRunning(tf.add(tf.mul(runningMean, 1 - m), tf.mul(mean, m)), tf.add(tf.mul(runningVariance, 1 - m), tf.mul(runningVarianceFrom, m)))
  tf.dispose([stats.mean!, stats.variance!])
  return y
}

/** The op through `MixtureBatchNormTrain` (or `MixtureBatchNormStats` and tfjs's batchNorm) and `MixtureBatchNormGrad`. */
export const batchNormTrainingFused: BatchNormTrainingOp = (x, gamma, beta, runningMean, runningVariance, options, writeRunning) => {
  const {momentum, epsilon, unbiased = true} = options
  const forward = (xi: tf.Tensor, g: tf.Tensor, bt: tf.Tensor, save: tf.GradSaveFunc) => {
    let y: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, running: tf.Tensor[]
    // `inPlace`: a backend may write the new running statistics over the old ones (when no other
    // tensor shares their data) and then returns none; otherwise they come back as new tensors.
    if (hasKernels(BN_TRAIN_KERNEL)) {
      ;[y, mean, variance, ...running] = runKernel<tf.Tensor[]>(
        BN_TRAIN_KERNEL,
        {x: xi, gamma: g, beta: bt, movingMean: runningMean, movingVariance: runningVariance},
        {momentum, unbiased, epsilon, inPlace: true},
      )
    } else {
      ;[mean, variance, ...running] = runKernel<tf.Tensor[]>(BN_STATS_KERNEL, {x: xi, movingMean: runningMean, movingVariance: runningVariance}, {momentum, unbiased, inPlace: true})
      y = tf.batchNorm(xi, mean, variance, bt, g, epsilon)
    }
    if (running.length === 2) writeRunning(running[0], running[1])
    save([xi, mean, variance, g])
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sVariance, sGamma] = saved
        return runKernel<tf.Tensor[]>(BN_GRAD_KERNEL, {dy, x: sx, mean: sMean, variance: sVariance, gamma: sGamma}, {epsilon})
      },
    }
  }
  return customOp(forward)(x, gamma, beta)
}

/** The contract's run: y and the running statistics after one training-mode call. */
function runOnce(run: BatchNormTrainingOp, [x, gamma, beta, mean, variance]: tf.Tensor[]): tf.Tensor[] {
  let running = [mean, variance]
  // Kept: the fused way hands them over from inside tf.customGrad's scope.
  const y = run(x, gamma, beta, mean, variance, {momentum: 0.1, epsilon: 1e-5}, (m, v) => (running = [tf.keep(m), tf.keep(v)]))
  return [y, ...running]
}

export const batchNormOps: OpContract[] = [[6, 5, 7, 12], [40, 9]].map((shape) => {
  const c = [shape[shape.length - 1]]
  return {
    name: `batchnorm of rank ${shape.length}`,
    summary: 'training-mode BatchNorm over the last axis, with the running statistics updated',
    kernels: [BN_STATS_KERNEL, BN_TRAIN_KERNEL, BN_GRAD_KERNEL],
    fusedHere: hasFusedBatchNorm,
    example: () => [
      tf.randomUniform(shape, -1, 3, 'float32', 21),
      tf.randomUniform(c, 0.5, 1.5, 'float32', 22),
      tf.randomUniform(c, -0.5, 0.5, 'float32', 23),
      tf.randomUniform(c, -0.1, 0.1, 'float32', 24),
      tf.randomUniform(c, 0.9, 1.1, 'float32', 25),
    ],
    fused: (inputs) => runOnce(batchNormTrainingFused, inputs),
    composite: (inputs) => runOnce(batchNormTrainingComposite, inputs),
    gradients: [0, 1, 2],
    tolerance: 1e-4,
  }
})
