/**
 * The running loss and top-1 sums of a training or evaluation pass, kept on the device as one
 * float32 tensor [Σ loss·batch, Σ correct, Σ correct/batch] and read back only when asked. The
 * third sum gives the mean of per-batch accuracies (the paper's definition, where a short last batch
 * weighs as much as a full one) next to the accuracy per example (Σ correct / examples).
 *
 * A backend may register an in-place update (backends/webgpu/kernels/metric-sums.ts: one dispatch adds a batch's loss and
 * count into the sums where they are, one zeroes them), so that the tensor keeps its data from step
 * to step — which a recorded step needs in order to be replayed (backends/webgpu/graph.ts). Elsewhere each
 * batch makes a new tensor from the old one (the same float32 arithmetic).
 */
import {tf} from '../engine/tf.js'
import {constant} from '../engine/constants.js'
import {storeInPlace} from './store.js'

/** Number of running sums: Σ loss·batch, Σ correct, Σ correct/batch. */
export const METRIC_SUMS = 3

export interface InPlaceMetrics {
  /** sums += [loss·batch, correct, correct/batch] in place; false when it cannot (the caller then does it). */
  accumulate(sums: tf.Tensor, loss: tf.Scalar, correct: tf.Scalar, batch: number): boolean
  /** sums = 0 in place; false when it cannot. */
  zero(sums: tf.Tensor): boolean
}

const inPlace = new Map<string, InPlaceMetrics>()

export function registerInPlaceMetrics(backendName: string, ops: InPlaceMetrics): void {
  inPlace.set(backendName, ops)
}

/** Mean loss per example, top-1 accuracy per example, the mean of per-batch top-1 accuracies. */
export interface MetricMeans {
  loss: number
  accuracy: number
  batch_mean_accuracy: number
  examples: number
}

/**
 * What an epoch's accuracy averages: every example alike (`per_example`), or the mean of per-batch
 * accuracies (`batch_mean`, the paper's main.py: a short last batch weighs as much as a full one).
 */
export type AccuracyDefinition = 'per_example' | 'batch_mean'

export function epochAccuracy(m: MetricMeans, definition: AccuracyDefinition): number {
  return definition === 'batch_mean' ? m.batch_mean_accuracy : m.accuracy
}

export class MetricSums {
  private sums: tf.Tensor1D
  private count = 0
  private batches = 0

  constructor() {
    this.sums = fresh()
  }

  /** The device tensor holding the sums (state of a training step). */
  get tensor(): tf.Tensor1D {
    return this.sums
  }

  get examples(): number {
    return this.count
  }

  /** Adds one batch's mean loss and top-1 count; disposes neither. */
  add(loss: tf.Scalar, correct: tf.Scalar, batch: number): void {
    this.count += batch
    this.batches++
    if (inPlace.get(tf.getBackend())?.accumulate(this.sums, loss, correct, batch)) return
    this.replaceBy(sumWith(this.sums, () => batchSums(loss, correct, batch)))
  }

  /**
   * Adds sums another pass kept on the device (`batchSums` of its batches, added up: the batches of a
   * loss-scaled accumulating step, trainer.ts), in place where the backend can; the caller counts
   * their examples and batches (`addReplayed`, once per batch).
   */
  addSums(sums: tf.Tensor): void {
    const next = sumWith(this.sums, () => sums)
    if (storeInPlace(this.sums, next)) next.dispose()
    else this.replaceBy(next)
  }

  /** The sums become `next` (its own tensor, kept), the old ones disposed. */
  private replaceBy(next: tf.Tensor1D): void {
    this.sums.dispose()
    this.sums = next
  }

  /** Counts `batch` more examples whose sums a replayed step added on the device. */
  addReplayed(batch: number): void {
    this.count += batch
    this.batches++
  }

  /** Mean loss and accuracies so far (one read from the device). */
  async read(): Promise<MetricMeans> {
    const [loss, correct, batchAccuracies] = await this.sums.data()
    const n = Math.max(1, this.count)
    return {loss: loss / n, accuracy: correct / n, batch_mean_accuracy: batchAccuracies / Math.max(1, this.batches), examples: this.count}
  }

  reset(): void {
    this.count = 0
    this.batches = 0
    if (inPlace.get(tf.getBackend())?.zero(this.sums)) return
    this.sums.dispose()
    this.sums = fresh()
  }

  dispose(): void {
    this.sums.dispose()
  }
}

/** sums + more(), made in a tidy (what `more` makes is disposed) and kept: the caller may be inside a tidy (evaluation's) that must not dispose it. */
function sumWith(sums: tf.Tensor1D, more: () => tf.Tensor): tf.Tensor1D {
  return tf.keep(tf.tidy(() => tf.add(sums, more()) as tf.Tensor1D))
}

/** One batch's contribution to the sums: [loss·batch, correct, correct/batch]. */
export function batchSums(loss: tf.Scalar, correct: tf.Scalar, batch: number): tf.Tensor1D {
  const c = tf.reshape(correct, [1])
  return tf.concat([tf.reshape(tf.mul(loss, constant(batch)), [1]), c, tf.div(c, constant(batch))]) as tf.Tensor1D
}

/** Made inside tidy so that the tensor owns its data (an in-place update needs that). */
function fresh(): tf.Tensor1D {
  return tf.keep(tf.tidy(() => tf.zeros([METRIC_SUMS], 'float32')))
}
