/**
 * Dropout whose mask changes every training step yet is reproducible: the mask seed mixes the
 * layer's build seed with the global training step that the trainer sets before each step.
 * (tfjs-layers' own Dropout reuses one mask forever when given a seed, and is unseeded otherwise.)
 */
import {tf, tfl} from '../engine/tf.js'
import {seededDropout} from '../engine/kernels/dropout.js'

let trainingStep = 0

/** Called by the trainer before each step so that every dropout layer draws a new mask. */
export function setDropoutStep(step: number): void {
  trainingStep = step
}

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
    return seededDropout(x, this.rate, {layerSeed: this.seed, step: trainingStep})
  }

  computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return shape
  }

  getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), rate: this.rate, seed: this.seed}
  }
}
tf.serialization.registerClass(Dropout)
