/** Small run/sweep folders for the report tests, written into a temporary directory. */
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** Repository root (tests run from dist/test/report/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
/** The committed CIFAR-10 sweep fixture. */
export const SWEEP_FIXTURE = join(ROOT, 'test/fixtures/runs/cifar10-table')

export function tempDir(t: {after: (fn: () => void) => void}): string {
  const dir = mkdtempSync(join(tmpdir(), 'mixture-report-'))
  t.after(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

export interface FakeRun {
  name: string
  label: string
  dataset?: string
  status?: string
  epochs?: number
  /** Test accuracy per epoch; the length is the number of epochs completed. */
  test: number[]
  /** Validation accuracy per epoch: a run with a validation split (selection best_val). */
  val?: number[]
  train?: number[]
  /** Training seconds per epoch (default 60). */
  seconds?: number
  params?: number
  seed?: number
  started?: string
  finished?: string | null
  imageSize?: number
  /** Leave these summary fields out (to exercise the metrics.csv fallback). */
  omit?: string[]
  /** More summary fields (or replacements). */
  summary?: Record<string, unknown>
}

export const METRICS_HEADER =
  'epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_seconds,eval_seconds,data_seconds,images_per_second'

/** Write a run folder (summary.json, metrics.csv, config.yaml) and return its path. */
export function writeRun(dir: string, run: FakeRun): string {
  mkdirSync(dir, {recursive: true})
  const seconds = run.seconds ?? 60
  const train = run.train ?? run.test.map((a) => Math.min(1, a + 0.1))
  const lines = [run.val ? `${METRICS_HEADER},lr,val_loss,val_accuracy` : METRICS_HEADER]
  run.test.forEach((accuracy, i) => lines.push(`${i + 1},1.5,${train[i]},1.6,${accuracy},${seconds},2,0.5,1000${run.val ? `,0.001,1.7,${run.val[i]}` : ''}`))
  writeFileSync(join(dir, 'metrics.csv'), lines.join('\n') + '\n')
  const best = run.test.indexOf(Math.max(...run.test))
  const bestVal = run.val ? run.val.indexOf(Math.max(...run.val)) : -1
  const validation = run.val
    ? {selection: 'best_val', best_val_accuracy: run.val[bestVal], best_val_epoch: bestVal + 1, test_accuracy_at_best_val: run.test[bestVal]}
    : {}
  const summary: Record<string, unknown> = {
    name: run.name,
    label: run.label,
    dataset: run.dataset ?? 'cifar10',
    status: run.status ?? 'completed',
    epochs: run.epochs ?? run.test.length,
    epochs_completed: run.test.length,
    best_test_accuracy: run.test[best],
    best_test_epoch: best + 1,
    best_train_accuracy: Math.max(...train),
    final_test_accuracy: run.test.at(-1),
    train_minutes: (seconds * run.test.length) / 60,
    eval_minutes: (2 * run.test.length) / 60,
    params: run.params ?? 1000,
    backend: 'cpu',
    seed: run.seed ?? 42,
    run_dir: dir,
    started: run.started ?? '2025-01-01T00:00:00.000Z',
    finished: run.finished === undefined ? '2025-01-01T01:00:00.000Z' : run.finished,
    ...validation,
  }
  Object.assign(summary, run.summary)
  for (const key of run.omit ?? []) delete summary[key]
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2))
  writeFileSync(
    join(dir, 'config.yaml'),
    `name: ${run.name}\nlabel: "${run.label}"\ndata:\n  dataset: ${run.dataset ?? 'cifar10'}\n  image_size: ${run.imageSize ?? 32}\n`,
  )
  return dir
}

export function writeIndex(dir: string, index: unknown): void {
  mkdirSync(dirname(join(dir, 'index.json')), {recursive: true})
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index, null, 2))
}
