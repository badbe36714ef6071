/**
 * What an evaluation counts from each batch's logits, on the host: the confusion matrix (true class ×
 * predicted class), top-k hits, and each batch's top-1 accuracy (for the mean-of-batches definition
 * of accuracy the paper's code used). The prediction is the first largest logit, as `tf.argMax` takes it.
 */

export interface TallyResult {
  examples: number
  /** counts[true][predicted] over the dataset's classes. */
  confusion: number[][]
  /** Examples whose prediction is an output past the dataset's classes (a wider head), per true class. */
  outside: number[]
  /** k of the top-k accuracy (5, or the number of outputs when there are fewer). */
  k: number
  topK: number
  /** Top-1 accuracy of each batch, in order. */
  batchAccuracies: number[]
}

export class EvalTally {
  private readonly confusion: number[][]
  private readonly outside: number[]
  private readonly batchAccuracies: number[] = []
  private examples = 0
  private topKHits = 0
  readonly k: number

  constructor(
    readonly numClasses: number,
    readonly numOutputs: number,
    k = 5,
  ) {
    this.confusion = Array.from({length: numClasses}, () => new Array<number>(numClasses).fill(0))
    this.outside = new Array<number>(numClasses).fill(0)
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
      if (best < this.numClasses) this.confusion[y][best]++
      else this.outside[y]++
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
    return {examples: this.examples, confusion: this.confusion.map((r) => [...r]), outside: [...this.outside], k: this.k, topK: this.examples > 0 ? this.topKHits / this.examples : 0, batchAccuracies: [...this.batchAccuracies]}
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
