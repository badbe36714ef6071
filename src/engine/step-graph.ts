/**
 * Replaying a recorded training step (the idea of CUDA graphs): after a few steps of one batch
 * shape, a training step records exactly the same GPU work every time — the same pipelines, buffers
 * and workgroup counts, only the input batch and a few per-step scalars change — yet recording it
 * through tfjs (kernel dispatch, autodiff tape, tensor bookkeeping, bind groups) costs the host far
 * more than the GPU needs for small models. A backend may register `StepGraphs`, which record one
 * step and replay it for later steps of the same shapes without running any JavaScript of the model.
 * The Trainer asks it first and runs the step normally when it declines; evaluation steps the same
 * way. backends/webgpu/graph.ts is the one implementation.
 */
import type {tf} from './tf.js'

/** The optimizer's update of one step: which op (its `UpdateOp.name`: adam, adamw, sgd, a plugin's), and its attributes with this step's learning rate and step count. */
export interface StepUpdate {
  op: string
  attrs: object
}

/** What changes from one training step to the next besides the batch. */
export interface StepContext {
  /** The optimizer step, 1-based: dropout masks and Adam's bias corrections derive from it. */
  step: number
  /** The optimizer's per-step values (learning rate, bias corrections) derive from it. */
  update: StepUpdate
  /** The loss scale of the step (engine.precision mixed16; ops/loss-scale.ts). */
  lossScale?: number
}

/**
 * A training step (the default), an evaluation step (forward and metric sums only), one of the two
 * halves of a loss-scaled training step (engine.precision mixed16; trainer.ts): the backward half
 * (forward, scaled backward, gradients unscaled and stored with the overflow flag) and the update
 * half (the optimizer's update from the stored gradients, the metric sums), which the host runs only
 * when the flag it read says the gradients were finite; or one of the two halves of a step that
 * accumulates gradients (train.accumulate_grad_batches): a batch's backward added into the sums,
 * and the update from the sums, which zeroes them — with a loss scaler (mixed16), the update's two
 * halves: the sums unscaled and checked (`accumulated-unscale`), and, when the host has read that
 * they were finite, the update.
 */
export type StepKind = 'train' | 'eval' | 'scaled-backward' | 'scaled-update' | 'accumulate' | 'accumulated-unscale' | 'accumulated-update'

/** The kinds of step that read no batch: the update halves, which work from what the first half stored. */
export const UPDATE_KINDS: StepKind[] = ['scaled-update', 'accumulated-unscale', 'accumulated-update']

export interface StepGraphs {
  /**
   * Replays the step recorded for these shapes with this batch and context: true when it did (the
   * whole step ran on the device, weights and metric sums updated), false when there is none or it
   * no longer applies (the caller then runs the step itself through `run`).
   */
  replay(x: tf.Tensor, y: tf.Tensor, context: StepContext, kind?: StepKind): boolean
  /**
   * Runs `step` (the normal training step), recording it for replay when this shape has been seen
   * before. `state` lists every tensor the step may update (weights, optimizer moments, metric sums):
   * a step that changes any other live tensor, or replaces one of these by a new tensor, is not replayed.
   */
  run(x: tf.Tensor, y: tf.Tensor, context: StepContext, state: tf.Tensor[], step: () => void, kind?: StepKind): void
  /** One line per batch shape: replayed, recording, or why not. */
  describe(): string[]
  dispose(): void
}

const factories = new Map<string, () => StepGraphs | undefined>()

export function registerStepGraphs(backendName: string, create: () => StepGraphs | undefined): void {
  factories.set(backendName, create)
}

/** The active backend's step graphs for one trainer, or undefined where it has none (or they are off). */
export function createStepGraphs(backendName: string): StepGraphs | undefined {
  return factories.get(backendName)?.()
}
