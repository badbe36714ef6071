/**
 * Cached scalar constants. `tf.mul(x, 0.125)` makes a new scalar tensor on every call, which a GPU
 * backend uploads every step; these are created once per value and kept.
 */
import {tf} from './tf.js'

const cache = new Map<number, tf.Scalar>()

export function constant(value: number): tf.Scalar {
  let t = cache.get(value)
  if (!t || t.isDisposed) {
    t = tf.keep(tf.scalar(value, 'float32'))
    cache.set(value, t)
  }
  return t
}
