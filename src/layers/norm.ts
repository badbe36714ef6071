/**
 * LayerNorm and BatchNorm as leaf layers over the project's ops (ops/layernorm.ts, ops/batchnorm.ts,
 * ops/norm.ts): closed-form gradients, γ and β broadcast rather than tiled.
 *
 * BatchNorm follows PyTorch: batch statistics in training (biased variance to normalise, unbiased
 * for the running variance), running statistics with momentum 0.1 (tfjs 0.9) in evaluation.
 */
import {tf, tfl} from '../engine/tf.js'
import {constant} from '../engine/constants.js'
import {batchNormTraining} from '../ops/batchnorm.js'
import {layerNorm} from '../ops/layernorm.js'

type LayerVariable = ReturnType<tfl.layers.Layer['addWeight']>

function one(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs
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
      return layerNorm(one(inputs), this.gamma!.read(), this.beta!.read(), this.epsilon, this.axes)
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
      const gamma = this.gamma!.read()
      const beta = this.beta!.read()
      if (!kwargs.training) {
        const scale = tf.mul(gamma, tf.rsqrt(tf.add(this.movingVariance!.read(), constant(this.epsilon))))
        return tf.add(tf.mul(tf.sub(x, this.movingMean!.read()), scale), beta)
      }
      return batchNormTraining(x, gamma, beta, this.movingMean!.read(), this.movingVariance!.read(), {momentum: this.momentum, epsilon: this.epsilon}, (m, v) => {
        this.movingMean!.write(m)
        this.movingVariance!.write(v)
      })
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
