/** Exact GELU as a layer: the ViT MLP's activation (the op itself is ops/gelu.ts). */
import {tf, tfl} from '../engine/tf.js'
import {gelu} from '../ops/gelu.js'

/** The GELU op (ops/gelu.ts), for code that builds on these layers. */
export {gelu}

export class Gelu extends tfl.layers.Layer {
  static className = 'MixtureGeluLayer'

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return gelu(Array.isArray(inputs) ? inputs[0] : inputs)
  }

  computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return shape
  }
}
tf.serialization.registerClass(Gelu)
