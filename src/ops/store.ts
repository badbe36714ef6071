/**
 * Writing a tensor's values into a variable whose data stays where it is. The loss-scaled training
 * step runs in two halves (engine/trainer.ts): the backward half stores the unscaled gradients and
 * [overflow, loss, correct] into variables the update half reads after the host has seen whether the
 * gradients overflowed. A backend that replays recorded steps needs those variables written in place,
 * not given new data (backends/webgpu/graph.ts); the webgpu backend registers a one-dispatch copy into
 * the variable's own buffer. Elsewhere the variable is assigned the value.
 */
import {tf} from '../engine/tf.js'
import type {OpContract} from './contract.js'

/** target (a tensor with data of its own) ← value in place; false when it cannot (the caller then assigns, or replaces it). */
export type InPlaceStore = (target: tf.Tensor, value: tf.Tensor) => boolean

const inPlace = new Map<string, InPlaceStore>()

export function registerInPlaceStore(backendName: string, store: InPlaceStore): void {
  inPlace.set(backendName, store)
}

/** `target` takes `value`'s values (same shape and dtype): in place where the backend can, else `assign`. */
export function storeInto(target: tf.Variable, value: tf.Tensor): void {
  if (!storeInPlace(target, value)) target.assign(value)
}

/**
 * `target` (any tensor with data of its own, not only a variable) takes `value`'s values in place,
 * where the backend can: whether it did (else the caller replaces `target`).
 */
export function storeInPlace(target: tf.Tensor, value: tf.Tensor): boolean {
  if (!tf.util.arraysEqual(target.shape, value.shape) || target.dtype !== value.dtype) {
    throw new Error(`storeInto: a ${value.dtype} [${value.shape}] value for a ${target.dtype} [${target.shape}] variable`)
  }
  return inPlace.get(tf.getBackend())?.(target, value) ?? false
}

/**
 * A float32 variable of zeros with data of its own — made inside tidy, so that no other tensor shares
 * it — which a backend may then write in place (this op, the optimizers' in-place updates).
 */
export function zeroVariable(shape: number[]): tf.Variable {
  return tf.tidy(() => tf.variable(tf.zeros(shape), false))
}

export const storeOp: OpContract = {
  name: 'store',
  summary: "a value written into a variable's own data",
  kernels: [],
  fusedHere: () => inPlace.has(tf.getBackend()),
  example: () => [tf.randomUniform([5, 33], -1, 1, 'float32', 141)],
  fused: ([value]) => {
    const target = zeroVariable(value.shape)
    const before = target.dataId
    storeInto(target, value)
    if (target.dataId !== before) throw new Error('storeInto gave the variable new data instead of writing it in place')
    return [target]
  },
  composite: ([value]) => {
    const target = zeroVariable(value.shape)
    target.assign(value)
    return [target]
  },
  tolerance: 0,
}
