/**
 * Adam with coupled L2 weight decay, exactly PyTorch's `torch.optim.Adam(weight_decay=wd)`:
 *   g ← g + wd·θ;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   θ ← θ − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
 * (ε is added after the bias-corrected square root, as PyTorch does; tfjs's own AdamOptimizer differs.)
 *
 * The update of one weight tensor is one kernel, so that a backend can run it as a single fused
 * dispatch; backends without it get the composite below. A backend may also update many weights at
 * once, in place (`registerInPlaceAdam`; the webgpu backend does).
 *
 * Kernel (every backend registers it):
 *   `MixtureAdam` {param, grad, m, v} float32 of one shape, attrs `AdamAttrs` → [param', m', v']
 */
import {tf} from '../engine/tf.js'
import {hasKernels, runKernel, type OpContract} from './contract.js'

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
  if (hasKernels(ADAM_KERNEL)) return adamFused(param, grad, m, v, a)
  return adamComposite(param, grad, m, v, a)
}

/** One Adam update of one tensor through `MixtureAdam`. */
export function adamFused(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const out = runKernel<tf.Tensor[]>(ADAM_KERNEL, {param, grad, m, v}, {...a})
  return [out[0], out[1], out[2]]
}

/**
 * A backend's in-place update of many weights at once (fewer dispatches, no new tensors): it
 * updates the tensors it can and returns, per weight, whether it did. Registered by a backend
 * backend (backends/webgpu/kernels/adam.ts); weights it leaves go through `adamUpdate`.
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

/** Whether the active backend updates weights in place (`registerInPlaceAdam`). */
export function hasInPlaceAdam(): boolean {
  return inPlaceUpdaters.has(tf.getBackend())
}

const EXAMPLE_ATTRS: AdamAttrs = {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4, step: 3}

/** param, grad, m, v of one small weight (v ≥ 0). */
function adamExample(shape: number[], seed: number): tf.Tensor[] {
  return [tf.randomUniform(shape, -1, 1, 'float32', seed), tf.randomUniform(shape, -1, 1, 'float32', seed + 1), tf.randomUniform(shape, -0.1, 0.1, 'float32', seed + 2), tf.randomUniform(shape, 0, 0.01, 'float32', seed + 3)]
}

/** Every weight's [param', m', v'] after the in-place update of three weights (inputs: param, grad, m, v of each in turn). */
function inPlaceStep(inputs: tf.Tensor[], update: (params: tf.Variable[], grads: tf.Tensor[], m: tf.Variable[], v: tf.Variable[]) => void): tf.Tensor[] {
  const weights = [0, 4, 8].map((i) => inputs.slice(i, i + 4))
  // Made inside tidy so that each variable owns its data (an in-place update needs that).
  const variable = (t: tf.Tensor) => tf.tidy(() => tf.variable(t.clone(), false))
  const params = weights.map(([p]) => variable(p))
  const m = weights.map(([, , mi]) => variable(mi))
  const v = weights.map(([, , , vi]) => variable(vi))
  update(params, weights.map(([, g]) => g), m, v)
  return params.flatMap((p, i) => [p, m[i], v[i]])
}

export const adamOps: OpContract[] = [
  {
    name: 'adam',
    summary: "one weight's Adam update with coupled L2 (PyTorch's)",
    kernels: [ADAM_KERNEL],
    example: () => adamExample([37, 5], 131),
    fused: ([p, g, m, v]) => adamFused(p, g, m, v, EXAMPLE_ATTRS),
    composite: ([p, g, m, v]) => adamComposite(p, g, m, v, EXAMPLE_ATTRS),
    tolerance: 1e-6,
  },
  {
    name: 'adam-in-place',
    summary: "every weight's Adam update at once, in place",
    kernels: [],
    fusedHere: hasInPlaceAdam,
    example: () => [...adamExample([37, 5], 141), ...adamExample([64], 151), ...adamExample([3, 3, 4, 8], 161)],
    fused: (inputs) => inPlaceStep(inputs, (params, grads, m, v) => adamStep(params, grads, m, v, EXAMPLE_ATTRS)),
    composite: (inputs) =>
      inPlaceStep(inputs, (params, grads, m, v) =>
        params.forEach((p, i) => {
          const [p1, m1, v1] = adamComposite(p, grads[i], m[i], v[i], EXAMPLE_ATTRS)
          p.assign(p1)
          m[i].assign(m1)
          v[i].assign(v1)
          tf.dispose([p1, m1, v1])
        }),
      ),
    tolerance: 1e-6,
  },
]
