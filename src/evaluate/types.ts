/** What an evaluation reports (`mixture eval --json`, and metrics.json in its folder). */
import type {CheckpointChoice, WeightChoice} from '../run/load-run.js'
import type {AccuracyDefinition} from '../ops/metric-sums.js'
import type {ConfusionPair} from '../report/confusion.js'

export const EVAL_SPLITS = ['test', 'train', 'val'] as const
export type EvalSplit = (typeof EVAL_SPLITS)[number]

/**
 * Up to this many classes the confusion matrix is kept dense (`EvalResult.confusion`, the square
 * confusion.csv): 256² = 65,536 cells, a confusion.csv of about 0.2 MB and under 1 MB in metrics.json;
 * 256 is also where labels stop being bytes. Past it only the nonzero (true, predicted) pairs are
 * counted and written (confusion-pairs.csv, `EvalResult.confusion_pairs`): at most one per example,
 * where a dense matrix of ImageNet's 1,000 classes is 1,000,000 cells for its 50,000 images and one of
 * 65,536 classes 4.3 billion.
 */
export const DENSE_MAX_CLASSES = 256



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
  /** The weights scored: the moving average (a run with train.ema, unless --weights trained) or the trained ones. */
  weights: WeightChoice
  /** Whether the run kept a moving average of its weights (train.ema): its test and val columns are the average's, raw_test the trained weights'. */
  moving_average: boolean
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
  /**
   * confusion[true][predicted], up to DENSE_MAX_CLASSES classes. Past that it is empty ([]) and the
   * counts are in `confusion_pairs`.
   */
  confusion: number[][]
  /**
   * Past DENSE_MAX_CLASSES classes only (absent otherwise): the nonzero cells of the confusion matrix,
   * [true index, predicted index, examples], ordered by true then predicted index (confusion-pairs.csv).
   */
  confusion_pairs?: ConfusionPair[]
  /** Examples predicted as an output past the dataset's classes (a wider head, e.g. the paper's 1000-way ResNet-18). */
  predicted_outside_classes: number
  /**
   * What training wrote to metrics.csv for this epoch (test and validation splits), and whether this
   * evaluation equals it; `examples`: how many images training evaluated there (summary.json), where recorded;
   * `changed`: what differs from the data and plugin files training recorded (run/fingerprints.ts), in words.
   */
  training: {loss: number; accuracy: number; equal: boolean; examples?: number; changed: string[]} | null
  /**
   * The folder the images were read from where it was given with --data-dir (absolute), else null:
   * the run's own data. An evaluation of another folder than the run's is written to its own
   * `eval/<split>-<ckpt>-on-<folder>/`, not the run's `eval/<split>-<ckpt>/`.
   */
  data_dir: string | null
  /** Where the dataset says its data came from: a folder, or how they were generated (as env.json's data_source). */
  data_source: string
  out_dir: string
  files: string[]
}

