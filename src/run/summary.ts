/**
 * `summary.json`: a run's row of the paper's tables (best test and train accuracy, minutes,
 * parameters), its status (and why early stopping ended it), and the process that writes it with a heartbeat (`updated`), rewritten
 * atomically as the run goes.
 *
 * How the best epoch is chosen (`selection`): a run that holds a validation split out
 * (`data.val_split`) chooses it on the validation accuracy (`best_val`: `best_val_accuracy`,
 * `best_val_epoch`, and the test accuracy at that epoch, `test_accuracy_at_best_val`); any other run
 * by the paper's rule, the highest test accuracy over epochs (`best_test`). Within ties the earliest
 * epoch counts, as best.ckpt is written only when the accuracy rises.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {writeFileAtomic} from '../fs/write-atomic.js'
import type {ResolvedSpec} from '../schema/spec.js'
import type {Precision} from '../engine/precision.js'
import type {EpochLine} from './progress.js'
import type {EpochMetrics} from './metrics-file.js'
import type {Fingerprints} from './fingerprints.js'

/** How the best epoch is chosen: on the validation split, or on the test split (the paper's rule). */
export type Selection = 'best_val' | 'best_test'

/** The metrics.csv column each rule chooses the best epoch by. */
export const SELECTION_METRIC = {best_val: 'val_accuracy', best_test: 'test_accuracy'} as const

export interface RunSummary {
  name: string
  label: string | null
  dataset: string
  /** As written; readers show a `running` run whose process is gone as `crashed` (status.ts). */
  status: 'running' | 'completed' | 'failed' | 'interrupted'
  epochs: number
  epochs_completed: number
  best_test_accuracy: number | null
  best_test_epoch: number | null
  best_train_accuracy: number | null
  final_test_accuracy: number | null
  /** With train.ema: the best test accuracy of the trained weights (metrics.csv's raw_test_accuracy; the other accuracies score the average). */
  best_raw_test_accuracy?: number | null
  /** How the best epoch (best.ckpt) is chosen (see the module comment). */
  selection: Selection
  /** With `selection` best_val: the best validation accuracy, its epoch, and the test accuracy at that epoch. */
  best_val_accuracy?: number | null
  best_val_epoch?: number | null
  test_accuracy_at_best_val?: number | null
  /** How the accuracies average: per example, or the mean of per-batch accuracies (the paper's). */
  accuracy: ResolvedSpec['train']['accuracy']
  train_minutes: number
  eval_minutes: number
  data_minutes: number
  params: number
  backend: string | null
  /** engine.precision where it is not fp32 (mixed16). */
  precision?: Precision
  seed: number
  run_dir: string
  /** When the run first started (a resumed run keeps it; env.json lists the resumes). */
  started: string
  /** The images of each split the run trained and evaluated on (`val` where it held a validation split out). */
  images?: {train: number; val?: number; test: number}
  /**
   * The epochs after which the run restarted from best.ckpt (`--resume --from-best`): the optimizer
   * started afresh there, so the run is not one uninterrupted run of its seed. Absent where it never did.
   */
  restarted_from_best?: number[]
  /** The dataset's class names, in the order of the model's outputs: eval, predict and export name the outputs by them where the data are not at hand. */
  classes?: string[]
  /** Hashes of the evaluated splits' images and of the plugin files (fingerprints.ts), for eval to say what changed since. */
  fingerprints?: Fingerprints
  finished: string | null
  /** The process that writes this run folder, and when it last wrote this file (its heartbeat). */
  pid: number
  host: string
  updated: string
  error?: string
  /** Why training stopped before its last epoch (train.early_stopping). */
  stopped_early?: string
  /** SHA-256 of config.yaml as the run trains under it: a resume refuses a config.yaml edited since (folders.ts runConfigHash). */
  config_sha256?: string
}

/** What a summary holds besides the epochs done: fixed when this process starts training. */
export type SummaryBase = Pick<RunSummary, 'name' | 'label' | 'dataset' | 'epochs' | 'accuracy' | 'selection' | 'params' | 'backend' | 'precision' | 'seed' | 'run_dir' | 'started' | 'images' | 'restarted_from_best' | 'classes' | 'fingerprints' | 'pid' | 'host' | 'config_sha256'>

type AccuracyKey = 'test_accuracy' | 'train_accuracy' | 'val_accuracy' | 'raw_test_accuracy'

/**
 * The first epoch of the highest `key`, or undefined before the first epoch. Values that are not
 * finite are passed over: a run never writes one, but a damaged metrics.csv cell reads as NaN, and
 * the tables (report/collect.ts) use this same rule on what they read back.
 */
export function bestEpoch<T extends EpochMetrics>(history: T[], key: AccuracyKey): T | undefined {
  let best: T | undefined
  for (const line of history) if (Number.isFinite(line[key]) && (best === undefined || line[key] > best[key])) best = line
  return best
}

/** The best `key` over the epochs done (bestEpoch's), or null before the first. */
export function bestOf(history: EpochMetrics[], key: AccuracyKey): number | null {
  return bestEpoch(history, key)?.[key] ?? null
}

/** The validation fields of a best_val summary. */
function validationFields(history: EpochLine[]): Pick<RunSummary, 'best_val_accuracy' | 'best_val_epoch' | 'test_accuracy_at_best_val'> {
  const best = bestEpoch(history, 'val_accuracy')
  return {best_val_accuracy: best?.val_accuracy ?? null, best_val_epoch: best?.epoch ?? null, test_accuracy_at_best_val: best?.test_accuracy ?? null}
}

