/**
 * Adam with coupled L2 weight decay, exactly PyTorch's `torch.optim.Adam(weight_decay=wd)`:
 *   g ← g + wd·θ;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   θ ← θ − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
 * (ε is added after the bias-corrected square root, as PyTorch does; tfjs's own AdamOptimizer differs.)
 *
 * The update of one weight tensor is one kernel, `MixtureAdam`, so that a backend can run it as a
 * single fused dispatch. Backends without their own registration get the composite below.
 * Kernel contract: inputs {param, grad, m, v} (float32, same shape), attrs {lr, beta1, beta2, eps,
 * weightDecay, step (1-based)}; outputs [param', m', v'].
 */
import {tf} from './tf.js'

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

/** One Adam update of one tensor through the backend's fused kernel when it has one. */
export function adamUpdate(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (tf.getKernel(ADAM_KERNEL, tf.getBackend())) {
    const out = tf.engine().runKernel(ADAM_KERNEL, {param, grad, m, v}, {...a} as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[]
    return [out[0], out[1], out[2]]
  }
  return adamComposite(param, grad, m, v, a)
}

/**
 * A backend's in-place update of many weights at once (fewer dispatches, no new tensors): it
 * updates the tensors it can and returns, per weight, whether it did. Registered by a backend
 * module (webgpu/adam.ts); weights it leaves go through `adamUpdate`.
 */
export type InPlaceAdam = (params: tf.Variable[], grads: tf.Tensor[], m: tf.Variable[], v: tf.Variable[], a: AdamAttrs) => boolean[]

const inPlaceUpdaters = new Map<string, InPlaceAdam>()

export function registerInPlaceAdam(backendName: string, update: InPlaceAdam): void {
  inPlaceUpdaters.set(backendName, update)
}

/**
 * One Adam step over every weight: the backend's in-place updater where it has one, else one fused
 * (or composite) update per tensor whose results replace the variables' values.
 */
export function adamStep(params: tf.Variable[], grads: tf.Tensor[], m: tf.Variable[], v: tf.Variable[], a: AdamAttrs): void {
  const inPlace = inPlaceUpdaters.get(tf.getBackend())
  const done = inPlace ? inPlace(params, grads, m, v, a) : []
  params.forEach((param, i) => {
    if (done[i]) return
    tf.tidy(() => {
      const [p, m1, v1] = adamUpdate(param, grads[i], m[i], v[i], a)
      param.assign(p)
      m[i].assign(m1)
      v[i].assign(v1)
    })
  })
}
