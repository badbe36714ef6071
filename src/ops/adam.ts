/**
 * Adam with coupled L2 weight decay, exactly PyTorch's `torch.optim.Adam(weight_decay=wd)`:
 *   g ← g + wd·θ;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   θ ← θ − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
 * (ε is added after the bias-corrected square root, as PyTorch does; tfjs's own AdamOptimizer differs.)
 *
 * The update of one weight tensor is one kernel, so that a backend can run it as a single fused
 * dispatch; backends without it get the composite below. A backend may also update many weights at
 * once, in place (weight-update.ts `registerInPlaceUpdate`; the webgpu backend does).
 *
 * Kernel (every backend registers it):
 *   `MixtureAdam` {param, grad, m, v} float32 of one shape, attrs `AdamAttrs` → [param', m', v']
 */
import {tf} from '../engine/tf.js'
import type {OpContract} from './contract.js'
import {updateContracts, updateOne, updateStep, type UpdateOp} from './weight-update.js'

export const ADAM_KERNEL = 'MixtureAdam'

export interface AdamConfig {
  lr: number
  beta1: number
  beta2: number
  eps: number
  weightDecay: number
}

export interface AdamAttrs extends AdamConfig {
  step: number
}

/** Reference composite: used on backends that do not register `MixtureAdam`. */
export function adamComposite(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const g = a.weightDecay === 0 ? grad : tf.add(grad, tf.mul(param, a.weightDecay))
    const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(g, 1 - a.beta1))
    const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), 1 - a.beta2))
    const bc1 = 1 - a.beta1 ** a.step
    const bc2 = 1 - a.beta2 ** a.step
    const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(bc2)), a.eps)
    const p1 = tf.sub(param, tf.mul(tf.div(m1, denom), a.lr / bc1))
    return [p1, m1, v1] as [tf.Tensor, tf.Tensor, tf.Tensor]
  })
}

/** Adam as an optimizer op (weight-update.ts): state m and v. */
export const ADAM: UpdateOp<AdamAttrs> = {
  name: 'adam',
  kernel: ADAM_KERNEL,
  state: ['m', 'v'],
  composite: (param, grad, [m, v], a) => adamComposite(param, grad, m, v, a),
}

/** One Adam update of one tensor through the backend's fused kernel when it has one. */
export function adamUpdate(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return updateOne(ADAM, param, grad, [m, v], a) as [tf.Tensor, tf.Tensor, tf.Tensor]
}

/**
 * One Adam step over every weight: the backend's in-place update where it has one (the webgpu
 * backend's), else one fused (or composite) update per tensor whose results replace the variables' values.
 */
export function adamStep(params: tf.Variable[], grads: tf.Tensor[], m: tf.Variable[], v: tf.Variable[], a: AdamAttrs): void {
  updateStep(
    ADAM,
    params,
    grads,
    params.map((_, i) => [m[i], v[i]]),
    a,
  )
}

/** Adam's m (±0.1) and v (≥ 0) of one small weight. */
export function adamExampleState(shape: number[], seed: number): tf.Tensor[] {
  return [tf.randomUniform(shape, -0.1, 0.1, 'float32', seed), tf.randomUniform(shape, 0, 0.01, 'float32', seed + 1)]
}

export const adamOps: OpContract[] = updateContracts(ADAM, 'Adam update with coupled L2 (PyTorch\'s)', {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4, step: 3}, adamExampleState, 131)
