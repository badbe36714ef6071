/**
 * One training step and one evaluation pass, backend-agnostic: forward in training mode, the
 * training loss (softmax cross-entropy with PyTorch's label smoothing, or the spec's `train.loss`), gradients of every trainable tensor, clipped to a
 * global norm where the recipe says so, and the optimizer's update (optimizer.ts: its op, a fused
 * kernel of ops/ where the backend has one) at the learning rate the caller gives for the step (its
 * schedule). Loss and accuracy stay on the device as running sums; the caller reads them back every N steps
 * (`readMetrics`), so a step never waits on a host read. Where the backend can replay a recorded step
 * (step-graph.ts; webgpu), steps after the first few of a batch shape are replayed. In mixed precision
 * (engine.precision mixed16) the loss is scaled (loss-scaler.ts): such a step reads back whether its
 * gradients overflowed before it updates, as GradScaler does, so it runs in two halves that are
 * replayed each (`scaledStep`). With `train.accumulate_grad_batches` several batches make one step,
 * also in two halves (`accumulateStep`). With `train.ema` every step also updates the moving average
 * of the weights (weight-average.ts), which evaluation swaps in.
 */
import {tf, type LayersModel} from './tf.js'
import {createStepGraphs, type StepContext, type StepGraphs, type StepKind} from './step-graph.js'
import {kernelTuner} from './kernel-tuning.js'
import {constant} from './constants.js'
import {Optimizer, paperAdam, weightRoles, type ChosenOptimizer} from './optimizer.js'
import type {AdamConfig} from '../ops/adam.js'
import {clipGradNorm} from '../ops/clip-grad-norm.js'
import {crossEntropy} from '../ops/cross-entropy.js'
import {setDropoutStep} from '../ops/dropout.js'
import {batchSums, METRIC_SUMS, MetricSums} from '../ops/metric-sums.js'
import {storeInto, zeroVariable} from '../ops/store.js'
import {LossScaler, type LossScalerState, type LossScaleSettings} from './loss-scaler.js'
import {WeightAverage} from './weight-average.js'

export interface StepMetrics {
  loss: number
  accuracy: number
  /** The mean of per-batch accuracies (metrics.ts). */
  batch_mean_accuracy: number
  examples: number
}

export {crossEntropy} from '../ops/cross-entropy.js'

interface VarLike {
  name: string
  shape: number[]
  read(): tf.Tensor
  write(value: tf.Tensor): void
}

/** Serialisable optimizer state: the step count and, per checkpoint group of the optimizer's state, one tensor per trainable weight (model order). */
export interface OptimizerState {
  step: number
  /** The optimizer's registry name. */
  type: string
  /** The loss scaler's state (engine.precision mixed16 only). */
  lossScaler?: LossScalerState
  /** Per state group (`adam_m`, `adam_v`; `momentum`; a plugin's own), one tensor per trainable weight. */
  groups: Record<string, tf.Tensor[]>
}

/** What a training batch is scored against: integer labels (B), or target distributions (B, K) float32 (train.mixup; data/batch-mix.ts). */
export type Targets = tf.Tensor1D | tf.Tensor2D

/**
 * A batch's training loss (the mean) and its number of correct top-1 predictions, kept past the
 * enclosing tidy (the caller disposes it): recipe/loss.ts makes one from `train.loss`.
 */
export type TrainingLoss = (logits: tf.Tensor2D, labels: Targets) => {loss: tf.Scalar; correct: tf.Scalar}

/** The rest of the recipe a trainer applies (`train.loss`, `train.label_smoothing`, `train.grad_clip`, `train.ema`). */
export interface TrainerOptions {
  /** The training loss (`train.loss`); default: PyTorch's CrossEntropyLoss(label_smoothing = `labelSmoothing`). */
  loss?: TrainingLoss
  /** ε of PyTorch's CrossEntropyLoss(label_smoothing=ε), training loss only, where no `loss` is given; 0 by default. */
  labelSmoothing?: number
  /** Clip the gradients' global L2 norm to this (clip_grad_norm_). */
  maxGradNorm?: number
  /** Scale the loss dynamically (engine.precision mixed16; loss-scaler.ts): GradScaler's settings. */
  lossScale?: LossScaleSettings
  /** Keep an exponential moving average of the weights with this decay (train.ema; weight-average.ts). */
  emaDecay?: number
  /** train.ema.warmup: the average's decay rises to `emaDecay` over the first steps (timm's --model-ema-warmup). */
  emaWarmup?: boolean
  /**
   * train.accumulate_grad_batches: the gradients of this many batches are summed, each batch's loss
   * divided by it (as Lightning's `accumulate_grad_batches`), before one optimizer step; with a loss
   * scaler, as GradScaler accumulates (scaled sums, unscaled and checked once per step).
   */
  accumulate?: number
}

