/**
 * A run folder's `metrics.csv`: one row per finished epoch, appended as each epoch ends. Read back
 * (for a resume) only after every row has been checked, and rows past a checkpoint are set aside
 * in a file of their own, never deleted. `metricsCsvRows` is the one reader of its text: the resume
 * check here and the tables (report/collect.ts) both go through it.
 */
import {appendFileSync, readFileSync, statSync, truncateSync} from 'node:fs'
import {join} from 'node:path'
import {parse} from 'csv-parse/sync'
import {UsageError} from '../errors.js'
import {writeFileAtomic} from '../fs/write-atomic.js'
import {writeFailure} from '../fs/write-error.js'

export const METRICS_FILE = 'metrics.csv'

export const METRICS_HEADER = 'epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_seconds,eval_seconds,data_seconds,images_per_second,lr,val_loss,val_accuracy,raw_test_loss,raw_test_accuracy'

/** The columns of METRICS_HEADER, in order. */
export const METRICS_COLUMNS = METRICS_HEADER.split(',') as (keyof EpochMetrics)[]

/**
 * Earlier layouts, still read: each the current header cut short, by the number of columns it
 * had — before the `lr` column (9), before the validation columns (10), before the trained
 * weights' test columns (12).
 */
const EARLIER_LAYOUTS = [9, 10, 12]

/** Columns that may be blank: the learning rate (rows from before it was written), the validation split's (runs without one) and the trained weights' (runs without train.ema). */
const MAY_BE_BLANK = new Set(['lr', 'val_loss', 'val_accuracy', 'raw_test_loss', 'raw_test_accuracy'])

/** One row of `metrics.csv` (epoch is 1-based); readers that accept other files give NaN for a column a file lacks. */
export interface EpochMetrics {
  epoch: number
  train_loss: number
  train_accuracy: number
  test_loss: number
  test_accuracy: number
  train_seconds: number
  eval_seconds: number
  data_seconds: number
  images_per_second: number
  /** The learning rate of the epoch's first step (NaN in rows from files written before the column existed). */
  lr: number
  /** Loss and accuracy on the validation split `data.val_split` holds out (NaN, a blank cell, without one). */
  val_loss: number
  val_accuracy: number
  /**
   * With `train.ema`, where the other columns score the weights' moving average: the test loss and
   * accuracy of the trained weights themselves (timm evaluates both), NaN (blank) otherwise.
   */
  raw_test_loss: number
  raw_test_accuracy: number
}

/** A row as written: the metrics as JavaScript prints them, timings rounded; blank cells (NaN) where a run has no value. */
export type MetricsRow = EpochMetrics

/**
 * The cells of `metrics.csv` text (the header first), each row with its line number: LF or CRLF
 * line ends, blank lines skipped, no quoting (the file holds numbers only, so a stray quote is a
 * bad cell, not the start of a field).
 */
