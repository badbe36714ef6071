/**
 * Dropout whose mask changes every training step yet is reproducible: the mask seed mixes the
 * layer's build seed with the training step that the trainer sets before each step (ops/dropout.ts).
 * (tfjs-layers' own Dropout reuses one mask forever when given a seed, and is unseeded otherwise.)
 */
import {tf, tfl} from '../engine/tf.js'
import {stepDropout} from '../ops/dropout.js'

export interface DropoutArgs {
  name?: string
  rate: number
  seed: number
}

export class Dropout extends tfl.layers.Layer {
  static className = 'MixtureDropout'
  readonly rate: number
  readonly seed: number

  constructor(args: DropoutArgs) {
    super({name: args.name})
    this.rate = args.rate
    this.seed = args.seed >>> 0
    this.supportsMasking = true
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs
    if (!kwargs.training || this.rate === 0) return x
    return stepDropout(x, this.rate, this.seed)
  }

  computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return shape
  }

  getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), rate: this.rate, seed: this.seed}
  }
}
tf.serialization.registerClass(Dropout)