export class Trainer {
  /** Number of optimizer steps taken (1-based after the first step). */
  step = 0
  /** How many of them were replayed from a recording (step-graph.ts). */
  replayedSteps = 0
  private readonly weights: VarLike[]
  private readonly vars: tf.Variable[]
  private readonly optimizer: Optimizer
  private readonly metrics = new MetricSums()
  /** engine.precision mixed16: the loss scaler (whose skipped steps the optimizer did not take). */
  private readonly scaler?: LossScaler
  /** What the two halves of a loss-scaled step share (made at the first such step). */
  private scaled?: ScaledStepShared
  private graphs?: {backend: string; graphs: StepGraphs | undefined}
  /** Whether `tuneKernels` has run. */
  private tuned = false
  /** train.ema: the moving average of every weight, taken before the first step, updated after each; evaluation swaps it in. */
  readonly average?: WeightAverage
  /** train.accumulate_grad_batches: the gradients summed so far towards the next optimizer step (made at the first batch). */
  private accumulated?: AccumulatedGradients
  /** Batches whose gradients `accumulated` holds. */
  private pending = 0

  constructor(
    readonly model: LayersModel,
    /** The optimizer and its rule (recipe/optimizer.ts `chooseOptimizer`); a plain Adam configuration means Adam on every weight (the paper's recipe). */
    optimizer: ChosenOptimizer | AdamConfig,
    readonly options: TrainerOptions = {},
  ) {
    this.weights = model.trainableWeights as unknown as VarLike[]
    // LayerVariable keeps its tf.Variable in `val`; gradients are taken with respect to those.
    this.vars = this.weights.map((w) => (w as unknown as {val: tf.Variable}).val)
    this.optimizer = new Optimizer('rule' in optimizer ? optimizer : paperAdam(optimizer), this.vars, weightRoles(model))
    if (options.lossScale) this.scaler = new LossScaler(options.lossScale)
    if (options.emaDecay !== undefined) this.average = new WeightAverage((model.weights as unknown as {val: tf.Variable}[]).map((w) => w.val), options.emaDecay, options.emaWarmup)
  }

  /** Batches per optimizer step (train.accumulate_grad_batches; 1: every batch is a step). */
  get accumulate(): number {
    return this.options.accumulate ?? 1
  }

  /** The learning rate of a step when the caller gives none: the optimizer's `lr`. */
  get baseLr(): number {
    return this.optimizer.spec.lr
  }

  /**
   * Forward + backward + the optimizer's update on one batch at learning rate `lr` (and `momentum`,
   * where the schedule cycles it: Adam's and AdamW's beta1, SGD's momentum). x: (B, H, W, 3)
   * float32 in [0, 1]; y: (B,) int32 labels, or (B, K) float32 targets (train.mixup). The update runs after the forward/backward scope has been
   * released, so that no view of a weight made during the pass (reshapes, identity transposes) is
   * alive and a backend may update the weights in place (ops/weight-update.ts `updateStep`). With a
   * loss scaler (mixed16) the step reads back whether its gradients overflowed, so it returns a
   * promise: await it. With train.accumulate_grad_batches the batch's gradients are added to the
   * step's, and only a batch with `endsStep` (the step's last) takes the optimizer's update.
   */
  trainStep(x: tf.Tensor4D, y: Targets, lr = this.baseLr, momentum?: number, endsStep = true): void | Promise<void> {
    // train.ema: the average starts from the weights as they are before the run's first step (or its checkpoint's).
    if (this.average && !this.average.started) this.average.start()
    if (this.accumulate > 1) return this.accumulateStep(x, y, lr, momentum, endsStep)
    this.step++
    setDropoutStep(this.step)
    const context = this.context(lr, momentum)
    if (this.scaler) return this.scaledStep(x, y, context, this.scaler).then(() => this.average?.update(this.step))
    if (this.runOrReplay(x, y, context, 'train', () => this.computeStep(x, y, context))) {
      this.metrics.addReplayed(x.shape[0])
      this.replayedSteps++
    }
    this.average?.update(this.step)
  }

