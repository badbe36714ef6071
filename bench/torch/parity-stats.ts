/**
 * The statistics `npm run parity` prints: per epoch, the mean ± sample standard deviation of test
 * accuracy and loss over the seeds of each side and the difference of the means with its standard
 * error, and the same of the training accuracy and loss (the running ones over the epoch's
 * batches, as metrics.csv holds them: with few seeds, steadier than the test's); over the runs, the best test accuracy (Top-1) of each side, the difference and the pooled
 * standard deviation, and whether the difference is within max(pooled sd, floor).
 */

export interface EpochRow {
  epoch: number
  test_accuracy: number
  test_loss: number
  train_accuracy: number
  train_loss: number
}

export interface Spread {
  mean: number
  /** Sample standard deviation (n − 1); 0 for one value. */
  sd: number
  n: number
}

export function spread(xs: number[]): Spread {
  const n = xs.length
  const mean = xs.reduce((a, b) => a + b, 0) / n
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0
  return {mean, sd, n}
}

/** Difference of the means (a − b) and its standard error √(sd_a²/n_a + sd_b²/n_b). */
export function difference(a: Spread, b: Spread): {diff: number; se: number} {
  return {diff: a.mean - b.mean, se: Math.sqrt((a.sd * a.sd) / a.n + (b.sd * b.sd) / b.n)}
}

/** √(((n_a − 1)·sd_a² + (n_b − 1)·sd_b²) / (n_a + n_b − 2)). */
export function pooledSd(a: Spread, b: Spread): number {
  const dof = a.n + b.n - 2
  return dof > 0 ? Math.sqrt(((a.n - 1) * a.sd * a.sd + (b.n - 1) * b.sd * b.sd) / dof) : 0
}

/** One epoch of one split: each side's spread over the seeds, and the differences. */
export interface SplitCompared {
  ours: {accuracy: Spread; loss: Spread}
  twin: {accuracy: Spread; loss: Spread}
  accuracy: {diff: number; se: number}
  loss: {diff: number; se: number}
}

/** The test split's comparison, and the training metrics' under `training`. */
export interface PerEpoch extends SplitCompared {
  epoch: number
  training: SplitCompared
}

export interface Parity {
  epochs: PerEpoch[]
  best: {ours: Spread; twin: Spread; diff: number; se: number; pooled_sd: number; allowed: number; within: boolean}
}

/** Per-run metrics (one list of epochs per seed) of both sides → the comparison; `floor` is the smallest allowed difference. */
export function compareRuns(ours: EpochRow[][], twin: EpochRow[][], floor = 0.005): Parity {
  const epochs = Math.min(...ours.map((r) => r.length), ...twin.map((r) => r.length))
  const compared = (e: number, split: 'test' | 'train'): SplitCompared => {
    const at = (runs: EpochRow[][]) => ({accuracy: spread(runs.map((r) => r[e][`${split}_accuracy`])), loss: spread(runs.map((r) => r[e][`${split}_loss`]))})
    const o = at(ours)
    const t = at(twin)
    return {ours: o, twin: t, accuracy: difference(o.accuracy, t.accuracy), loss: difference(o.loss, t.loss)}
  }
  const rows: PerEpoch[] = []
  for (let e = 0; e < epochs; e++) rows.push({epoch: e + 1, ...compared(e, 'test'), training: compared(e, 'train')})
  const best = (runs: EpochRow[][]) => spread(runs.map((r) => Math.max(...r.slice(0, epochs).map((x) => x.test_accuracy))))
  const o = best(ours)
  const t = best(twin)
  const {diff, se} = difference(o, t)
  const pooled = pooledSd(o, t)
  const allowed = Math.max(pooled, floor)
  return {epochs: rows, best: {ours: o, twin: t, diff, se, pooled_sd: pooled, allowed, within: Math.abs(diff) <= allowed}}
}
