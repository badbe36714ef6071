/**
 * LayerNorm and BatchNorm as leaf layers with closed-form gradients.
 *
 * tfjs-layers' LayerNormalization tiles gamma/beta to the input's full shape, and tfjs-core's Tile
 * gradient is one Slice + Add per repeated row: tens of thousands of kernels per ViT layer. Here
 * both norms broadcast instead, and their backward pass is the textbook closed form in a handful
 * of ops (tf.customGrad), which also gives backends one well-defined pattern to fuse.
 *
 * BatchNorm follows PyTorch: batch statistics in training (biased variance to normalise, unbiased
 * for the running variance), running statistics with momentum 0.1 (tfjs 0.9) in evaluation.
 */
import {tf, tfl} from '../engine/tf.js'
import {constant} from '../engine/constants.js'
import {batchNormTraining, hasFusedBatchNorm, hasFusedLayerNorm, layerNorm} from '../engine/kernels/fused-norm.js'

type LayerVariable = ReturnType<tfl.layers.Layer['addWeight']>

function one(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs
}

/**
 * Normalise over `axes` with the given statistics, scaled by gamma and shifted by beta (both
 * broadcastable). Gradients: dβ = Σ dy, dγ = Σ dy·x̂, dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ,
 * where the sums run over the axes not in gamma's shape and the means over `axes`.
 */
function normalize(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, axes: number[], eps: number, stats?: {mean?: tf.Tensor; variance?: tf.Tensor}): tf.Tensor {
  if (tf.getKernel(NORM_KERNEL, tf.getBackend()) && tf.getKernel(NORM_GRAD_KERNEL, tf.getBackend())) return normalizeKernel(x, gamma, beta, axes, eps, stats)
  const op = tf.customGrad(((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
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
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x, gamma, beta) as tf.Tensor
}

/** Backend kernels for the same op (the native backend's): forward → y, mean, variance; backward → dx, dγ, dβ. */
const NORM_KERNEL = 'MixtureNorm'
const NORM_GRAD_KERNEL = 'MixtureNormGrad'

function normalizeKernel(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, axes: number[], eps: number, stats?: {mean?: tf.Tensor; variance?: tf.Tensor}): tf.Tensor {
  const attrs = {axes, epsilon: eps} as unknown as tf.NamedAttrMap
  const op = tf.customGrad(((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, variance] = tf.engine().runKernel(NORM_KERNEL, {x: xIn, gamma: g, beta: b}, attrs) as tf.Tensor[]
    if (stats) {
      stats.mean = tf.keep(mean)
      stats.variance = tf.keep(variance)
    }
    save([xIn, mean, variance, g])
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sVariance, sGamma] = saved
        return tf.engine().runKernel(NORM_GRAD_KERNEL, {dy, x: sx, mean: sMean, variance: sVariance, gamma: sGamma}, attrs) as tf.Tensor[]
      },
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x, gamma, beta) as tf.Tensor
}

/** Axes of `t` along which a parameter of shape `param` was broadcast (to be summed in its gradient). */
function paramAxesFor(t: tf.Tensor, param: tf.Tensor): number[] {
  const offset = t.rank - param.rank
  return t.shape.map((_, i) => i).filter((i) => i < offset || param.shape[i - offset] === 1)
}

export interface LayerNormArgs {
  name?: string
  /** Number of trailing axes normalised together (1 = the feature axis, as nn.LayerNorm(dim)). */
  axes?: number
  epsilon?: number
}

/** nn.LayerNorm(normalized_shape = the last `axes` dimensions), elementwise affine. */
export class LayerNorm extends tfl.layers.Layer {
  static className = 'MixtureLayerNorm'
  readonly axes: number
  readonly epsilon: number
  private gamma?: LayerVariable
  private beta?: LayerVariable

  constructor(args: LayerNormArgs = {}) {
    super({name: args.name})
    this.axes = args.axes ?? 1
    this.epsilon = args.epsilon ?? 1e-5
  }

  build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape
    const normShape = shape.slice(shape.length - this.axes) as number[]
    this.gamma = this.addWeight('gamma', normShape, 'float32', tfl.initializers.ones())
    this.beta = this.addWeight('beta', normShape, 'float32', tfl.initializers.zeros())
    this.built = true
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs)
      if (this.axes === 1 && hasFusedLayerNorm()) return layerNorm(x, this.gamma!.read(), this.beta!.read(), this.epsilon)
      const axes = Array.from({length: this.axes}, (_, i) => x.rank - this.axes + i)
      return normalize(x, this.gamma!.read(), this.beta!.read(), axes, this.epsilon)
    })
  }

  computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return shape
  }

  getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), axes: this.axes, epsilon: this.epsilon}
  }
}
tf.serialization.registerClass(LayerNorm)

