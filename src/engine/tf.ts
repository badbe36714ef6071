/**
 * The one place that imports TensorFlow.js. Everything else imports `tf` (core ops) and `tfl`
 * (layers) from here so that a backend registered by `selectBackend` is the one every module sees,
 * including third-party plugins (they receive the same namespaces through the plugin API).
 */
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import '@tensorflow/tfjs-backend-cpu'

export {tf, tfl}
export type Tensor = tf.Tensor
export type SymbolicTensor = tfl.SymbolicTensor
export type LayersModel = tfl.LayersModel

// Production mode: no console banners from the backends, no debug-only checks in the hot path.
tf.env().set('PROD', true)