export function metricsCsvRows(text: string): {line: number; cells: string[]}[] {
  // With `info`, each record comes with where it stood (csv-parse's types do not say so).
  const rows = parse(text, {quote: false, relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'], info: true}) as unknown as {record: string[]; info: {lines: number}}[]
  return rows.map((r) => ({line: r.info.lines, cells: r.record}))
}

export function metricsRow(l: MetricsRow): string {
  const maybe = (v: number) => (Number.isNaN(v) ? '' : v)
  return [l.epoch, l.train_loss, l.train_accuracy, l.test_loss, l.test_accuracy, l.train_seconds.toFixed(3), l.eval_seconds.toFixed(3), l.data_seconds.toFixed(3), l.images_per_second.toFixed(1), maybe(l.lr), maybe(l.val_loss), maybe(l.val_accuracy), maybe(l.raw_test_loss), maybe(l.raw_test_accuracy)].join(',')
}

/**
 * Rows with their text, epochs 1, 2, … in order, and a last line cut short by a crash (if any), or
 * none and `missing` where there is no file;
 * throws a UsageError naming the file and line of any other damage. A file in an earlier layout
 * (before the `lr` column, the validation columns or the trained weights' columns) comes back in the current one, the
 * columns it lacked blank (NaN), and `converted` set: whoever writes the file next writes it whole,
 * under the current header.
 */
export function readMetricsFile(runDir: string): {rows: MetricsRow[]; lines: string[]; partial?: string; converted?: boolean; missing?: boolean} {
  const file = join(runDir, METRICS_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {rows: [], lines: [], missing: true}
    throw error
  }
  const corrupt = (line: number, what: string) => new UsageError(`${file} is corrupt: line ${line} ${what}; restore it from a copy, or start the run again`)
  const [header, ...records] = metricsCsvRows(text)
  const width = header?.cells.length ?? 0
  const converted = EARLIER_LAYOUTS.includes(width) && header.cells.join(',') === METRICS_COLUMNS.slice(0, width).join(',')
  if (header?.line !== 1 || (header.cells.join(',') !== METRICS_HEADER && !converted)) throw corrupt(1, `is not the header ${METRICS_HEADER}`)
  const missing = converted ? Array<string>(METRICS_COLUMNS.length - width).fill('') : []
  // A final line without its newline is a row cut short by a crash: it is set aside like any row past the checkpoint.
  const cut = !/\n$/.test(text) && records.length > 0 ? records.pop() : undefined
  const rows: MetricsRow[] = []
  const lines: string[] = []
  for (const [i, record] of records.entries()) {
    const line = record.line
    const cells = [...record.cells, ...missing]
    if (line !== i + 2) throw corrupt(i + 2, 'is empty')
    // Every column is a number; the learning rate and the validation columns may be blank.
    const n = cells.map((v) => (v.trim() === '' ? NaN : Number(v)))
    if (record.cells.length !== width) throw corrupt(line, `has ${record.cells.length} fields, not the ${width} of the header`)
    const bad = cells.findIndex((v, j) => (v.trim() === '' ? !MAY_BE_BLANK.has(METRICS_COLUMNS[j]) : Number.isNaN(n[j])))
    if (bad >= 0) throw corrupt(line, cells[bad].trim() === '' ? `has no value in column ${METRICS_COLUMNS[bad]}` : `has ${JSON.stringify(cells[bad])} in column ${METRICS_COLUMNS[bad]}, which is not a number`)
    if (n[0] !== i + 1) throw corrupt(line, `is epoch ${cells[0]} where epoch ${i + 1} belongs`)
    rows.push(Object.fromEntries(METRICS_COLUMNS.map((k, j) => [k, n[j]])) as unknown as MetricsRow)
    lines.push(cells.join(','))
  }
  return {rows, lines, ...(cut ? {partial: cut.cells.join(',')} : {}), ...(converted ? {converted} : {})}
}

/** Start `metrics.csv` with `rows` (atomically). */
export function writeMetricsFile(runDir: string, lines: string[]): void {
  writeFileAtomic(join(runDir, METRICS_FILE), `${METRICS_HEADER}\n${lines.map((l) => `${l}\n`).join('')}`)
}

/** Append one epoch's row; a write that fails (a full disk) is taken back, so that no half row is left. */
export function appendMetricsRow(runDir: string, row: MetricsRow): void {
  const file = join(runDir, METRICS_FILE)
  const size = statSync(file, {throwIfNoEntry: false})?.size ?? 0
  try {
    appendFileSync(file, `${metricsRow(row)}\n`)
  } catch (error) {
    try {
      truncateSync(file, size)
    } catch {
      // the file is gone or cannot be written at all: nothing was added to it either
    }
    throw writeFailure(file, error)
  }
}

/** Keep `lines` (rows past a checkpoint) in `metrics.set-aside-<stamp>.csv`; returns its name. */
export function setAsideRows(runDir: string, lines: string[], stamp: string): string {
  const name = `metrics.set-aside-${stamp}.csv`
  writeFileAtomic(join(runDir, name), `${METRICS_HEADER}\n${lines.map((l) => `${l}\n`).join('')}`)
  return name
}
