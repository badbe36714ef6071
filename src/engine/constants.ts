/**
 * Cached scalar constants. `tf.mul(x, 0.125)` makes a new scalar tensor on every call, which a GPU
 * backend uploads every step; these are created once per value and backend and kept (a scalar made
 * on one backend and used on another would be copied across, and WebGPU cannot read back
 * synchronously in Node).
 */
import {tf} from './tf.js'

const cache = new Map<string, tf.Scalar>()

export function constant(value: number): tf.Scalar {
  const key = `${tf.getBackend()}:${value}`
  let t = cache.get(key)
  if (!t || t.isDisposed) {
    t = tf.keep(tf.scalar(value, 'float32'))
    cache.set(key, t)
  }
  return t
}
