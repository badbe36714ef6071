/** Shared types for reading run folders and writing result tables. */
import type {Selection} from '../run/summary.js'
import type {AccuracyDefinition} from '../ops/metric-sums.js'


/** Run states written by `summary.json`, plus `pending` for sweep points that have no run folder yet. */
export type RunStatus = 'completed' | 'running' | 'failed' | 'interrupted' | 'pending'

/**
 * The data splits a run's metrics.csv can report on (`val` once a run holds part of its training
 * split out; `raw_test`: the test split scored on the trained weights of a run with train.ema, whose
 * `test` columns score the average).
 */
export const SPLITS = ['train', 'val', 'test', 'raw_test'] as const
export type Split = (typeof SPLITS)[number]

/** The per-epoch metrics drawn as curves. */
export const CURVE_METRICS = ['loss', 'accuracy'] as const
export type CurveMetric = (typeof CURVE_METRICS)[number]

/** One value of a run's history: metrics.csv's `<split>_<metric>` column at one epoch. */
export interface CurvePoint {
  epoch: number
  split: Split
  metric: CurveMetric
  value: number
}

/** Everything the tables need about one run, read from its folder (or from a sweep's index). */
export interface RunRecord {
  /** Absolute run folder; undefined for a sweep point that has no folder. */
  dir?: string
  name: string
  /** Model name as the paper writes it. */
  label: string
  /** Dataset id (`cifar10`); empty when unknown. */
  dataset: string
  /** `data.image_size` from config.yaml, when present. */
  imageSize?: number
  /** `data.label_mode` from config.yaml, when present (CIFAR-100's `coarse`: another task than the paper's). */
  labelMode?: string
  status: RunStatus | string
  epochs: number | null
  epochsCompleted: number
  /** Why early stopping (train.early_stopping) ended the run before its last epoch (summary.json's `stopped_early`): a complete run all the same. */
  stoppedEarly?: string
  bestTestAccuracy: number | null
  bestTestEpoch: number | null
  bestTrainAccuracy: number | null
  finalTestAccuracy: number | null
  /** With a validation split (selection best_val): the best validation accuracy, its epoch, and the test accuracy at that epoch. */
  bestValAccuracy: number | null
  bestValEpoch: number | null
  testAccuracyAtBestVal: number | null
  /** With train.ema: the best test accuracy of the trained weights (the others score the average); null without. */
  bestRawTestAccuracy: number | null
  trainMinutes: number | null
  evalMinutes: number | null
  params: number | null
  backend: string | null
  /** engine.precision where it is not fp32 (summary.json's `precision`; mixed16). */
  precision?: string
  /** The epochs after which the run restarted from best.ckpt (summary.json's `restarted_from_best`): not one uninterrupted run. */
  restartedFromBest?: number[]
  seed: number | null
  started: string | null
  finished: string | null
  /** Per-epoch test accuracy from metrics.csv. */
  curve: {epoch: number; accuracy: number}[]
  /** Every `<split>_<metric>` value of metrics.csv (loss and accuracy for train, val and test), by epoch. */
  history: CurvePoint[]
  /** How the Top-1 accuracy was chosen over epochs (see selection.ts). */
  selection: Selection
  /** How accuracy was computed within an epoch (see selection.ts). */
  accuracyDefinition: AccuracyDefinition
  /** The run's config.yaml (its resolved spec); undefined where there is none or it cannot be read. */
  config?: Record<string, unknown>
  /** The sweep point this run belongs to, when it was found through an `index.json`: the sweep's name, folder and title, the point's key and grid values. */
  sweep?: {name: string; dir: string; title?: string; key: string; grid?: Record<string, unknown>}
  /** Why the run failed: summary.json's error, else its sweep index point's. */
  error?: string
  /** Milliseconds since epoch used to pick the latest of several runs of one model. */
  time: number
}

/** A usage problem (nothing to read, bad path): the command exits with `exit`. */
export class ReportError extends Error {
  constructor(
    message: string,
    readonly exit: number = 2,
  ) {
    super(message)
    this.name = 'ReportError'
  }
}
