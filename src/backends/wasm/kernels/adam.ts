/**
 * `MixtureAdam` (ops/adam.ts) as one pass over the WASM heap: reads param,
 * grad, m, v once and writes param', m', v' once, where the composite runs a dozen kernels, each
 * a full pass with its own allocation.
 */
import {tf} from '../../../engine/tf.js'
import type {AdamAttrs} from '../../../ops/adam.js'
import {ADAM_KERNEL} from '../../../ops/adam.js'
import {type Backend, type Info, heapF32, offsetOf} from '../heap.js'

function kernel({inputs, backend, attrs}: {inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap}): Info[] {
  const b = backend as Backend
  const {param, grad, m, v} = inputs as {param: Info; grad: Info; m: Info; v: Info}
  const a = attrs as unknown as AdamAttrs
  for (const t of [param, grad, m, v]) {
    if (t.dtype !== 'float32') throw new Error(`${ADAM_KERNEL} needs float32 tensors, got ${t.dtype}`)
    if (!tf.util.arraysEqual(t.shape, param.shape)) throw new Error(`${ADAM_KERNEL} needs tensors of one shape, got ${param.shape} and ${t.shape}`)
  }
  const size = tf.util.sizeFromShape(param.shape)
  const pOut = b.makeOutput(param.shape, 'float32')
  const mOut = b.makeOutput(param.shape, 'float32')
  const vOut = b.makeOutput(param.shape, 'float32')
  const heap = heapF32(b) // after the allocations: they may have grown the memory
  const p0 = offsetOf(b, param) >>> 2
  const g0 = offsetOf(b, grad) >>> 2
  const m0 = offsetOf(b, m) >>> 2
  const v0 = offsetOf(b, v) >>> 2
  const pr = offsetOf(b, pOut) >>> 2
  const mr = offsetOf(b, mOut) >>> 2
  const vr = offsetOf(b, vOut) >>> 2
  const {lr, beta1, beta2, eps, weightDecay, step} = a
  const c1 = 1 - beta1
  const c2 = 1 - beta2
  const stepSize = lr / (1 - beta1 ** step)
  const invSqrtBc2 = 1 / Math.sqrt(1 - beta2 ** step)
  for (let i = 0; i < size; i++) {
    const p = heap[p0 + i]
    const g = heap[g0 + i] + weightDecay * p
    const m1 = beta1 * heap[m0 + i] + c1 * g
    const v1 = beta2 * heap[v0 + i] + c2 * g * g
    heap[mr + i] = m1
    heap[vr + i] = v1
    heap[pr + i] = p - (stepSize * m1) / (Math.sqrt(v1) * invSqrtBc2 + eps)
  }
  return [pOut, mOut, vOut]
}

export const adamConfig: tf.KernelConfig = {kernelName: ADAM_KERNEL, backendName: 'wasm', kernelFunc: kernel as unknown as tf.KernelFunc}
