/** What an evaluation reports (`mixture eval --json`, and metrics.json in its folder). */
import type {CheckpointChoice} from '../run/load-run.js'
import type {AccuracyDefinition} from '../ops/metric-sums.js'

export const EVAL_SPLITS = ['test', 'train', 'val'] as const
export type EvalSplit = (typeof EVAL_SPLITS)[number]


export interface ClassAccuracy {
  index: number
  class: string
  examples: number
  correct: number
  accuracy: number | null
}

export interface EvalResult {
  run_dir: string
  checkpoint: CheckpointChoice
  /** The epoch the checkpoint was written after. */
  epoch: number
  split: EvalSplit
  examples: number
  batch_size: number
  backend: string
  /** Mean softmax cross-entropy over the examples. */
  loss: number
  /** The run's definition of accuracy (its config's train.accuracy; per example where it names none). */
  accuracy_definition: AccuracyDefinition
  /** Top-1 under the run's definition. */
  accuracy: number
  accuracy_per_example: number
  accuracy_batch_mean: number
  top_k: number
  top_k_accuracy: number
  per_class: ClassAccuracy[]
  classes: string[]
  /** confusion[true][predicted] */
  confusion: number[][]
  /** Examples predicted as an output past the dataset's classes (a wider head, e.g. the paper's 1000-way ResNet-18). */
  predicted_outside_classes: number
  /**
   * What training wrote to metrics.csv for this epoch (test and validation splits), and whether this
   * evaluation equals it; `examples`: how many images training evaluated there (summary.json), where recorded;
   * `changed`: what differs from the data and plugin files training recorded (run/fingerprints.ts), in words.
   */
  training: {loss: number; accuracy: number; equal: boolean; examples?: number; changed: string[]} | null
  out_dir: string
  files: string[]
}

