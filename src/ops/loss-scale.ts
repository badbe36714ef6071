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
 *
 * And after the backward pass, `unscaleInto`: every gradient × the reciprocal written into a variable
 * of the step's (ops/store.ts says why in place), with one flag for any value not finite — what
 * GradScaler's `_amp_foreach_non_finite_check_and_unscale_` does. A backend may do it in one
 * dispatch per gradient (`registerInPlaceUnscale`; the webgpu backend does) instead of four (the
 * multiplication, x·0, its sum, the store).
 */
import {tf} from '../engine/tf.js'
import {customOp, hasKernels, runKernel, type OpContract} from './contract.js'
import {storeInto, zeroVariable} from './store.js'

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

/**
 * The gradients × the float32 reciprocal of `scale` (new tensors), and a scalar that is 0 when all of
 * them are finite and NaN when any is not (x·0 is NaN for x = ±∞ or NaN; one sum over all of them).
 */
function unscale(grads: tf.Tensor[], scale: number): {grads: tf.Tensor[]; nonFinite: tf.Scalar} {
  return tf.tidy(() => {
    const unscaled = grads.map((g) => scaleBy(g, scale, 'reciprocal'))
    const nonFinite = tf.addN(unscaled.map((g) => tf.sum(tf.mul(g, 0)))) as tf.Scalar
    return {grads: unscaled, nonFinite}
  })
}

/**
 * targets[i] ← grads[i] × the float32 reciprocal of `scale`, in place, for every gradient, and a
 * float32 flag that is not 0 when any value written is not finite (undefined: the backend cannot,
 * and the caller does it the plain way). `targets` are float32 variables of the gradients' shapes
 * with data of their own (`zeroVariable`).
 */
export type InPlaceUnscale = (targets: tf.Variable[], grads: tf.Tensor[], scale: number) => tf.Scalar | undefined

const inPlaceUnscale = new Map<string, InPlaceUnscale>()

export function registerInPlaceUnscale(backendName: string, unscaleFn: InPlaceUnscale): void {
  inPlaceUnscale.set(backendName, unscaleFn)
}

/** `unscaleInto` without the backend's in-place kernel: `unscale`, then each result stored (`storeInto`); the flag is 0 or NaN. */
function unscaleIntoComposite(targets: tf.Variable[], grads: tf.Tensor[], scale: number): tf.Scalar {
  return tf.tidy(() => {
    const {grads: unscaled, nonFinite} = unscale(grads, scale)
    unscaled.forEach((g, i) => storeInto(targets[i], g))
    return nonFinite
  })
}

/**
 * Each gradient × the float32 reciprocal of `scale`, stored into `targets[i]` (`storeInto`), and a
 * float32 scalar that is 0 when every stored value is finite and not 0 (NaN or 1) when any is not:
 * in one dispatch per gradient where the backend registered it, else `unscaleIntoComposite`.
 */
export function unscaleInto(targets: tf.Variable[], grads: tf.Tensor[], scale: number): tf.Scalar {
  if (targets.length !== grads.length) throw new Error(`unscaleInto: ${grads.length} gradients for ${targets.length} variables`)
  return inPlaceUnscale.get(tf.getBackend())?.(targets, grads, scale) ?? unscaleIntoComposite(targets, grads, scale)
}

/** Stores into fresh zero variables of `grads`' shapes: the stored values, then 1 where the flag was set (0 where not). */
function storedAndFlag(grads: tf.Tensor[], store: (targets: tf.Variable[]) => tf.Scalar): tf.Tensor[] {
  const targets = grads.map((g) => zeroVariable(g.shape))
  const flag = tf.tidy(() => tf.cast(tf.notEqual(store(targets), 0), 'float32'))
  return [...targets, flag]
}

/** Three gradients at `scale`; with `bad` (±∞ or NaN), one value of the second is that. */
function unscaleContract(scale: number, bad: number | undefined, seed: number): OpContract {
  return {
    name: `unscale-into, scale ${scale}${bad === undefined ? '' : `, a gradient holding ${bad}`}`,
    summary: "gradients × the loss scale's float32 reciprocal, stored in place, and a flag for any value not finite",
    kernels: [],
    fusedHere: () => inPlaceUnscale.has(tf.getBackend()),
    example: () => [
      tf.randomUniform([4, 33], -5e4, 5e4, 'float32', seed),
      tf.tidy(() => {
        const g = tf.randomUniform([7], -5e4, 5e4, 'float32', seed + 1)
        return bad === undefined ? g : tf.concat([tf.slice(g, 0, 3), tf.tensor1d([bad]), tf.slice(g, 4, 3)])
      }),
      tf.randomUniform([2, 3, 5], -5e4, 5e4, 'float32', seed + 2),
    ],
    fused: (grads) => storedAndFlag(grads, (targets) => unscaleInto(targets, grads, scale)),
    composite: (grads) => storedAndFlag(grads, (targets) => unscaleIntoComposite(targets, grads, scale)),
    tolerance: 0,
  }
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

/** At 2¹⁶ (the reciprocal exact) and 3·2¹⁴ (rounded); one gradient holding −∞ or NaN. */
export const unscaleOps: OpContract[] = [
  unscaleContract(2 ** 16, undefined, 151),
  unscaleContract(3 * 2 ** 14, undefined, 155),
  unscaleContract(2 ** 16, -Infinity, 159),
  unscaleContract(3 * 2 ** 14, NaN, 163),
]