  /**
   * Replays the step of `kind` recorded for these shapes where the backend can (true), else runs
   * `step`, recorded for replay where the backend records steps (false).
   */
  private runOrReplay(x: tf.Tensor4D, y: Targets, context: StepContext, kind: StepKind, step: () => void): boolean {
    const graphs = this.stepGraphs()
    if (graphs?.replay(x, y, context, kind)) return true
    if (graphs) graphs.run(x, y, context, this.stateTensors(), step, kind)
    else step()
    return false
  }

  /**
   * Before the first training step, on its batch: where the backend has more than one route for a
   * product or convolution (webgpu; kernel-tuning.ts), run the forward and backward pass once with
   * nothing updated (the forward in inference mode, so that running statistics stay as they are;
   * its products and convolutions are the training step's), time the routes of every call it made
   * and keep the faster, so that every step takes the same kernels. Once per trainer; calls already
   * timed (or pinned) in this process are not timed again. One line saying what was chosen, or
   * undefined when there was nothing to time.
   */
  async tuneKernels(x: tf.Tensor4D, y: Targets): Promise<string | undefined> {
    if (this.tuned) return undefined
    this.tuned = true
    const tuner = kernelTuner(tf.getBackend())
    if (!tuner) return undefined
    tuner.capture(() => {
      tf.tidy(() => {
        tf.variableGrads(() => crossEntropy(this.model.apply(x, {training: false}) as tf.Tensor2D, y).loss, this.vars)
      })
    })
    return tuner.tune()
  }

  /**
   * One batch of a step that accumulates gradients (train.accumulate_grad_batches = k): forward and
   * backward of the loss ÷ k, the gradients added to those of the step's earlier batches, the batch's
   * metrics summed; with `endsStep` (the step's k-th batch, or the epoch's last), clipping, the
   * optimizer's update from the sums and the sums zeroed. Each half is replayed where the backend
   * records steps. Dropout masks follow the batch (the step's count × k + the batch's place in it).
   * With a loss scaler (mixed16), as GradScaler with accumulation: every batch's backward is scaled
   * by the same scale and summed scaled; the step's end unscales the sum and checks it once, and skips
   * the update where it is not finite (`scaledAccumulatedUpdate`).
   */
  private accumulateStep(x: tf.Tensor4D, y: Targets, lr: number, momentum: number | undefined, endsStep: boolean): void | Promise<void> {
    const k = this.accumulate
    const shared = (this.accumulated ??= new AccumulatedGradients(this.vars, Boolean(this.scaler)))
    setDropoutStep(this.step * k + this.pending + 1)
    const batch = {...this.context(lr, momentum), step: this.step * k + this.pending + 1}
    const replayed = this.runOrReplay(x, y, batch, 'accumulate', () => this.accumulateBatch(x, y, shared, k))
    if (replayed) this.replayedSteps++
    // With a scaler the batch's sums wait in `shared` and its examples are counted when its step is taken; else a replayed batch's are counted here.
    if (shared.heldSums) shared.heldBatches.push(x.shape[0])
    else if (replayed) this.metrics.addReplayed(x.shape[0])
    this.pending++
    if (!endsStep) return
    this.step++
    this.pending = 0
    const update = this.context(lr, momentum)
    if (this.scaler) return this.scaledAccumulatedUpdate(x, y, update, shared, this.scaler).then(() => this.average?.update(this.step))
    this.runOrReplay(x, y, update, 'accumulated-update', () => {
      this.applyGradients(shared.grads, update)
      shared.zero()
    })
    this.average?.update(this.step)
  }

