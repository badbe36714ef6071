/**
 * SGD with momentum on WebGPU (ops/sgd.ts), same arithmetic as the cpu kernel: `MixtureSgd` and the
 * grouped in-place update (programs/weight-update.ts). The learning rate, the buffer's scales (the
 * first step copies the gradient) and the momentum (a schedule may cycle it: onecycle's
 * cycle_momentum) are per-step values; decay and Nesterov are uniforms.
 */
import {SGD, sgdBufferScales, type SgdAttrs} from '../../../ops/sgd.js'
import type {StepContext} from '../../../engine/step-graph.js'
import {inPlaceUpdate, updateKernelConfig, type UpdateProgram} from '../programs/weight-update.js'

/** [lr, keep, take, momentum]: the buffer's update is keep·b + take·g (sgdBufferScales). */
function stepScalars(a: SgdAttrs): number[] {
  const {keep, take} = sgdBufferScales(a)
  return [a.lr, keep, take, a.momentum]
}

const stepValues = (context: StepContext) => (context.update.op === SGD.name ? stepScalars(context.update.attrs as SgdAttrs) : [])

export const sgdProgram: UpdateProgram<SgdAttrs> = {
  kernel: SGD.kernel,
  key: 'sgd',
  state: SGD.state,
  hyperFields: `weightDecay : f32,
  nesterov : u32,`,
  hyper: (a) => [
    {type: 'float32', data: [a.weightDecay]},
    {type: 'uint32', data: [a.nesterov ? 1 : 0]},
  ],
  stepValues: {name: 'sgd', values: stepValues},
  stepScalars,
  body: (param, grad, [b], outP, [outB]) => `let p = ${param}[index];
  let g = ${grad}[index] + u.weightDecay * p;
  let b = stepScalars[1] * ${b}[index] + stepScalars[2] * g;
  ${outB}[index] = b;
  ${outP}[index] = p - stepScalars[0] * select(b, g + stepScalars[3] * b, u.nesterov != 0u);`,
}

export const sgdConfig = updateKernelConfig(sgdProgram)

export const sgdInPlace = inPlaceUpdate(sgdProgram)
