/**
 * What an evaluation counts from each batch's logits, on the host: the confusion matrix (true class ×
 * predicted class), top-k hits, and each batch's top-1 accuracy (for the mean-of-batches definition
 * of accuracy the paper's code used). The prediction is the first largest logit, as `tf.argMax` takes it.
 *
 * The matrix is counted sparse, its nonzero cells only (at most one per example), so that memory
 * grows with the examples and the classes, never with classes²: a dataset may have 65,536 classes.
 * The result has it dense too up to DENSE_MAX_CLASSES classes.
 */
import type {ConfusionPair} from '../report/confusion.js'
import {DENSE_MAX_CLASSES} from './types.js'

export interface TallyResult {
  examples: number
  /** counts[true][predicted] over the dataset's classes, up to DENSE_MAX_CLASSES classes; past that, empty (see `pairs`). */
  confusion: number[][]
  /** The nonzero cells of the confusion matrix, [true, predicted, count], ordered by true then predicted class. */
  pairs: ConfusionPair[]
  /** Per true class: its examples (those predicted outside the classes included) and how many were predicted right. */
  classExamples: number[]
  classCorrect: number[]
  /** Examples whose prediction is an output past the dataset's classes (a wider head), per true class. */
  outside: number[]
  /** k of the top-k accuracy (5, or the number of outputs when there are fewer). */
  k: number
  topK: number
  /** Top-1 accuracy of each batch, in order. */
  batchAccuracies: number[]
}

export class EvalTally {
  /** Nonzero cells, keyed true × numClasses + predicted (below 2³², exact as a number). */
  private readonly cells = new Map<number, number>()
  private readonly classExamples: Float64Array
  private readonly classCorrect: Float64Array
  private readonly outside: Float64Array
  private readonly batchAccuracies: number[] = []
  private examples = 0
  private topKHits = 0
  readonly k: number

  constructor(
    readonly numClasses: number,
    readonly numOutputs: number,
    k = 5,
  ) {
    this.classExamples = new Float64Array(numClasses)
    this.classCorrect = new Float64Array(numClasses)
    this.outside = new Float64Array(numClasses)
    this.k = Math.min(k, numOutputs)
  }

  /** One batch: `logits` is size × numOutputs, row-major. */
  add(logits: ArrayLike<number>, labels: ArrayLike<number>, size: number): void {
    const K = this.numOutputs
    let correct = 0
    for (let i = 0; i < size; i++) {
      const row = i * K
      const y = labels[i]
      let best = 0
      for (let j = 1; j < K; j++) if (logits[row + j] > logits[row + best]) best = j
      if (best === y) correct++
      this.classExamples[y]++
      if (best < this.numClasses) {
        const key = y * this.numClasses + best
        this.cells.set(key, (this.cells.get(key) ?? 0) + 1)
        if (best === y) this.classCorrect[y]++
      } else this.outside[y]++
      // The label's place when the outputs are ordered by logit, ties by index (as argMax breaks them).
      const target = logits[row + y]
      let above = 0
      for (let j = 0; j < K && above < this.k; j++) if (logits[row + j] > target || (logits[row + j] === target && j < y)) above++
      if (above < this.k) this.topKHits++
    }
    this.examples += size
    this.batchAccuracies.push(correct / size)
  }

  result(): TallyResult {
    const n = this.numClasses
    const pairs: ConfusionPair[] = [...this.cells].sort((a, b) => a[0] - b[0]).map(([key, count]) => [Math.floor(key / n), key % n, count])
    let confusion: number[][] = []
    if (n <= DENSE_MAX_CLASSES) {
      confusion = Array.from({length: n}, () => new Array<number>(n).fill(0))
      for (const [t, p, count] of pairs) confusion[t][p] = count
    }
    return {
      examples: this.examples,
      confusion,
      pairs,
      classExamples: [...this.classExamples],
      classCorrect: [...this.classCorrect],
      outside: [...this.outside],
      k: this.k,
      topK: this.examples > 0 ? this.topKHits / this.examples : 0,
      batchAccuracies: [...this.batchAccuracies],
    }
  }
}

/** Indices of the `k` largest values, largest first (ties: lower index first). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  return Array.from({length: values.length}, (_, i) => i)
    .sort((a, b) => (values[b] > values[a] ? 1 : values[b] < values[a] ? -1 : a - b))
    .slice(0, Math.min(k, values.length))
}

/** Softmax of one row of logits (float64, max subtracted). */
export function softmaxRow(logits: ArrayLike<number>): number[] {
  let max = -Infinity
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i])
  const exp = Array.from(logits, (v) => Math.exp(v - max))
  const sum = exp.reduce((a, b) => a + b, 0)
  return exp.map((e) => e / sum)
}
