/**
 * Adam on WebGPU (ops/adam.ts), same arithmetic as the cpu kernel (PyTorch's Adam with coupled L2
 * decay): `MixtureAdam` and the grouped in-place update (programs/weight-update.ts says how both run).
 */
import type {AdamAttrs} from '../../../ops/adam.js'
import {ADAM} from '../../../ops/adam.js'
import type {StepContext} from '../../../engine/step-graph.js'
import type {WebgpuBackendInternals} from '../runner.js'
import {inPlaceUpdate, updateGroupSize, updateKernelConfig, type UpdateProgram} from '../programs/weight-update.js'

/**
 * [lr / (1 − β1ᵗ), √(1 − β2ᵗ), β1]: Adam's per-step values (AdamW's start with them). β1 is one of
 * them because a schedule may change it every step (onecycle's cycle_momentum).
 */
export function adamStepScalars(a: AdamAttrs): number[] {
  return [a.lr / (1 - a.beta1 ** a.step), Math.sqrt(1 - a.beta2 ** a.step), a.beta1]
}

/**
 * The program of Adam or AdamW (they differ in the per-step values and in how `p` and `g` are read:
 * `start` gives the WGSL defining them from the weight's and the gradient's arrays); the moments'
 * update and the step are the same.
 */
export function adamLikeProgram(op: {name: string; kernel: string; state: string[]}, stepScalars: (a: AdamAttrs) => number[], start: (param: string, grad: string) => string): UpdateProgram<AdamAttrs> {
  return {
    kernel: op.kernel,
    key: op.name,
    state: op.state,
    hyperFields: `beta2 : f32,
  eps : f32,
  weightDecay : f32,`,
    hyper: (a) => [a.beta2, a.eps, a.weightDecay].map((value) => ({type: 'float32', data: [value]})),
    stepValues: {name: op.name, values: (context: StepContext) => (context.update.op === op.name ? stepScalars(context.update.attrs as AdamAttrs) : [])},
    stepScalars,
    body: (param, grad, [m, v], outP, [outM, outV]) => `${start(param, grad)}
  let beta1 = stepScalars[2];
  let m1 = beta1 * ${m}[index] + (1.0 - beta1) * g;
  let v1 = u.beta2 * ${v}[index] + (1.0 - u.beta2) * g * g;
  ${outM}[index] = m1;
  ${outV}[index] = v1;
  // stepScalars = [lr / (1 - beta1^t), sqrt(1 - beta2^t), beta1, ...]
  ${outP}[index] = p - (stepScalars[0] * m1) / (sqrt(v1) / stepScalars[1] + u.eps);`,
  }
}

export const adamProgram = adamLikeProgram(
  ADAM,
  adamStepScalars,
  (param, grad) => `let p = ${param}[index];
  let g = ${grad}[index] + u.weightDecay * p;`,
)

export const adamConfig = updateKernelConfig(adamProgram)

export const adamInPlace = inPlaceUpdate(adamProgram)

/** Weights per in-place Adam dispatch on this device. */
export function adamGroupSize(backend: WebgpuBackendInternals): number {
  return updateGroupSize(backend, ADAM.state.length)
}
