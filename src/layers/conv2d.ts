/**
 * tfjs-layers' Conv2D computing through ../ops/conv2d.ts: the same layer — weights, initializers,
 * configuration and class name, so export, checkpoints and parameter counts see tfjs's Conv2D — with
 * the same forward kernel, but a gradient that leaves out what nothing reads: the input gradient of a
 * convolution of the image. The layer calls it for the channels-last 2-D convolutions without
 * activation the project's models build; anything else goes through tfjs's own call.
 */
import {tf, tfl} from '../engine/tf.js'
import {conv2d} from '../ops/conv2d.js'

type ConvLayerArgs = Parameters<typeof tfl.layers.conv2d>[0]

/** What the subclass reads of tfjs-layers' Conv2D (protected there). */
interface TfjsConv2dFields {
  kernel: {read(): tf.Tensor}
  bias: {read(): tf.Tensor} | null
  strides: number[]
  padding: string
  dilationRate: number[]
  dataFormat: string
  activation: {getClassName(): string}
}

/** tfjs-layers' Conv2D class, as tfjs-layers registered it for serialization (the package exports only its factory). */
function tfjsConv2D(): new (args: ConvLayerArgs) => tfl.layers.Layer {
  const registered = tf.serialization.SerializationMap.getMap().classNameMap.Conv2D?.[0]
  if (typeof registered !== 'function') throw new Error("tfjs-layers registered no 'Conv2D' class for serialization: layers/conv2d.ts subclasses it; check the tfjs-layers version")
  return registered as unknown as new (args: ConvLayerArgs) => tfl.layers.Layer
}
const TfjsConv2D = tfjsConv2D()

export class Conv2D extends TfjsConv2D {
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs
    const self = this as unknown as TfjsConv2dFields
    if (x.rank !== 4 || x.dtype !== 'float32' || self.dataFormat !== 'channelsLast' || self.activation.getClassName() !== 'linear' || self.padding === 'causal') return super.call(inputs, kwargs)
    return tf.tidy(() =>
      conv2d(x as tf.Tensor4D, self.kernel.read() as tf.Tensor4D, self.bias?.read() as tf.Tensor1D | undefined, {
        strides: self.strides as [number, number],
        pad: self.padding === 'same' ? 'same' : 'valid',
        dilations: self.dilationRate as [number, number],
      }),
    )
  }
}
