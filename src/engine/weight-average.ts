/**
 * The exponential moving average of a model's weights (`train.ema`), as timm's `ModelEmaV2`: a
 * shadow copy of every weight — trainable ones and BatchNorm statistics, as `state_dict()` holds
 * them — taken before the first step and updated after every step,
 *
 *   shadow ← shadow · decay + (1 − decay) · weight
 *
 * in float32, in that order of operations. With `warmup` (timm's `--model-ema-warmup`, ModelEmaV3's
 * `use_warmup` at its gamma 1 and power 2/3) the decay of the run's n-th step is
 * min(decay, 1 − n^(−2/3)): 0 at the first (the shadows become the weights), 0.37 at the second,
 * 0.99 by the 1,000th, so that a decay meant for a long run does not hold a short one's first weights. Evaluation runs on the shadows (`swap` exchanges them with
 * the weights, in place, and back): what the run's test and validation columns score, what best.ckpt
 * holds. The shadows are written in place (ops/store.ts), so that a backend replaying recorded steps
 * (webgpu) keeps reading the same buffers.
 */
import {tf} from './tf.js'
import {constant} from './constants.js'
import {storeInto, zeroVariable} from '../ops/store.js'

/**
 * A tensor with data of its own holding `t`'s values (× 1 is exact): a clone may share `t`'s data,
 * which an in-place write to `t` (a backend's weight update, `storeInto`) would then change too.
 */
function copyOf(t: tf.Tensor): tf.Tensor {
  return tf.mul(t, constant(1))
}

export class WeightAverage {
  private shadows?: tf.Variable[]

  constructor(
    /** Every weight of the model (LayerVariable `val`s), in `model.weights` order. */
    private readonly weights: tf.Variable[],
    readonly decay: number,
    readonly warmup = false,
  ) {}

  /** The decay of the run's `step`-th step (1-based): `decay`, or with `warmup` min(decay, 1 − step^(−2/3)). */
  decayAt(step: number): number {
    return this.warmup ? Math.min(this.decay, 1 - Math.pow(step, -2 / 3)) : this.decay
  }

  /** Whether the shadows exist (taken at the first step, or restored from a checkpoint). */
  get started(): boolean {
    return this.shadows !== undefined
  }

  /** The shadows become copies of the weights as they are now (before the first step). */
  start(): void {
    this.shadows ??= this.weights.map((w) => zeroVariable(w.shape))
    const shadows = this.shadows
    tf.tidy(() => shadows.forEach((s, i) => storeInto(s, copyOf(this.weights[i]))))
  }

  /** The average after the run's `step`-th step (1-based): shadow · decay + (1 − decay) · weight at that step's decay. */
  update(step: number): void {
    if (!this.shadows) throw new Error('WeightAverage.update before start')
    const shadows = this.shadows
    const decay = this.decayAt(step)
    tf.tidy(() => {
      // At the full decay, cached scalars (engine/constants.ts): nothing new is uploaded each step. During a warmup, each step's own.
      const steady = decay === this.decay
      const keep = steady ? constant(decay) : tf.scalar(decay)
      const take = steady ? constant(1 - decay) : tf.scalar(1 - decay)
      shadows.forEach((s, i) => storeInto(s, tf.add(tf.mul(s, keep), tf.mul(this.weights[i], take))))
    })
  }

  /** Exchanges the weights and the shadows, in place; a second call undoes the first. */
  swap(): void {
    if (!this.shadows) return
    const shadows = this.shadows
    tf.tidy(() => {
      shadows.forEach((s, i) => {
        const w = this.weights[i]
        const held = copyOf(w)
        storeInto(w, copyOf(s))
        storeInto(s, held)
      })
    })
  }

  /** The shadows (live tensors: read, do not dispose), in the weights' order; undefined before the first step. */
  values(): tf.Tensor[] | undefined {
    return this.shadows
  }

  /** Continue from saved shadows (a last checkpoint's `ema` group), one per weight in order. */
  restore(values: Float32Array[]): void {
    if (values.length !== this.weights.length) throw new Error(`the average holds ${values.length} tensors but the model has ${this.weights.length} weights`)
    this.shadows ??= this.weights.map((w) => zeroVariable(w.shape))
    this.shadows.forEach((s, i) => tf.tidy(() => storeInto(s, tf.tensor(values[i], s.shape))))
  }

  dispose(): void {
    if (this.shadows) tf.dispose(this.shadows)
    this.shadows = undefined
  }
}
