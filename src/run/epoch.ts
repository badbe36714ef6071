/**
 * One epoch of a run: `trainOneEpoch` takes the epoch's training steps (seeded shuffle and
 * augmentation, loss and accuracy read back every `train.metrics_every` steps), `evaluate` runs the
 * test split without augmentation. Both leave the trainer's running metrics reset for the next.
 */
import {tf} from '../engine/tf.js'
import type {Targets, Trainer} from '../engine/trainer.js'
import type {Pipeline, Split} from '../data/index.js'
import {epochBatches, epochBatchesAhead, type BatchWorkers, type EpochBatchOptions} from '../data/batch-workers.js'
import type {BatchMixer} from '../data/batch-mix.js'
import {epochAccuracy} from '../ops/metric-sums.js'
import type {ResolvedSpec} from '../schema/spec.js'
import {InterruptedError, NonFiniteLossError, type StopRequest} from '../errors.js'
import type {Progress} from './progress.js'

/** Upload one batch; the typed arrays may be reused by the iterator afterwards. */
function toTensors(batch: {x: Float32Array; y: Int32Array; size: number}, size: number): [tf.Tensor4D, tf.Tensor1D] {
  return [tf.tensor4d(batch.x, [batch.size, size, size, 3]), tf.tensor1d(batch.y, 'int32')]
}

/** Upload one training batch: its labels, or with a mixer (train.mixup) its images mixed in place and their targets. */
function trainingTensors(batch: {x: Float32Array; y: Int32Array; size: number}, size: number, mixer: BatchMixer | undefined): [tf.Tensor4D, Targets] {
  if (!mixer) return toTensors(batch, size)
  const targets = mixer.mix(batch, size)
  return [tf.tensor4d(batch.x, [batch.size, size, size, 3]), tf.tensor2d(targets, [batch.size, mixer.options.numClasses])]
}

export interface EpochPlan {
  epoch: number
  /** The learning rate of the epoch's batch `batch` (0-based): its optimizer step's (train.schedule). */
  lrAt: (batch: number) => number
  /** Its momentum, where the schedule sets it (onecycle's cycle_momentum). */
  momentumAt?: (batch: number) => number
  /** Training batches to take: the epoch's, at most `train.steps_per_epoch` (with train.accumulate_grad_batches, several make one optimizer step). */
  steps: number
  augment: false | Pipeline
  /** train.mixup: mixes each batch after the augmentation (this epoch's draws). */
  mixer?: BatchMixer
  progress: Progress
  /** Bars are drawn: every step moves them. */
  bars: boolean
  stop?: StopRequest
  /** Run on the first batch before the first step (kernel tuning); its time is not training time. */
  beforeFirstStep?: (x: tf.Tensor4D, y: Targets) => Promise<void>
  /** Threads that make the batches (engine.data_workers); absent: this thread makes them. The same batches either way. */
  workers?: BatchWorkers
}

export interface EpochTraining {
  loss: number
  accuracy: number
  /** Training wall time: data loading and augmentation included, `beforeFirstStep` left out. */
  seconds: number
  /** Of `seconds`, the time the loop waited for its batches (made here, or not yet ready from the workers) and uploaded them. */
  dataSeconds: number
  images: number
}

/** Which training batches epoch `plan.epoch` takes: its shuffle, augmentation and number of steps. */
function trainingBatchOptions(spec: ResolvedSpec, plan: Pick<EpochPlan, 'epoch' | 'steps' | 'augment'>): EpochBatchOptions {
  return {batchSize: spec.train.batch_size, imageSize: spec.data.image_size, shuffle: true, seed: spec.seed, epoch: plan.epoch, augment: plan.augment, limit: plan.steps, what: `the ${spec.data.dataset} training split`}
}

/**
 * Have the data workers start on the batches of epoch `plan.epoch` now (while the epoch before it
 * is evaluated), so that its first step does not wait for them; `trainOneEpoch` continues from
 * them. Nothing without workers. The batches are the same either way.
 */
