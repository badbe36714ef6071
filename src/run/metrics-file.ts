/**
 * A run folder's `metrics.csv`: one row per finished epoch, appended as each epoch ends. Read back
 * (for a resume) only after every row has been checked, and rows past a checkpoint are set aside
 * in a file of their own, never deleted. `metricsCsvRows` is the one reader of its text: the resume
 * check here and the tables (report/collect.ts) both go through it.
 */
import {appendFileSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {parse} from 'csv-parse/sync'
import {UsageError} from '../errors.js'
import {writeFileAtomic} from '../fs/write-atomic.js'

export const METRICS_FILE = 'metrics.csv'

export const METRICS_HEADER = 'epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_seconds,eval_seconds,data_seconds,images_per_second'

const COLUMNS = METRICS_HEADER.split(',')

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
}

/** A row as written: the metrics as JavaScript prints them, timings rounded. */
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
  return [l.epoch, l.train_loss, l.train_accuracy, l.test_loss, l.test_accuracy, l.train_seconds.toFixed(3), l.eval_seconds.toFixed(3), l.data_seconds.toFixed(3), l.images_per_second.toFixed(1)].join(',')
}

/**
 * Rows with their text, epochs 1, 2, … in order, and a last line cut short by a crash (if any);
 * throws a UsageError naming the file and line of any other damage.
 */
export function readMetricsFile(runDir: string): {rows: MetricsRow[]; lines: string[]; partial?: string} {
  const file = join(runDir, METRICS_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {rows: [], lines: []}
    throw error
  }
  const corrupt = (line: number, what: string) => new UsageError(`${file} is corrupt: line ${line} ${what}; restore it from a copy, or start the run again`)
  const [header, ...records] = metricsCsvRows(text)
  if (header?.line !== 1 || header.cells.join(',') !== METRICS_HEADER) throw corrupt(1, `is not the header ${METRICS_HEADER}`)
  // A final line without its newline is a row cut short by a crash: it is set aside like any row past the checkpoint.
  const cut = !/\n$/.test(text) && records.length > 0 ? records.pop() : undefined
  const rows: MetricsRow[] = []
  const lines: string[] = []
  for (const [i, {line, cells}] of records.entries()) {
    if (line !== i + 2) throw corrupt(i + 2, 'is empty')
    const n = cells.map(Number)
    if (cells.length !== COLUMNS.length || cells.some((v) => v.trim() === '') || n.some((x) => Number.isNaN(x))) {
      throw corrupt(line, `has ${cells.length} fields, not the ${COLUMNS.length} numbers of the header`)
    }
    if (n[0] !== i + 1) throw corrupt(line, `is epoch ${cells[0]} where epoch ${i + 1} belongs`)
    rows.push(Object.fromEntries(COLUMNS.map((k, j) => [k, n[j]])) as unknown as MetricsRow)
    lines.push(cells.join(','))
  }
  return {rows, lines, ...(cut ? {partial: cut.cells.join(',')} : {})}
}

/** Start `metrics.csv` with `rows` (atomically). */
export function writeMetricsFile(runDir: string, lines: string[]): void {
  writeFileAtomic(join(runDir, METRICS_FILE), `${METRICS_HEADER}\n${lines.map((l) => `${l}\n`).join('')}`)
}

export function appendMetricsRow(runDir: string, row: MetricsRow): void {
  appendFileSync(join(runDir, METRICS_FILE), `${metricsRow(row)}\n`)
}

/** Keep `lines` (rows past a checkpoint) in `metrics.set-aside-<stamp>.csv`; returns its name. */
export function setAsideRows(runDir: string, lines: string[], stamp: string): string {
  const name = `metrics.set-aside-${stamp}.csv`
  writeFileAtomic(join(runDir, name), `${METRICS_HEADER}\n${lines.map((l) => `${l}\n`).join('')}`)
  return name
}
