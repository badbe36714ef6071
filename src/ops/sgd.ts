/**
 * SGD with momentum, exactly PyTorch's `torch.optim.SGD(momentum, dampening, weight_decay, nesterov)`:
 *   g ← g + wd·θ;  b ← g at the first step, else μ·b + (1 − dampening)·g;
 *   d ← g + μ·b with Nesterov, else b;  θ ← θ − lr·d
 * With μ = 0 the buffer is just the gradient (PyTorch keeps none; here it is kept, so that every
 * SGD run has one state tensor per weight).
 *
 * Kernel (every backend registers it; the webgpu backend also updates weights in place):
 *   `MixtureSgd` {param, grad, momentum} float32 of one shape, attrs `SgdAttrs` → [param', momentum']
 */
import {tf} from '../engine/tf.js'
import type {OpContract} from './contract.js'
import {updateContracts, type UpdateOp} from './weight-update.js'

export const SGD_KERNEL = 'MixtureSgd'

export interface SgdConfig {
  lr: number
  momentum: number
  dampening: number
  nesterov: boolean
  weightDecay: number
}

export interface SgdAttrs extends SgdConfig {
  /** The optimizer step, 1-based: the first one starts the buffer from the gradient. */
  step: number
}

/**
 * The buffer's update b ← keep·b + take·g of step `a.step`: (0, 1) at the first step (PyTorch clones
 * the gradient) and without momentum, else (μ, 1 − dampening).
 */
export function sgdBufferScales(a: SgdAttrs): {keep: number; take: number} {
  return a.step <= 1 || a.momentum === 0 ? {keep: 0, take: 1} : {keep: a.momentum, take: 1 - a.dampening}
}

/** Reference composite: used on backends that do not register `MixtureSgd`. */
export function sgdComposite(param: tf.Tensor, grad: tf.Tensor, momentum: tf.Tensor, a: SgdAttrs): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const g = a.weightDecay === 0 ? grad : tf.add(grad, tf.mul(param, a.weightDecay))
    const {keep, take} = sgdBufferScales(a)
    const b = keep === 0 && take === 1 ? g : tf.add(tf.mul(momentum, keep), tf.mul(g, take))
    const d = a.nesterov ? tf.add(g, tf.mul(b, a.momentum)) : b
    return [tf.sub(param, tf.mul(d, a.lr)), b] as [tf.Tensor, tf.Tensor]
  })
}

/** SGD as an optimizer op (weight-update.ts): state the momentum buffer. */
export const SGD: UpdateOp<SgdAttrs> = {
  name: 'sgd',
  kernel: SGD_KERNEL,
  state: ['momentum'],
  composite: (param, grad, [momentum], a) => sgdComposite(param, grad, momentum, a),
}

const momentumState = (shape: number[], seed: number) => [tf.randomUniform(shape, -0.1, 0.1, 'float32', seed)]

export const sgdOps: OpContract[] = [
  ...updateContracts(SGD, 'SGD update (momentum, dampening, L2; PyTorch\'s)', {lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: false, weightDecay: 5e-4, step: 3}, momentumState, 331),
  ...updateContracts({...SGD, name: 'sgd-nesterov'}, 'SGD update with Nesterov momentum', {lr: 0.1, momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 5e-4, step: 3}, momentumState, 431),
]