export function prepareEpoch(spec: ResolvedSpec, train: Split, plan: Pick<EpochPlan, 'epoch' | 'steps' | 'augment'>, workers?: BatchWorkers): void {
  epochBatchesAhead(train, trainingBatchOptions(spec, plan), workers)
}

export async function trainOneEpoch(spec: ResolvedSpec, trainer: Trainer, train: Split, plan: EpochPlan): Promise<EpochTraining> {
  const size = spec.data.image_size
  const {epoch, steps, progress} = plan
  trainer.resetMetrics()
  let t0 = performance.now()
  let dataMs = 0
  let images = 0
  let done = 0
  const iterator = epochBatches(train, trainingBatchOptions(spec, plan), plan.workers)
  try {
    while (done < steps) {
      const d0 = performance.now()
      const next = await iterator.next()
      if (next.done) break
      const [x, y] = trainingTensors(next.value, size, plan.mixer)
      dataMs += performance.now() - d0
      if (done === 0 && plan.beforeFirstStep) {
        const start = performance.now()
        await plan.beforeFirstStep(x, y)
        t0 += performance.now() - start
      }
      // train.accumulate_grad_batches: the step's last batch (or the epoch's) takes the optimizer step.
      const endsStep = (done + 1) % trainer.accumulate === 0 || done + 1 === steps
      await trainer.trainStep(x, y, plan.lrAt(done), plan.momentumAt?.(done), endsStep)
      x.dispose()
      y.dispose()
      images += next.value.size
      done++
      // Let signal handlers run: on synchronous backends nothing else yields to the event loop.
      await new Promise((r) => setImmediate(r))
      if (plan.stop?.requested) throw new InterruptedError(`interrupted during epoch ${epoch}`, plan.stop.signal)
      if (done % spec.train.metrics_every === 0 || done === steps) {
        const m = await trainer.readMetrics()
        if (!Number.isFinite(m.loss)) throw new NonFiniteLossError(`training loss became ${m.loss} in epoch ${epoch} (by step ${done} of ${steps}); the run stopped. Lower train.optimizer.lr (now ${spec.train.optimizer.lr}) or check the data`)
        // mixed16: a step whose gradients overflowed is skipped and counts no example; an epoch of none trained nothing.
        if (done === steps && m.examples === 0) throw new NonFiniteLossError(`every step of epoch ${epoch} was skipped: its gradients overflowed float16 at every loss scale tried; the run stopped. Lower engine.loss_scale.init or train.optimizer.lr (now ${spec.train.optimizer.lr}), or train in fp32`)
        progress.batch(done, {loss: m.loss, accuracy: epochAccuracy(m, spec.train.accuracy), imagesPerSecond: (images * 1000) / (performance.now() - t0)})
      } else if (plan.bars) {
        progress.batch(done)
      }
    }
  } finally {
    // Batches the workers were asked for and the loop did not take are dropped.
    await iterator.return?.()
  }
  const m = await trainer.readMetrics()
  return {loss: m.loss, accuracy: epochAccuracy(m, spec.train.accuracy), seconds: (performance.now() - t0) / 1000, dataSeconds: dataMs / 1000, images}
}

/**
 * Loss and accuracy over `split` (`name`: test or validation), unaugmented, in `train.eval_batch_size`
 * batches; made by the data workers when there are any (the same batches either way).
 */
export async function evaluate(spec: ResolvedSpec, trainer: Trainer, split: Split, name: string, workers?: BatchWorkers): Promise<{loss: number; accuracy: number}> {
  trainer.resetMetrics()
  const size = spec.data.image_size
  const what = `the ${spec.data.dataset} ${name} split`
  const iterator = epochBatches(split, {batchSize: spec.train.eval_batch_size ?? spec.train.batch_size, imageSize: size, shuffle: false, seed: spec.seed, epoch: 0, augment: false, what}, workers)
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const [x, y] = toTensors(next.value, size)
      trainer.evalStep(x, y)
      x.dispose()
      y.dispose()
    }
  } finally {
    await iterator.return?.()
  }
  const m = await trainer.readMetrics()
  trainer.resetMetrics()
  return {loss: m.loss, accuracy: epochAccuracy(m, spec.train.accuracy)}
}