  /**
   * The first half of an accumulating step: the gradients of the loss ÷ k (× the scale, with a
   * scaler) added into `shared`, the batch's (undivided) loss and correct count summed — into the
   * epoch's sums, or with a scaler into `shared`'s until the step is taken.
   */
  private accumulateBatch(x: tf.Tensor4D, y: Targets, shared: AccumulatedGradients, k: number): void {
    const {value, grads, correct} = this.lossAndGradients(x, y, this.scaler, k)
    try {
      shared.add(grads)
      if (shared.heldSums) tf.tidy(() => storeInto(shared.heldSums!, tf.add(shared.heldSums!, batchSums(value, correct, x.shape[0]))))
      else this.metrics.add(value, correct, x.shape[0])
    } finally {
      tf.dispose([...grads, value, correct])
    }
  }

  /**
   * The end of a loss-scaled accumulating step, in GradScaler's order: the summed scaled gradients
   * unscaled into `scaled.grads` with the non-finite flag (and the sums zeroed), the flag read on the
   * host, then — only where every gradient was finite — the optimizer's update and the batches'
   * held metrics added to the epoch's; a skipped step's batches are left out of them, as a skipped
   * unaccumulated step's are. Both device halves are replayed where the backend records steps.
   */
  private async scaledAccumulatedUpdate(x: tf.Tensor4D, y: Targets, context: StepContext, shared: AccumulatedGradients, scaler: LossScaler): Promise<void> {
    const unscaled = (this.scaled ??= new ScaledStepShared(this.vars))
    this.runOrReplay(x, y, context, 'accumulated-unscale', () => {
      tf.tidy(() => {
        const nonFinite = scaler.unscaleInto(unscaled.grads, shared.grads)
        storeInto(unscaled.status, tf.stack([nonFinite, constant(0), constant(0)]) as tf.Tensor1D)
      })
      shared.zero()
    })
    const overflow = (await unscaled.status.data())[0] !== 0
    if (!overflow) {
      this.runOrReplay(x, y, context, 'accumulated-update', () => {
        this.applyGradients(unscaled.grads, context)
        this.metrics.addSums(shared.heldSums!)
        shared.zeroHeldSums()
      })
      for (const b of shared.heldBatches) this.metrics.addReplayed(b)
    } else {
      shared.zeroHeldSums()
    }
    shared.heldBatches.length = 0
    scaler.update(overflow)
  }

  /**
   * Forward in training mode, the loss, the correct count, and the gradients of every trainable
   * weight: of the loss ÷ `divide` (gradient accumulation), × the scale where `scaler` is given; the
   * loss returned is the plain one either way.
   */
  private lossAndGradients(x: tf.Tensor4D, y: Targets, scaler?: LossScaler, divide = 1): {value: tf.Scalar; grads: tf.Tensor[]; correct: tf.Scalar} {
    return tf.tidy(() => {
      let correct: tf.Scalar | undefined
      let unscaled: tf.Scalar | undefined
      const {value, grads} = tf.variableGrads(() => {
        const logits = this.model.apply(x, {training: true}) as tf.Tensor2D
        const out = this.options.loss ? this.options.loss(logits, y) : crossEntropy(logits, y, this.options.labelSmoothing)
        correct = out.correct
        if (!scaler && divide === 1) return out.loss
        // The plain loss is what the metrics sum; kept past the gradient's scope, like `correct`.
        unscaled = tf.keep(out.loss)
        const divided = divide === 1 ? out.loss : (tf.div(out.loss, constant(divide)) as tf.Scalar)
        return scaler ? scaler.scaleLoss(divided) : divided
      }, this.vars)
      return {value: unscaled ?? value, grads: this.vars.map((variable) => grads[variable.name]), correct: correct!}
    })
  }

  private computeStep(x: tf.Tensor4D, y: Targets, context: StepContext): void {
    const {value, grads, correct} = this.lossAndGradients(x, y)
    try {
      this.applyGradients(grads, context)
      this.metrics.add(value, correct, x.shape[0])
    } finally {
      tf.dispose([...grads, value, correct])
    }
  }

  /** The optimizer's step from `grads` (left to the caller), clipped first where the recipe says so. */
  private applyGradients(grads: tf.Tensor[], context: StepContext): void {
    const clipped = this.options.maxGradNorm !== undefined ? clipGradNorm(grads, this.options.maxGradNorm) : undefined
    try {
      this.optimizer.apply(this.vars, clipped ?? grads, context.update)
    } finally {
      if (clipped) tf.dispose(clipped)
    }
  }

