/**
 * Dropout as one kernel, `MixtureDropout`: y = x · keep(i) / (1 − rate), where keep(i) comes from a
 * counter-based hash of (seed, i). No random state, so the mask is reproducible from the seed, the
 * same on every backend, and the gradient is the same kernel applied to dy (same seed → same mask).
 * Kernel contract: inputs {x} float32; attrs {rate, seed (uint32)}; output y. A layer's per-step
 * mask, seed = dropoutHash(layerSeed, step), also passes {layerSeed, step}, so that a
 * backend may derive the seed on the device from a per-step value and keep the rest of its
 * dispatch identical from step to step (webgpu/dropout.ts); backends that do not are unaffected.
 */
import {tf} from '../tf.js'

export const DROPOUT_KERNEL = 'MixtureDropout'

/** murmur3 fmix32 of the element index mixed with the seed; uniform in [0, 2^32). */
export function dropoutHash(seed: number, i: number): number {
  let h = (Math.imul(i, 0x9e3779b1) ^ seed) >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The reference loop, shared by the cpu kernel and the fallback for backends without one. */
export function dropoutLoop(x: Float32Array, out: Float32Array, rate: number, seed: number): void {
  const threshold = Math.floor(rate * 4294967296)
  const scale = 1 / (1 - rate)
  for (let i = 0; i < x.length; i++) out[i] = dropoutHash(seed, i) >= threshold ? x[i] * scale : 0
}

/** A layer's seed mixed with the training step: the mask seed is dropoutHash(layerSeed, step). */
export interface DropoutSeedSource {
  layerSeed: number
  step: number
}

function runDropout(x: tf.Tensor, rate: number, from: number | DropoutSeedSource): tf.Tensor {
  const seed = typeof from === 'number' ? from : dropoutHash(from.layerSeed >>> 0, from.step)
  if (tf.getKernel(DROPOUT_KERNEL, tf.getBackend())) {
    const attrs: tf.NamedAttrMap = typeof from === 'number' ? {rate, seed} : {rate, seed, layerSeed: from.layerSeed >>> 0, step: from.step >>> 0}
    return tf.engine().runKernel(DROPOUT_KERNEL, {x}, attrs) as tf.Tensor
  }
  const out = new Float32Array(x.size)
  dropoutLoop(x.dataSync() as Float32Array, out, rate, seed)
  return tf.tensor(out, x.shape, 'float32')
}

/** Differentiable seeded dropout (a seed, or a layer seed and step); the gradient reuses the forward kernel on dy. */
export function seededDropout(x: tf.Tensor, rate: number, seed: number | DropoutSeedSource): tf.Tensor {
  if (rate <= 0) return x
  if (rate >= 1) return tf.zerosLike(x)
  const op = tf.customGrad(((input: tf.Tensor) => ({
    value: runDropout(input, rate, seed),
    gradFunc: (dy: tf.Tensor) => runDropout(dy, rate, seed),
  })) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x) as tf.Tensor
}

interface CpuBackendLike {
  data: {get(id: unknown): {values: Float32Array}}
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo
}

tf.registerKernel({
  kernelName: DROPOUT_KERNEL,
  backendName: 'cpu',
  kernelFunc: ({inputs, backend, attrs}) => {
    const b = backend as unknown as CpuBackendLike
    const x = inputs.x as tf.TensorInfo
    const {rate, seed} = attrs as unknown as {rate: number; seed: number}
    const out = new Float32Array(tf.util.sizeFromShape(x.shape))
    dropoutLoop(b.data.get(x.dataId).values, out, rate, seed)
    return b.makeTensorInfo(x.shape, 'float32', out)
  },
})
