/**
 * The running loss and top-1 sums of a training or evaluation pass, kept on the device as one
 * float32 tensor [Σ loss·batch, Σ correct] and read back only when asked.
 *
 * A backend may register an in-place update (backends/webgpu/kernels/metric-sums.ts: one dispatch adds a batch's loss and
 * count into the sums where they are, one zeroes them), so that the tensor keeps its data from step
 * to step — which a recorded step needs in order to be replayed (backends/webgpu/graph.ts). Elsewhere each
 * batch makes a new tensor from the old one (the same float32 arithmetic).
 */
import {tf} from '../engine/tf.js'
import {constant} from '../engine/constants.js'

export interface InPlaceMetrics {
  /** sums += [loss·batch, correct] in place; false when it cannot (the caller then does it). */
  accumulate(sums: tf.Tensor, loss: tf.Scalar, correct: tf.Scalar, batch: number): boolean
  /** sums = 0 in place; false when it cannot. */
  zero(sums: tf.Tensor): boolean
}

const inPlace = new Map<string, InPlaceMetrics>()

export function registerInPlaceMetrics(backendName: string, ops: InPlaceMetrics): void {
  inPlace.set(backendName, ops)
}

export class MetricSums {
  private sums: tf.Tensor1D
  private count = 0

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
    if (inPlace.get(tf.getBackend())?.accumulate(this.sums, loss, correct, batch)) return
    // Kept: the caller may be inside a tidy (evaluation) that must not dispose the sums.
    const next = tf.keep(tf.tidy(() => tf.add(this.sums, tf.concat([tf.reshape(tf.mul(loss, constant(batch)), [1]), tf.reshape(correct, [1])])) as tf.Tensor1D))
    this.sums.dispose()
    this.sums = next
  }

  /** Counts `batch` more examples whose sums a replayed step added on the device. */
  addReplayed(batch: number): void {
    this.count += batch
  }

  /** Mean loss and accuracy so far (one read from the device). */
  async read(): Promise<{loss: number; accuracy: number; examples: number}> {
    const [loss, correct] = await this.sums.data()
    const n = Math.max(1, this.count)
    return {loss: loss / n, accuracy: correct / n, examples: this.count}
  }

  reset(): void {
    this.count = 0
    if (inPlace.get(tf.getBackend())?.zero(this.sums)) return
    this.sums.dispose()
    this.sums = fresh()
  }

  dispose(): void {
    this.sums.dispose()
  }
}

/** Made inside tidy so that the tensor owns its data (an in-place update needs that). */
function fresh(): tf.Tensor1D {
  return tf.keep(tf.tidy(() => tf.zeros([2], 'float32')))
}
