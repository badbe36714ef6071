/**
 * One training step and one evaluation pass, backend-agnostic: forward in training mode, softmax
 * cross-entropy, gradients of every trainable tensor, and the fused Adam update (coupled L2) of
 * ops/adam.ts. Loss and accuracy stay on the device as running sums; the caller reads them back
 * every N steps (`readMetrics`), so a step never waits on a host read. Where the backend can replay
 * a recorded step (step-graph.ts; webgpu), steps after the first few of a batch shape are replayed.
 */
import {tf, type LayersModel} from './tf.js'
import {createStepGraphs, type StepContext, type StepGraphs} from './step-graph.js'
import {kernelTuner} from './kernel-tuning.js'
import {adamStep, type AdamConfig} from '../ops/adam.js'
import {crossEntropy} from '../ops/cross-entropy.js'
import {setDropoutStep} from '../ops/dropout.js'
import {MetricSums} from '../ops/metric-sums.js'

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

/** Serialisable optimizer state: the step count and, per trainable weight (model order), m and v. */
export interface OptimizerState {
  step: number
  m: tf.Tensor[]
  v: tf.Tensor[]
}

export class Trainer {
  /** Number of optimizer steps taken (1-based after the first step). */
  step = 0
  /** How many of them were replayed from a recording (step-graph.ts). */
  replayedSteps = 0
  private readonly weights: VarLike[]
  private readonly vars: tf.Variable[]
  private m: tf.Variable[]
  private v: tf.Variable[]
  private readonly metrics = new MetricSums()
  private graphs?: {backend: string; graphs: StepGraphs | undefined}
  /** Whether `tuneKernels` has run. */
  private tuned = false

  constructor(
    readonly model: LayersModel,
    readonly optimizer: AdamConfig,
  ) {
    this.weights = model.trainableWeights as unknown as VarLike[]
    // LayerVariable keeps its tf.Variable in `val`; gradients are taken with respect to those.
    this.vars = this.weights.map((w) => (w as unknown as {val: tf.Variable}).val)
    // Made inside tidy so that each variable owns its data (an in-place update needs that).
    this.m = this.vars.map((w) => tf.tidy(() => tf.variable(tf.zerosLike(w), false)))
    this.v = this.vars.map((w) => tf.tidy(() => tf.variable(tf.zerosLike(w), false)))
  }

  /**
   * Forward + backward + Adam on one batch. x: (B, H, W, 3) float32 in [0, 1]; y: (B,) int32.
   * The update runs after the forward/backward scope has been released, so that no view of a weight
   * made during the pass (reshapes, identity transposes) is alive and a backend may update the
   * weights in place (see `adamStep`).
   */
  trainStep(x: tf.Tensor4D, y: tf.Tensor1D): void {
    this.step++
    setDropoutStep(this.step)
    const batch = x.shape[0]
    const context = this.context()
    const graphs = this.stepGraphs()
    if (graphs?.replay(x, y, context)) {
      this.metrics.addReplayed(batch)
      this.replayedSteps++
      return
    }
    const step = () => this.computeStep(x, y, context)
    if (graphs) graphs.run(x, y, context, this.stateTensors(), step)
    else step()
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
  async tuneKernels(x: tf.Tensor4D, y: tf.Tensor1D): Promise<string | undefined> {
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

  private computeStep(x: tf.Tensor4D, y: tf.Tensor1D, context: StepContext): void {
    const {value, grads, correct} = tf.tidy(() => {
      let correct: tf.Scalar | undefined
      const {value, grads} = tf.variableGrads(() => {
        const logits = this.model.apply(x, {training: true}) as tf.Tensor2D
        const out = crossEntropy(logits, y)
        correct = out.correct
        return out.loss
      }, this.vars)
      return {value, grads: this.vars.map((variable) => grads[variable.name]), correct: correct!}
    })
    try {
      adamStep(this.vars, grads, this.m, this.v, context.adam)
      this.metrics.add(value, correct, x.shape[0])
    } finally {
      tf.dispose([...grads, value, correct])
    }
  }

  /** What the current step's per-step values derive from: the step count and Adam's settings. */
  private context(): StepContext {
    return {step: this.step, adam: {...this.optimizer, step: this.step}}
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

  /** Every tensor a training step may update: all model weights (running statistics too), m, v, the metric sums. */
  private stateTensors(): tf.Tensor[] {
    const weights = (this.model.weights as unknown as {val: tf.Variable}[]).map((w) => w.val)
    return [...weights, ...this.m, ...this.v, this.metrics.tensor]
  }

  /** How the backend's step replay went, one line per batch shape (empty where there is none). */
  describeStepGraphs(): string[] {
    return this.graphs?.graphs?.describe() ?? []
  }

  /** Evaluation-mode forward of one batch, accumulated like the training metrics (replayed where it can be). */
  evalStep(x: tf.Tensor4D, y: tf.Tensor1D): void {
    const batch = x.shape[0]
    const context = this.context()
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

  optimizerState(): OptimizerState {
    return {step: this.step, m: this.m, v: this.v}
  }

  setOptimizerState(state: {step: number; m: Float32Array[]; v: Float32Array[]}): void {
    if (state.m.length !== this.vars.length || state.v.length !== this.vars.length) {
      throw new Error(`optimizer state has ${state.m.length} tensors but the model has ${this.vars.length} trainable weights`)
    }
    this.step = state.step
    this.vars.forEach((w, i) =>
      tf.tidy(() => {
        this.m[i].assign(tf.tensor(state.m[i], w.shape))
        this.v[i].assign(tf.tensor(state.v[i], w.shape))
      }),
    )
  }

  dispose(): void {
    this.m.forEach((t) => t.dispose())
    this.v.forEach((t) => t.dispose())
    this.metrics.dispose()
    this.graphs?.graphs?.dispose()
    this.graphs = undefined
  }
}
