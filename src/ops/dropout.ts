/**
 * Dropout as one kernel: y = x · keep(i) / (1 − rate), where keep(i) comes from a counter-based hash
 * of (seed, i). No random state, so the mask is reproducible from the seed, the same on every
 * backend, and the gradient is the same kernel applied to dy (same seed → same mask).
 *
 * Kernel (every backend registers it):
 *   `MixtureDropout` {x} float32, attrs {rate, seed (uint32)} → y. A layer's per-step mask,
 *   seed = dropoutHash(layerSeed, step), also passes {layerSeed, step}, so that a backend may derive
 *   the seed on the device from a per-step value and keep the rest of its dispatch identical from
 *   step to step (backends/webgpu/kernels/dropout.ts); backends that do not are unaffected.
 * The composite is the same loop on the host (`dropoutLoop`), reading x back.
 *
 * The training step is op state: the trainer sets it before each step (`setDropoutStep`), and every
 * dropout layer's mask mixes it with the layer's seed (`stepDropout`).
 */
import {tf} from '../engine/tf.js'
import {customOp, hasKernels, runKernel, type OpContract} from './contract.js'

export const DROPOUT_KERNEL = 'MixtureDropout'

/** The kernel's attributes. */
export interface DropoutAttrs {
  rate: number
  seed: number
  layerSeed?: number
  step?: number
}

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

/** The reference loop, shared by the cpu kernel and the composite. */
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

let trainingStep = 0

/** Set by the trainer before each step, so that every dropout layer draws a new mask. */
export function setDropoutStep(step: number): void {
  trainingStep = step
}

function attrsOf(rate: number, from: number | DropoutSeedSource): DropoutAttrs {
  const seed = typeof from === 'number' ? from : dropoutHash(from.layerSeed >>> 0, from.step)
  return typeof from === 'number' ? {rate, seed} : {rate, seed, layerSeed: from.layerSeed >>> 0, step: from.step >>> 0}
}

/** One mask application: the kernel where the backend has it, else the composite. */
function applyMask(x: tf.Tensor, rate: number, from: number | DropoutSeedSource): tf.Tensor {
  return hasKernels(DROPOUT_KERNEL) ? dropoutFused(x, attrsOf(rate, from)) : dropoutComposite(x, attrsOf(rate, from))
}

/** The mask through `MixtureDropout`. */
export function dropoutFused(x: tf.Tensor, attrs: DropoutAttrs): tf.Tensor {
  return runKernel(DROPOUT_KERNEL, {x}, attrs)
}

/** The mask on the host: `dropoutLoop` over x read back. */
export function dropoutComposite(x: tf.Tensor, {rate, seed}: DropoutAttrs): tf.Tensor {
  const out = new Float32Array(x.size)
  dropoutLoop(x.dataSync() as Float32Array, out, rate, seed)
  return tf.tensor(out, x.shape, 'float32')
}

/** Differentiable seeded dropout (a seed, or a layer seed and step); the gradient reuses the forward mask on dy. */
export function seededDropout(x: tf.Tensor, rate: number, seed: number | DropoutSeedSource): tf.Tensor {
  if (rate <= 0) return x
  if (rate >= 1) return tf.zerosLike(x)
  const op = customOp((input: tf.Tensor) => ({
    value: applyMask(input, rate, seed),
    gradFunc: (dy: tf.Tensor) => applyMask(dy, rate, seed),
  }))
  return op(x)
}

/** A training step's dropout: the mask of this layer seed at the step the trainer set. */
export function stepDropout(x: tf.Tensor, rate: number, layerSeed: number): tf.Tensor {
  return seededDropout(x, rate, {layerSeed, step: trainingStep})
}

const EXAMPLE: DropoutSeedSource = {layerSeed: 1234, step: 5}

/**
 * The contract's composite: x times the host's mask (`dropoutLoop` over ones), rather than x read
 * back as `dropoutComposite` does, which a GPU backend cannot do synchronously.
 */
function maskedComposite(x: tf.Tensor, {rate, seed}: DropoutAttrs): tf.Tensor {
  const mask = new Float32Array(x.size)
  dropoutLoop(new Float32Array(x.size).fill(1), mask, rate, seed)
  return tf.mul(x, tf.tensor(mask, x.shape, 'float32'))
}

export const dropoutOp: OpContract = {
  name: 'dropout',
  summary: 'x · keep(hash(seed, i)) / (1 − rate), the same mask on every backend',
  kernels: [DROPOUT_KERNEL],
  example: () => [tf.randomUniform([6, 50], -1, 1, 'float32', 91)],
  fused: ([x]) => [dropoutFused(x, attrsOf(0.3, EXAMPLE))],
  composite: ([x]) => [maskedComposite(x, attrsOf(0.3, EXAMPLE))],
  tolerance: 1e-6,
}
