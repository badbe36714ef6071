/**
 * AdamW on WebGPU (ops/adamw.ts), same arithmetic as the cpu kernel: the weight is decayed by the
 * factor 1 − lr·wd, then Adam without L2. `MixtureAdamW` and the grouped in-place update
 * (programs/weight-update.ts).
 */
import type {AdamAttrs} from '../../../ops/adam.js'
import {ADAMW} from '../../../ops/adamw.js'
import {inPlaceUpdate, updateKernelConfig} from '../programs/weight-update.js'
import {adamLikeProgram, adamStepScalars} from './adam.js'

/**
 * Adam's step scalars and the learning rate: the decay factor 1 − lr·wd is formed in the kernel from
 * the weight group's wd (a uniform), so that both groups (weight_decay_exclude) share one per-step tensor.
 */
function stepScalars(a: AdamAttrs): number[] {
  return [...adamStepScalars(a), a.lr]
}

// A weight group without decay (weight_decay_exclude) has weightDecay 0 in its uniforms: a factor of 1.
export const adamwProgram = adamLikeProgram(
  ADAMW,
  stepScalars,
  (param, grad) => `let p = ${param}[index] * (1.0 - stepScalars[3] * u.weightDecay);
  let g = ${grad}[index];`,
)

export const adamwConfig = updateKernelConfig(adamwProgram)

export const adamwInPlace = inPlaceUpdate(adamwProgram)
