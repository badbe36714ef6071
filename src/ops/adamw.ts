/**
 * AdamW, exactly PyTorch's `torch.optim.AdamW(weight_decay=wd)`: decoupled weight decay, then Adam
 * without L2:
 *   θ ← θ · (1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   θ ← θ − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
 *
 * Kernel (every backend registers it; the webgpu backend also updates weights in place):
 *   `MixtureAdamW` {param, grad, m, v} float32 of one shape, attrs `AdamAttrs` → [param', m', v']
 */
import {tf} from '../engine/tf.js'
import {adamComposite, adamExampleState, type AdamAttrs} from './adam.js'
import type {OpContract} from './contract.js'
import {updateContracts, type UpdateOp} from './weight-update.js'

export const ADAMW_KERNEL = 'MixtureAdamW'

/** Reference composite: used on backends that do not register `MixtureAdamW`. */
export function adamwComposite(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const decayed = a.weightDecay === 0 ? param : tf.mul(param, 1 - a.lr * a.weightDecay)
    return adamComposite(decayed, grad, m, v, {...a, weightDecay: 0})
  })
}

/** AdamW as an optimizer op (weight-update.ts): state m and v, as Adam's. */
export const ADAMW: UpdateOp<AdamAttrs> = {
  name: 'adamw',
  kernel: ADAMW_KERNEL,
  state: ['m', 'v'],
  composite: (param, grad, [m, v], a) => adamwComposite(param, grad, m, v, a),
}

export const adamwOps: OpContract[] = updateContracts(ADAMW, 'AdamW update (decoupled decay, PyTorch\'s)', {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, step: 3}, adamExampleState, 231)