  /**
   * A step with the loss scaled, in GradScaler's order — scale, backward, unscale, check, clip, step
   * or skip, update the scale — in two halves that a backend can replay each (step-graph.ts): the
   * backward half stores the unscaled gradients and [non-finite flag, loss, correct] into variables
   * of their own (ops/store.ts); the host reads the flag (one value, as GradScaler's `step` reads
   * `found_inf`) and runs the update half — clip, the optimizer's step, the metric sums — only when
   * every gradient was finite. The scale and the optimizer's step count stay on the host, so the
   * arithmetic is the same replayed or not.
   */
  private async scaledStep(x: tf.Tensor4D, y: Targets, context: StepContext, scaler: LossScaler): Promise<void> {
    const shared = (this.scaled ??= new ScaledStepShared(this.vars))
    const replayed = this.runOrReplay(x, y, context, 'scaled-backward', () => this.scaledBackward(x, y, scaler, shared))
    const overflow = (await shared.status.data())[0] !== 0
    // A skipped step's loss (not finite where the forward pass overflowed) is left out of the epoch's
    // sums; an epoch whose every step was skipped has no loss (NaN), which stops the run.
    if (!overflow && this.runOrReplay(x, y, context, 'scaled-update', () => this.scaledUpdate(shared, context, x.shape[0]))) this.metrics.addReplayed(x.shape[0])
    if (replayed) this.replayedSteps++
    scaler.update(overflow)
  }

  /** The backward half of a loss-scaled step: forward, scaled backward, the gradients unscaled and stored with [non-finite flag, loss, correct]. */
  private scaledBackward(x: tf.Tensor4D, y: Targets, scaler: LossScaler, shared: ScaledStepShared): void {
    const {value, grads, correct} = this.lossAndGradients(x, y, scaler)
    try {
      tf.tidy(() => {
        const nonFinite = scaler.unscaleInto(shared.grads, grads)
        storeInto(shared.status, tf.stack([nonFinite, value, correct]) as tf.Tensor1D)
      })
    } finally {
      tf.dispose([...grads, value, correct])
    }
  }

  /** The update half of a loss-scaled step: clip, the optimizer's step and the metric sums, from what the backward half stored. */
  private scaledUpdate(shared: ScaledStepShared, context: StepContext, batch: number): void {
    this.applyGradients(shared.grads, context)
    tf.tidy(() => this.metrics.add(tf.reshape(tf.slice(shared.status, 1, 1), []), tf.reshape(tf.slice(shared.status, 2, 1), []), batch))
  }

  /**
   * What the current step's per-step values derive from: the step count and the optimizer's update
   * at `lr` and `momentum` (the optimizer's own step count: the trainer's less the steps a loss scaler skipped).
   */
  private context(lr: number, momentum?: number): StepContext {
    return {step: this.step, update: this.optimizer.update(lr, this.step - (this.scaler?.skippedSteps ?? 0), momentum), ...(this.scaler ? {lossScale: this.scaler.scale} : {})}
  }

  /** The step graphs of the active backend (made on first use, again if the backend changed). */
  private stepGraphs(): StepGraphs | undefined {
    const backend = tf.getBackend()
    if (this.graphs?.backend !== backend) {
      this.graphs?.graphs?.dispose()
      this.graphs = {backend, graphs: createStepGraphs(backend)}
    }
    return this.graphs.graphs
  }

  /** Every tensor a training step may update: all model weights (running statistics too), the optimizer's state, the metric sums, the gradients a step keeps between its halves. */
  private stateTensors(): tf.Tensor[] {
    const weights = (this.model.weights as unknown as {val: tf.Variable}[]).map((w) => w.val)
    return [...weights, ...this.optimizer.state.flat(), this.metrics.tensor, ...(this.scaled?.tensors ?? []), ...(this.accumulated?.tensors ?? [])]
  }

  /** How the backend's step replay went, one line per batch shape (empty where there is none). */
  describeStepGraphs(): string[] {
    return this.graphs?.graphs?.describe() ?? []
  }

