/**
 * What a project op is, and the few helpers every op file uses.
 *
 * A project op (one file in this folder) names the kernels a backend may register for it
 * (`Mixture…`, exported as `…_KERNEL`), states their inputs and attributes, computes the op from
 * tfjs ops (the composite, which every backend runs), and dispatches: through its kernels where the
 * active backend registered all of them, else the composite. Backends register the kernels
 * (src/backends/<name>/kernels/); layers and the trainer call the dispatcher and never name a kernel.
 * Each op describes itself as an `OpContract`, which the ops contract test walks on every backend.
 */
import {tf} from '../engine/tf.js'

/** Whether the active backend registered every one of `kernelNames`. */
export function hasKernels(...kernelNames: string[]): boolean {
  const backend = tf.getBackend()
  return kernelNames.every((name) => tf.getKernel(name, backend) != null)
}

/** Runs the active backend's kernel `kernelName` (inputs by name, attributes as the kernel's contract says). */
export function runKernel<T extends tf.Tensor | tf.Tensor[] = tf.Tensor>(kernelName: string, inputs: tf.NamedTensorMap, attrs?: object): T {
  return tf.engine().runKernel(kernelName, inputs, attrs as tf.NamedAttrMap | undefined) as unknown as T
}

/** The gradient function and saved tensors of a custom op (tf.customGrad's contract, untyped inputs). */
export type CustomOp = (...args: never[]) => {value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[]}

/** `tf.customGrad` over any number of tensor inputs: `f` gets them, then the save function. */
export function customOp(f: CustomOp): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor
}

/**
 * `forward` {x} as one kernel and its gradient as `backward` {dy, x}: one kernel each way (the
 * caller checks that the active backend has both).
 */
export function unaryKernelOp(forward: string, backward: string, x: tf.Tensor): tf.Tensor {
  const op = customOp((xIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xIn])
    return {
      value: runKernel(forward, {x: xIn}),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => runKernel(backward, {dy, x: saved[0]}),
    }
  })
  return op(x)
}

/**
 * An op as the contract test sees it: made of its kernels or of tfjs ops, on small inputs of its
 * own. Both ways must agree on every backend that registers the kernels.
 */
export interface OpContract {
  /** The op, as its file under src/ops/ names it (a file may hold more than one: `adam`, `adam-in-place`). */
  name: string
  /** What it computes, in one line. */
  summary: string
  /** The kernels that fuse it (none for an op fused otherwise: an in-place update, a gradient). */
  kernels: string[]
  /** Whether the active backend runs the op fused; default: it registered every one of `kernels`. */
  fusedHere?(): boolean
  /** Small inputs (seeded; made on the active backend). */
  example(): tf.Tensor[]
  /** The op through the backend's kernels (called only where `fusedHere()`); the first output is the op's value. */
  fused(inputs: tf.Tensor[]): tf.Tensor[]
  /** The op without its kernels: the composite its dispatcher falls back to. */
  composite(inputs: tf.Tensor[]): tf.Tensor[]
  /** Inputs whose gradients (of the first output) are compared too; none: outputs only. */
  gradients?: number[]
  /** Largest accepted |fused − composite| over max(1, |composite|). */
  tolerance: number
}
