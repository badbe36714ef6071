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

const kept = new Set<tf.Tensor>()

/**
 * Keep `t` (made once, read by every step, never written: a layer's position table) and declare it
 * a constant, so that a recorded training step may bind it and be replayed (backends/webgpu/graph.ts checks
 * before each replay that it is still alive). Dispose it as usual when it is replaced.
 */
export function keepConstant<T extends tf.Tensor>(t: T): T {
  for (const old of kept) if (old.isDisposed) kept.delete(old)
  kept.add(tf.keep(t))
  return t
}

/** The live cached and declared constants (a recorded step may bind them: backends/webgpu/graph.ts). */
export function cachedConstants(): tf.Tensor[] {
  return [...cache.values(), ...kept].filter((t) => !t.isDisposed)
}
