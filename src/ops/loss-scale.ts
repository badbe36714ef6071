/**
 * Multiplying by the loss scale or by its reciprocal (engine.precision mixed16; engine/loss-scaler.ts):
 * the loss × the scale before the backward pass, each gradient × the float32 reciprocal after it.
 * The scale changes while training (halved on an overflow, doubled after a run of good steps), so a
 * backend that replays recorded steps must read it as a per-step value, not as a constant baked into
 * the recording: the webgpu kernel reads [scale, reciprocal] from a per-step tensor that a replayed
 * step rewrites from the step's context (`LOSS_SCALE_VALUES`), the way dropout reads its step.
 *
 * Kernel (the webgpu backend registers it):
 *   `MixtureLossScale` {x} float32, attrs {scale, factor: 'scale' | 'reciprocal'} → x · scale or
 *   x · fround(1 / scale). Its gradient is the same kernel on dy (it is linear).
 */
import {tf} from '../engine/tf.js'
import {customOp, hasKernels, runKernel, type OpContract} from './contract.js'

export const LOSS_SCALE_KERNEL = 'MixtureLossScale'

export interface LossScaleAttrs {
  scale: number
  factor: 'scale' | 'reciprocal'
}

/** [scale, reciprocal] as float32 values: the reciprocal rounded once, as GradScaler's `unscale_`. */
export function lossScaleValues(scale: number): [number, number] {
  return [Math.fround(scale), Math.fround(1 / scale)]
}

/** The per-step values a replayed step writes for the kernel: `lossScaleValues` of the step's scale (none outside mixed16). */
export const LOSS_SCALE_VALUES = {
  name: 'loss-scale',
  values: (context: {lossScale?: number}): number[] => (context.lossScale === undefined ? [] : lossScaleValues(context.lossScale)),
}

function composite(x: tf.Tensor, attrs: LossScaleAttrs): tf.Tensor {
  const [scale, reciprocal] = lossScaleValues(attrs.scale)
  return tf.mul(x, tf.scalar(attrs.factor === 'scale' ? scale : reciprocal))
}

function fused(x: tf.Tensor, attrs: LossScaleAttrs): tf.Tensor {
  const op = customOp((xIn: tf.Tensor) => ({
    value: runKernel(LOSS_SCALE_KERNEL, {x: xIn}, attrs),
    gradFunc: (dy: tf.Tensor) => runKernel(LOSS_SCALE_KERNEL, {x: dy}, attrs),
  }))
  return op(x)
}

/** x × the loss scale (`factor` 'scale') or × its float32 reciprocal: the kernel where the backend has it, else tfjs's Mul. */
export function scaleBy(x: tf.Tensor, scale: number, factor: LossScaleAttrs['factor']): tf.Tensor {
  const attrs: LossScaleAttrs = {scale, factor}
  return x.dtype === 'float32' && hasKernels(LOSS_SCALE_KERNEL) ? fused(x, attrs) : composite(x, attrs)
}

export const lossScaleOps: OpContract[] = (['scale', 'reciprocal'] as const).map((factor) => ({
  name: `loss-scale-${factor}`,
  summary: `x × the loss scale${factor === 'scale' ? '' : "'s float32 reciprocal"} (and its gradient)`,
  kernels: [LOSS_SCALE_KERNEL],
  example: () => [tf.randomUniform([9, 17], -1, 1, 'float32', 131)],
  fused: ([x]) => [fused(x, {scale: 3 * 2 ** 14, factor})],
  composite: ([x]) => [composite(x, {scale: 3 * 2 ** 14, factor})],
  gradients: [0],
  tolerance: 0,
}))
