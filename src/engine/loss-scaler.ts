/**
 * Dynamic loss scaling, as torch.cuda.amp.GradScaler does it (engine.precision mixed16; the settings
 * are `engine.loss_scale`, with GradScaler's defaults). The loss is multiplied by the scale before
 * the gradients are taken, so that gradients too small for float16 survive the float16 products of
 * the backward pass; the gradients are then divided by it in float32 (multiplied by the float32
 * reciprocal, as `unscale_`), and where any is infinite or NaN the step is skipped — the weights, the
 * optimizer's state and its step count stay as they were — and the scale multiplied by the backoff
 * factor. After `growth_interval` steps in a row without an overflow it is multiplied by the growth
 * factor. Deciding whether to skip reads one value back from the device per step, as GradScaler's
 * `step` does (`found_inf.item()`). The scale is kept here, on the host, and reaches the device as a
 * per-step value (ops/loss-scale.ts), so that a backend may replay the step's two halves (trainer.ts).
 */
import {tf} from './tf.js'
import {scaleBy, unscaleInto} from '../ops/loss-scale.js'

export interface LossScaleSettings {
  init: number
  growth_factor: number
  backoff_factor: number
  growth_interval: number
}

/** What a checkpoint keeps of the scaler (the names of GradScaler's state_dict). */
export interface LossScalerState {
  scale: number
  growth_tracker: number
  /** Steps skipped so far: the optimizer has taken that many fewer steps than the trainer. */
  skipped_steps: number
}

export class LossScaler {
  scale: number
  private growthTracker = 0
  skippedSteps = 0

  constructor(readonly settings: LossScaleSettings) {
    this.scale = Math.fround(settings.init)
  }

  /** The loss to take gradients of: `loss` × the scale. */
  scaleLoss(loss: tf.Scalar): tf.Scalar {
    return scaleBy(loss, this.scale, 'scale') as tf.Scalar
  }

  /** The gradients divided by the scale, stored into `targets` (in place where the backend can), and a scalar that is 0 unless a stored value is not finite (ops/loss-scale.ts `unscaleInto`). */
  unscaleInto(targets: tf.Variable[], grads: tf.Tensor[]): tf.Scalar {
    return unscaleInto(targets, grads, this.scale)
  }

  /** After a step: `overflow` says whether its gradients were not finite (the step was skipped). */
  update(overflow: boolean): void {
    const {growth_factor, backoff_factor, growth_interval} = this.settings
    if (overflow) {
      this.scale = Math.fround(this.scale * backoff_factor)
      this.growthTracker = 0
      this.skippedSteps++
      return
    }
    this.growthTracker++
    if (this.growthTracker === growth_interval) {
      // GradScaler grows the scale only while the result stays finite.
      const grown = Math.fround(this.scale * growth_factor)
      if (Number.isFinite(grown)) this.scale = grown
      this.growthTracker = 0
    }
  }

  state(): LossScalerState {
    return {scale: this.scale, growth_tracker: this.growthTracker, skipped_steps: this.skippedSteps}
  }

  setState(state: LossScalerState): void {
    this.scale = state.scale
    this.growthTracker = state.growth_tracker
    this.skippedSteps = state.skipped_steps
  }
}