  /** Evaluation-mode forward of one batch, accumulated like the training metrics (replayed where it can be). */
  evalStep(x: tf.Tensor4D, y: tf.Tensor1D): void {
    const batch = x.shape[0]
    const context = this.context(this.baseLr)
    const graphs = this.stepGraphs()
    if (graphs?.replay(x, y, context, 'eval')) {
      this.metrics.addReplayed(batch)
      return
    }
    const step = () =>
      tf.tidy(() => {
        const logits = this.model.apply(x, {training: false}) as tf.Tensor2D
        const {loss, correct} = crossEntropy(logits, y)
        this.metrics.add(loss, correct, batch)
        correct.dispose()
      })
    if (graphs) graphs.run(x, y, context, this.stateTensors(), step, 'eval')
    else step()
  }

  /** Read the running sums back from the device (one sync) without resetting them. */
  async readMetrics(): Promise<StepMetrics> {
    return this.metrics.read()
  }

  resetMetrics(): void {
    this.metrics.reset()
  }

  /** The optimizer's type, step count and state (live tensors: read, do not dispose). */
  optimizerState(): OptimizerState {
    const groups = Object.fromEntries(this.optimizer.stateGroups().map((g) => [g.group, g.tensors]))
    return {step: this.step, type: this.optimizer.type, ...(this.scaler ? {lossScaler: this.scaler.state()} : {}), groups}
  }

  /**
   * Continue from a saved state: the step count, every state group of this trainer's optimizer and,
   * with a loss scaler, its state (a checkpoint without one starts it at `engine.loss_scale.init`).
   */
  setOptimizerState(state: {step: number; groups: Record<string, Float32Array[] | undefined>; lossScaler?: LossScalerState}): void {
    this.optimizer.setState(state.groups)
    this.step = state.step
    if (this.scaler && state.lossScaler) this.scaler.setState(state.lossScaler)
  }

  dispose(): void {
    this.accumulated?.dispose()
    this.average?.dispose()
    this.optimizer.dispose()
    this.metrics.dispose()
    this.scaled?.dispose()
    this.graphs?.graphs?.dispose()
    this.graphs = undefined
  }
}

/**
 * What the two halves of a loss-scaled step share: each trainable weight's unscaled gradient, and
 * [0 or NaN where a gradient was not finite, the loss, the correct count] — variables with data of
 * their own, written in place by the backward half (ops/store.ts) and read by the update half.
 */
class ScaledStepShared {
  readonly grads: tf.Variable[]
  readonly status: tf.Variable

  constructor(weights: tf.Variable[]) {
    this.grads = weights.map((w) => zeroVariable(w.shape))
    this.status = zeroVariable([3])
  }

  get tensors(): tf.Tensor[] {
    return [...this.grads, this.status]
  }

  dispose(): void {
    tf.dispose(this.tensors)
  }
}

/**
 * The gradients of an accumulating step (train.accumulate_grad_batches): one variable per trainable
 * weight, with data of its own, added to in place by each batch and zeroed by the update. With a
 * loss scaler the gradients are scaled, and the batches' metric sums are held here too
 * ([Σ loss·batch, Σ correct, Σ correct/batch] and the batch sizes) until the step is taken or skipped.
 */
class AccumulatedGradients {
  readonly grads: tf.Variable[]
  readonly heldSums?: tf.Variable
  readonly heldBatches: number[] = []

  constructor(weights: tf.Variable[], scaled: boolean) {
    this.grads = weights.map((w) => zeroVariable(w.shape))
    if (scaled) this.heldSums = zeroVariable([METRIC_SUMS])
  }

  get tensors(): tf.Tensor[] {
    return [...this.grads, ...(this.heldSums ? [this.heldSums] : [])]
  }

  add(grads: tf.Tensor[]): void {
    tf.tidy(() => this.grads.forEach((g, i) => storeInto(g, tf.add(g, grads[i]))))
  }

  zero(): void {
    tf.tidy(() => this.grads.forEach((g) => storeInto(g, tf.zerosLike(g))))
  }

  /** The held metric sums zeroed (their step taken, or skipped). */
  zeroHeldSums(): void {
    if (this.heldSums) tf.tidy(() => storeInto(this.heldSums!, tf.zerosLike(this.heldSums!)))
  }

  dispose(): void {
    tf.dispose(this.tensors)
  }
}
