/**
 * `summary.json`: a run's row of the paper's tables (best test and train accuracy, minutes,
 * parameters), its status, and the process that writes it with a heartbeat (`updated`), rewritten
 * atomically as the run goes.
 */
import {join} from 'node:path'
import {writeFileAtomic} from '../fs/write-atomic.js'
import type {ResolvedSpec} from '../schema/spec.js'
import type {EpochLine} from './progress.js'

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
  /** How the accuracies average: per example, or the mean of per-batch accuracies (the paper's). */
  accuracy: ResolvedSpec['train']['accuracy']
  train_minutes: number
  eval_minutes: number
  data_minutes: number
  params: number
  backend: string | null
  seed: number
  run_dir: string
  started: string
  finished: string | null
  /** The process that writes this run folder, and when it last wrote this file (its heartbeat). */
  pid: number
  host: string
  updated: string
  error?: string
}

/** What a summary holds besides the epochs done: fixed when this process starts training. */
export type SummaryBase = Pick<RunSummary, 'name' | 'label' | 'dataset' | 'epochs' | 'accuracy' | 'params' | 'backend' | 'seed' | 'run_dir' | 'started' | 'pid' | 'host'>

/** The best `key` over the epochs done, or null before the first. */
export function bestOf(history: EpochLine[], key: 'test_accuracy' | 'train_accuracy'): number | null {
  return history.length ? Math.max(...history.map((l) => l[key])) : null
}

export function summarize(base: SummaryBase, history: EpochLine[], status: RunSummary['status'], error?: string): RunSummary {
  const bestTest = bestOf(history, 'test_accuracy')
  const minutes = (key: 'train_seconds' | 'eval_seconds' | 'data_seconds') => history.reduce((s, l) => s + l[key], 0) / 60
  const now = new Date().toISOString()
  return {
    name: base.name,
    label: base.label,
    dataset: base.dataset,
    status,
    epochs: base.epochs,
    epochs_completed: history.length,
    best_test_accuracy: bestTest,
    best_test_epoch: bestTest === null ? null : history.find((l) => l.test_accuracy === bestTest)!.epoch,
    best_train_accuracy: bestOf(history, 'train_accuracy'),
    final_test_accuracy: history[history.length - 1]?.test_accuracy ?? null,
    accuracy: base.accuracy,
    train_minutes: minutes('train_seconds'),
    eval_minutes: minutes('eval_seconds'),
    data_minutes: minutes('data_seconds'),
    params: base.params,
    backend: base.backend,
    seed: base.seed,
    run_dir: base.run_dir,
    started: base.started,
    finished: status === 'running' ? null : now,
    pid: base.pid,
    host: base.host,
    updated: now,
    ...(error ? {error} : {}),
  }
}

export function writeSummary(runDir: string, summary: RunSummary): void {
  writeFileAtomic(join(runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`)
}
