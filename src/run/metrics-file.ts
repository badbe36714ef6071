/**
 * A run folder's `metrics.csv`: one row per finished epoch, appended as each epoch ends. Read back
 * (for a resume) only after every row has been checked, and rows past a checkpoint are set aside
 * in a file of their own, never deleted.
 */
import {appendFileSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {UsageError} from '../base-command.js'
import {writeFileAtomic} from './files.js'
import type {EpochLine} from './progress.js'

export const METRICS_FILE = 'metrics.csv'

export const METRICS_HEADER = 'epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_seconds,eval_seconds,data_seconds,images_per_second,lr'

/** The header before the `lr` column (the learning rate of each epoch's first step) was added: still read. */
const HEADER_BEFORE_LR = 'epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_seconds,eval_seconds,data_seconds,images_per_second'

const COLUMNS = METRICS_HEADER.split(',')

/** A row as written: the metrics as JavaScript prints them, timings rounded; `lr` NaN in a row read from a file without it. */
export type MetricsRow = Omit<EpochLine, 'epochs'>

export function metricsRow(l: MetricsRow): string {
  return [l.epoch, l.train_loss, l.train_accuracy, l.test_loss, l.test_accuracy, l.train_seconds.toFixed(3), l.eval_seconds.toFixed(3), l.data_seconds.toFixed(3), l.images_per_second.toFixed(1), Number.isNaN(l.lr) ? '' : l.lr].join(',')
}

/**
 * Rows with their text, epochs 1, 2, … in order, and a last line cut short by a crash (if any);
 * throws a UsageError naming the file and line of any other damage. A file written before the `lr`
 * column comes back in the current layout, its rows with an empty `lr` (NaN), and `converted` set:
 * whoever writes the file next writes it whole, under the current header.
 */
export function readMetricsFile(runDir: string): {rows: MetricsRow[]; lines: string[]; partial?: string; converted?: boolean} {
  const file = join(runDir, METRICS_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {rows: [], lines: []}
    throw error
  }
  const corrupt = (line: number, what: string) => new UsageError(`${file} is corrupt: line ${line} ${what}; restore it from a copy, or start the run again`)
  const [header, ...lines] = text.split('\n')
  const converted = header === HEADER_BEFORE_LR
  if (header !== METRICS_HEADER && !converted) throw corrupt(1, `is not the header ${METRICS_HEADER}`)
  // A final line without its newline is a row cut short by a crash: it is set aside like any row past the checkpoint.
  const partial = text.endsWith('\n') ? undefined : lines[lines.length - 1]
  const complete = lines.slice(0, -1).map((line) => (converted ? `${line},` : line))
  const rows: MetricsRow[] = []
  for (const [i, line] of complete.entries()) {
    const values = line.split(',')
    // Every column is a number; the learning rate may be blank (rows from before it was written).
    const blank = values.findIndex((v, j) => v.trim() === '' && COLUMNS[j] !== 'lr')
    const n = values.map((v) => (v.trim() === '' ? NaN : Number(v)))
    if (values.length !== COLUMNS.length || blank >= 0 || n.some((x, j) => Number.isNaN(x) && values[j].trim() !== '')) {
      throw corrupt(i + 2, `has ${values.length} fields, not the ${COLUMNS.length} numbers of the header`)
    }
    if (n[0] !== i + 1) throw corrupt(i + 2, `is epoch ${values[0]} where epoch ${i + 1} belongs`)
    rows.push(Object.fromEntries(COLUMNS.map((k, j) => [k, n[j]])) as unknown as MetricsRow)
  }
  return {rows, lines: complete, ...(partial ? {partial} : {}), ...(converted ? {converted} : {})}
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