/** The line a run ends with (the command prints it; run.log keeps it): what it reached, and by which rule. */
export function finalLine(s: RunSummary): string {
  const f = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(4))
  const reached =
    s.selection === 'best_val'
      ? `test accuracy ${f(s.test_accuracy_at_best_val)} at the best validation epoch ${s.best_val_epoch ?? '—'} (validation ${f(s.best_val_accuracy)}); best test accuracy over epochs ${f(s.best_test_accuracy)} (epoch ${s.best_test_epoch ?? '—'})`
      : `best test accuracy ${f(s.best_test_accuracy)} (epoch ${s.best_test_epoch ?? '—'})`
  const trained = s.best_raw_test_accuracy === undefined ? '' : `; the trained weights' best ${f(s.best_raw_test_accuracy)} (train.ema: the rest score their average)`
  return `${s.status}: ${reached}${trained}, ${s.train_minutes.toFixed(2)} training minutes, ${s.params} parameters`
}

export function summarize(base: SummaryBase, history: EpochLine[], status: RunSummary['status'], ending: {error?: string; stoppedEarly?: string} = {}): RunSummary {
  const {error, stoppedEarly} = ending
  const bestTest = bestEpoch(history, 'test_accuracy')
  const minutes = (key: 'train_seconds' | 'eval_seconds' | 'data_seconds') => history.reduce((s, l) => s + l[key], 0) / 60
  const now = new Date().toISOString()
  return {
    name: base.name,
    label: base.label,
    dataset: base.dataset,
    status,
    epochs: base.epochs,
    epochs_completed: history.length,
    best_test_accuracy: bestTest?.test_accuracy ?? null,
    best_test_epoch: bestTest?.epoch ?? null,
    best_train_accuracy: bestOf(history, 'train_accuracy'),
    final_test_accuracy: history[history.length - 1]?.test_accuracy ?? null,
    // Only a run with train.ema writes the raw_test columns.
    ...(history.some((l) => Number.isFinite(l.raw_test_accuracy)) ? {best_raw_test_accuracy: bestOf(history, 'raw_test_accuracy')} : {}),
    selection: base.selection,
    ...(base.selection === 'best_val' ? validationFields(history) : {}),
    accuracy: base.accuracy,
    train_minutes: minutes('train_seconds'),
    eval_minutes: minutes('eval_seconds'),
    data_minutes: minutes('data_seconds'),
    params: base.params,
    backend: base.backend,
    ...(base.precision ? {precision: base.precision} : {}),
    seed: base.seed,
    run_dir: base.run_dir,
    started: base.started,
    ...(base.images ? {images: base.images} : {}),
    ...(base.restarted_from_best ? {restarted_from_best: base.restarted_from_best} : {}),
    ...(base.classes ? {classes: base.classes} : {}),
    ...(base.fingerprints ? {fingerprints: base.fingerprints} : {}),
    ...(base.config_sha256 ? {config_sha256: base.config_sha256} : {}),
    finished: status === 'running' ? null : now,
    pid: base.pid,
    host: base.host,
    updated: now,
    ...(error ? {error} : {}),
    ...(stoppedEarly ? {stopped_early: stoppedEarly} : {}),
  }
}

export function writeSummary(runDir: string, summary: RunSummary): void {
  writeFileAtomic(join(runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`)
}

/**
 * The summary.json of the run in `runDir` as written (fields of older runs may be missing); undefined
 * where it cannot be read. A field of the wrong type (a file edited by hand, or damaged) reads as
 * missing, as readers take a missing one, rather than failing in whichever reader meets it.
 */
export function readRunSummary(runDir: string): Partial<RunSummary> | undefined {
  let summary: unknown
  try {
    summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'))
  } catch {
    return undefined
  }
  if (summary === null || typeof summary !== 'object' || Array.isArray(summary)) return undefined
  return Object.fromEntries(Object.entries(summary).filter(([key, value]) => SUMMARY_FIELD_TYPES[key]?.(value) ?? true)) as Partial<RunSummary>
}

const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v)
const numberOrNull = (v: unknown) => v === null || isNumber(v)
const stringOrNull = (v: unknown) => v === null || typeof v === 'string'
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** What each field of summary.json must be for its readers (fields not named here are passed on as they are). */
const SUMMARY_FIELD_TYPES: Record<string, (value: unknown) => boolean> = {
  ...Object.fromEntries(
    ['epochs', 'epochs_completed', 'best_test_accuracy', 'best_test_epoch', 'best_train_accuracy', 'final_test_accuracy', 'best_val_accuracy', 'best_val_epoch', 'test_accuracy_at_best_val', 'best_raw_test_accuracy', 'train_minutes', 'eval_minutes', 'data_minutes', 'params', 'seed', 'pid'].map((k) => [k, numberOrNull]),
  ),
  ...Object.fromEntries(['name', 'label', 'dataset', 'status', 'selection', 'accuracy', 'backend', 'precision', 'run_dir', 'started', 'finished', 'host', 'updated', 'error', 'stopped_early', 'config_sha256'].map((k) => [k, stringOrNull])),
  classes: (v) => Array.isArray(v) && v.every((c) => typeof c === 'string'),
  restarted_from_best: (v) => Array.isArray(v) && v.every((e) => Number.isInteger(e)),
  images: (v) => isRecord(v) && Object.values(v).every(isNumber),
  fingerprints: (v) => isRecord(v) && isRecord(v.data) && Object.values(v.data).every((h) => typeof h === 'string') && isRecord(v.plugins) && Object.values(v.plugins).every(stringOrNull),
}

/** When the run in `runDir` first started, from its summary.json. */
export function firstStarted(runDir: string): string | undefined {
  const started = readRunSummary(runDir)?.started
  return typeof started === 'string' ? started : undefined
}