export interface BatchNormArgs {
  name?: string
  /** PyTorch momentum (weight of the new batch in the running statistics): 0.1. */
  momentum?: number
  epsilon?: number
}

/** nn.BatchNorm1d/2d over the last (channel) axis of NHWC or (N, C) inputs. */
export class BatchNorm extends tfl.layers.Layer {
  static className = 'MixtureBatchNorm'
  readonly momentum: number
  readonly epsilon: number
  private gamma?: LayerVariable
  private beta?: LayerVariable
  private movingMean?: LayerVariable
  private movingVariance?: LayerVariable

  constructor(args: BatchNormArgs = {}) {
    super({name: args.name})
    this.momentum = args.momentum ?? 0.1
    this.epsilon = args.epsilon ?? 1e-5
  }

  build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape
    const c = shape[shape.length - 1] as number
    this.gamma = this.addWeight('gamma', [c], 'float32', tfl.initializers.ones())
    this.beta = this.addWeight('beta', [c], 'float32', tfl.initializers.zeros())
    this.movingMean = this.addWeight('moving_mean', [c], 'float32', tfl.initializers.zeros(), undefined, false)
    this.movingVariance = this.addWeight('moving_variance', [c], 'float32', tfl.initializers.ones(), undefined, false)
    this.built = true
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs)
      const axes = x.shape.slice(0, -1).map((_, i) => i)
      const gamma = this.gamma!.read()
      const beta = this.beta!.read()
      if (!kwargs.training) {
        const scale = tf.mul(gamma, tf.rsqrt(tf.add(this.movingVariance!.read(), constant(this.epsilon))))
        return tf.add(tf.mul(tf.sub(x, this.movingMean!.read()), scale), beta)
      }
      if (hasFusedBatchNorm() && x.rank >= 2 && x.rank <= 4) {
        return batchNormTraining(x, gamma, beta, this.movingMean!.read(), this.movingVariance!.read(), {momentum: this.momentum, epsilon: this.epsilon}, (m, v) => {
          this.movingMean!.write(m)
          this.movingVariance!.write(v)
        })
      }
      const stats: {mean?: tf.Tensor; variance?: tf.Tensor} = {}
      const y = normalize(x, gamma, beta, axes, this.epsilon, stats)
      const n = x.size / x.shape[x.rank - 1]!
      const m = this.momentum
      const mean = tf.reshape(stats.mean!, [-1])
      const unbiased = tf.mul(tf.reshape(stats.variance!, [-1]), n > 1 ? n / (n - 1) : 1)
      this.movingMean!.write(tf.add(tf.mul(this.movingMean!.read(), 1 - m), tf.mul(mean, m)))
      this.movingVariance!.write(tf.add(tf.mul(this.movingVariance!.read(), 1 - m), tf.mul(unbiased, m)))
      tf.dispose([stats.mean!, stats.variance!])
      return y
    })
  }

  computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return shape
  }

  getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon}
  }
}
tf.serialization.registerClass(BatchNorm)
