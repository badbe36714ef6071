/**
 * Paper-shaped result tables: `table.csv`, `table.md` and `table-extended.csv`.
 *
 * Columns are the paper's: Model | Top-1 Test Accuracy | Total Training Time (Minutes) | Number of
 * Parameters. Where runs chose their best epoch on a validation split (selection.ts `best_val`), the
 * accuracy column holds the test accuracy at that epoch, titled so ("Test Accuracy at Best
 * Validation Epoch" when every row did), and a "Best Test Accuracy over Epochs" column follows with
 * the paper's rule for comparison. One row per model (group.ts): a model run with several seeds shows mean ± sample std
 * and the number of runs, `0.8710 ± 0.0031 (n=3)` and `49.6 ± 1.2 (n=3)`; a model run once shows
 * its bare number, as the paper does. Number formats:
 * - accuracy: 4 decimals (`0.7860`), the precision of the paper's longest entries;
 * - minutes: 1 decimal from 10 minutes up (`49.6`, `535.9`, as in Figures 8 and 9), 2 decimals below
 *   10 (`4.62`) so that short runs keep three significant digits;
 * - parameters: a plain integer, no separators (`4719167`).
 * The Model cell is the runs' `label` (without a sweep's seed axis), the paper's name for the model.
 * When the rows span several datasets a leading Dataset column is added; with one row per run
 * (`perSeed`) a Seed column follows the model. A run that is not complete keeps its numbers and is
 * marked in Markdown (`0.4123 (incomplete: 12/50 epochs, failed)`; in a group, `seed 3 incomplete: …`);
 * table.csv keeps the cells unmarked, and table-extended.csv carries the values of the sweep grid
 * keys, the unrounded mean and std, n, seeds, status, epochs, backend and run folders of every row.
 * table.md opens with its title where a sweep gives it one (title.ts) and ends with the caption
 * (selection.ts): how Top-1 was chosen, what accuracy means, and how seeds were aggregated.
 * With paper comparison, the published values are added in columns named "Paper …", next to,
 * never instead of, the measured ones.
 */
import {isAbsolute, relative} from 'node:path'
import {stringify} from 'csv-stringify/sync'

import {isComplete, RunGroup, statOf} from './group.js'
import {datasetDisplayName, findPaperRow} from './paper.js'
import {accuracyColumn, tableCaption} from './selection.js'
import type {Selection} from '../run/summary.js'
import type {AccuracyDefinition} from '../ops/metric-sums.js'
import {RunRecord} from './types.js'

export const TABLE_COLUMNS = [
  'Model',
  'Top-1 Test Accuracy',
  'Total Training Time (Minutes)',
  'Number of Parameters',
] as const

/** The paper's rule beside a validation-selected accuracy, labelled as what it is. */
export const BEST_TEST_COLUMN = 'Best Test Accuracy over Epochs'

/** Beside the accuracy of runs with train.ema (which scores the weights' moving average): the trained weights' best. */
export const TRAINED_WEIGHTS_COLUMN = 'Best Test Accuracy of the Trained Weights'

export const PAPER_COLUMNS = ['Paper Top-1 Test Accuracy', 'Paper Total Training Time (Minutes)', 'Paper Figure'] as const

/**
 * One table row: what `--json` reports under `rows`. Field names follow summary.json; over several
 * runs (n > 1) a number is the mean over the counted runs and `*_std` its sample standard deviation,
 * and the per-run fields (best_test_epoch, seed, run_dir) are null, with `seeds` and `run_dirs` listing the runs.
 */
export interface TableRow {
  /** Model name as the paper writes it (the runs' label without a seed axis). */
  model: string
  dataset: string
  /** The runs' status; over runs of several statuses each once, `completed` first (`completed/failed`; the note says which seed). */
  status: string
  /** Completed and trained for every planned epoch. */
  complete: boolean
  /** Why the row is marked, e.g. `incomplete: 12/50 epochs, failed`; absent when complete. */
  note?: string
  epochs_completed: number
  epochs: number | null
  best_test_accuracy: number | null
  best_test_epoch: number | null
  best_train_accuracy: number | null
  final_test_accuracy: number | null
  train_minutes: number | null
  eval_minutes: number | null
  params: number | null
  seed: number | null
  backend: string | null
  name: string
  run_dir: string | null
  started: string | null
  finished: string | null
  error?: string
  /** Runs the numbers are over (0 for a sweep point not run yet). */
  n: number
  /** Seeds of the counted runs, in table order. */
  seeds: (number | null)[]
  best_test_accuracy_std: number | null
  /**
   * With selection best_val: the test accuracy at the epoch of best validation accuracy (the row's
   * headline; mean and std over runs), the best validation accuracy, and its epoch (one run only).
   */
  test_accuracy_at_best_val: number | null
  test_accuracy_at_best_val_std: number | null
  best_val_accuracy: number | null
  best_val_epoch: number | null
  /** With train.ema: the best test accuracy of the trained weights (the row's other accuracies score the average); null without. */
  best_raw_test_accuracy: number | null
  best_raw_test_accuracy_std: number | null
  train_minutes_std: number | null
  /** Every run folder of the row (counted or not). */
  run_dirs: string[]
  selection: Selection
  accuracy_definition: AccuracyDefinition
  /**
   * The sweep grid values of the row's points (index.json `points[].grid`), by key: the value its
   * runs share, null where they differ (the seed of a row over seeds); absent for a row of no sweep point.
   */
  grid?: Record<string, string | null>
  /** Published reference values (only with paper comparison, only for a matching model and dataset). */
  paper?: {figure: number; title: string; label: string; accuracy: number; minutes: number | null; params: number}
}

/**
 * Round half up on the number's shortest decimal form, then print `digits` decimals: 0.62345 →
 * `0.6235` (plain `toFixed` gives `0.6234`, because the double is just below 0.62345). STL-10's
 * 8,000 test images make such halves common.
 */
export function fixed(value: number, digits: number): string {
  if (!Number.isFinite(value)) return String(value)
  const rounded = Number(`${Math.round(Number(`${value}e${digits}`))}e-${digits}`)
  return (Number.isFinite(rounded) ? rounded : value).toFixed(digits)
}

export function formatAccuracy(value: number | null): string {
  return value === null ? '' : fixed(value, 4)
}

export function formatMinutes(value: number | null): string {
  if (value === null) return ''
  return value < 10 ? fixed(value, 2) : fixed(value, 1)
}

export function formatParams(value: number | null): string {
  return value === null ? '' : String(Math.round(value))
}

/** `incomplete: 12/50 epochs, failed`, `pending`, `restarted from best.ckpt after epoch 5`, or undefined for a complete uninterrupted run. */
export function incompleteNote(run: RunRecord): string | undefined {
  const parts: string[] = []
  if (run.epochs !== null && run.epochsCompleted < run.epochs && run.stoppedEarly === undefined) parts.push(`incomplete: ${run.epochsCompleted}/${run.epochs} epochs`)
  if (run.status !== 'completed') parts.push(run.status)
  // Another sample of its seed than an uninterrupted run: the optimizer started afresh there.
  if (run.restartedFromBest?.length) parts.push(`restarted from best.ckpt after epoch ${run.restartedFromBest.join(', ')}`)
  return parts.length > 0 ? parts.join(', ') : undefined
}

/** A group's note: its one run's, or each unfinished run's with its seed (`seed 3 incomplete: 1/3 epochs, failed`). */
function groupNote(group: RunGroup): string | undefined {
  if (group.runs.length === 1) return incompleteNote(group.runs[0])
  const notes = group.runs.flatMap((run) => {
    const note = incompleteNote(run)
    return note === undefined ? [] : [`${run.seed === null ? run.dir ?? run.name : `seed ${run.seed}`} ${note}`]
  })
  for (const [what, pick] of [['params', (r: RunRecord) => r.params], ['epochs', (r: RunRecord) => r.epochs]] as const) {
    const values = [...new Set(group.counted.map(pick).filter((v) => v !== null))]
    if (values.length > 1) notes.push(`${what} differ: ${group.counted.map((r) => `${r.seed === null ? r.dir ?? r.name : `seed ${r.seed}`} ${pick(r) ?? '?'}`).join(', ')}`)
  }
  return notes.length > 0 ? notes.join('; ') : undefined
}

/** Each status of the runs once, `completed` first, then by name: `completed/failed`. */
function statusesOf(runs: RunRecord[]): string {
  return [...new Set(runs.map((r) => String(r.status)))].sort((a, b) => Number(b === 'completed') - Number(a === 'completed') || a.localeCompare(b)).join('/')
}

/** The value all runs share (ignoring nulls); null where they differ (the row's note lists them) or none has one. */
function shared<T>(values: (T | null)[]): T | null {
  const present = [...new Set(values.filter((v): v is T => v !== null))]
  return present.length === 1 ? present[0] : null
}

/** The grid values of runs that are sweep points: per key, the one value they share (as index.json writes it, a value that is not text as JSON), else null. */
function gridOf(runs: RunRecord[]): Record<string, string | null> | undefined {
  const grids = runs.flatMap((r) => (r.sweep?.grid ? [r.sweep.grid] : []))
  if (grids.length === 0) return undefined
  const text = (value: unknown): string | null => (value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value))
  const keys = [...new Set(grids.flatMap((grid) => Object.keys(grid)))]
  return Object.fromEntries(keys.map((key) => [key, shared(grids.map((grid) => text(grid[key])))]))
}

function earliest(values: (string | null)[]): string | null {
  return values.filter((v): v is string => v !== null).sort()[0] ?? null
}

function latest(values: (string | null)[]): string | null {
  return values.filter((v): v is string => v !== null).sort().at(-1) ?? null
}

export function toTableRows(groups: RunGroup[], comparePaper = false): TableRow[] {
  return groups.map((group) => {
    const runs = group.counted
    const one = runs.length === 1 ? runs[0] : undefined
    const mean = (pick: (run: RunRecord) => number | null) => statOf(runs.map(pick))
    const accuracy = mean((r) => r.bestTestAccuracy)
    const atBestVal = mean((r) => r.testAccuracyAtBestVal)
    const trained = mean((r) => r.bestRawTestAccuracy)
    const minutes = mean((r) => r.trainMinutes)
    const errors = group.runs.filter((r) => r.error).map((r) => (group.runs.length > 1 && r.seed !== null ? `seed ${r.seed}: ${r.error}` : r.error))
    const backends = [...new Set(runs.map((r) => r.backend).filter((b): b is string => b !== null))]
    const row: TableRow = {
      model: group.label,
      dataset: group.dataset,
      status: group.runs.length === 1 ? group.runs[0].status : group.runs.every(isComplete) ? 'completed' : statusesOf(group.runs),
      complete: group.runs.every(isComplete),
      epochs_completed: Math.min(...runs.map((r) => r.epochsCompleted)),
      epochs: shared(runs.map((r) => r.epochs)),
      best_test_accuracy: accuracy.mean,
      best_test_epoch: one?.bestTestEpoch ?? null,
      best_train_accuracy: mean((r) => r.bestTrainAccuracy).mean,
      final_test_accuracy: mean((r) => r.finalTestAccuracy).mean,
      train_minutes: minutes.mean,
      eval_minutes: mean((r) => r.evalMinutes).mean,
      params: shared(runs.map((r) => r.params)),
      seed: one?.seed ?? null,
      backend: backends.length > 0 ? backends.join(', ') : null,
      name: runs[0].name,
      run_dir: one?.dir ?? null,
      started: earliest(runs.map((r) => r.started)),
      finished: latest(runs.map((r) => r.finished)),
      n: runs.filter((r) => r.dir !== undefined).length,
      seeds: runs.filter((r) => r.dir !== undefined).map((r) => r.seed),
      best_test_accuracy_std: accuracy.std,
      test_accuracy_at_best_val: atBestVal.mean,
      test_accuracy_at_best_val_std: atBestVal.std,
      best_val_accuracy: mean((r) => r.bestValAccuracy).mean,
      best_val_epoch: one?.bestValEpoch ?? null,
      best_raw_test_accuracy: trained.mean,
      best_raw_test_accuracy_std: trained.std,
      train_minutes_std: minutes.std,
      run_dirs: group.runs.flatMap((r) => (r.dir ? [r.dir] : [])),
      selection: runs[0].selection,
      accuracy_definition: runs[0].accuracyDefinition,
    }
    const grid = gridOf(group.runs)
    if (grid) row.grid = grid
    const note = groupNote(group)
    if (note) row.note = note
    if (errors.length > 0) row.error = errors.join('; ')
    if (comparePaper) {
      const match = findPaperRow(group.dataset, group.label, group.imageSize, group.labelMode)
      if (match) {
        const {table, row: published} = match
        row.paper = {
          figure: table.figure,
          title: table.title,
          label: published.label,
          accuracy: published.accuracy,
          minutes: published.minutes,
          params: published.params,
        }
      }
    }
    return row
  })
}

/** A mean with its spread over several runs: `0.8710 ± 0.0031 (n=3)`; one run: the bare number. */
export function formatStat(mean: number | null, std: number | null, n: number, format: (value: number | null) => string): string {
  if (mean === null || n < 2) return format(mean)
  return `${format(mean)} ± ${std === null ? '?' : formatLike(std, mean, format)} (n=${n})`
}

/** The spread printed with as many decimals as the mean it goes with. */
function formatLike(std: number, mean: number, format: (value: number | null) => string): string {
  const decimals = format(mean).split('.')[1]?.length ?? 0
  return fixed(std, decimals)
}

/** True when the rows come from more than one dataset (then tables get a Dataset column). */
export function spansDatasets(rows: TableRow[]): boolean {
  return new Set(rows.map((r) => r.dataset)).size > 1
}

export interface TableOptions {
  comparePaper?: boolean
  /** One row per run: a Seed column follows the model. */
  perSeed?: boolean
  /** Folder that run folders are written relative to in table-extended.csv when inside it (default: absolute paths). */
  base?: string
  /** table.md's heading (title.ts: a sweep's title); none where undefined. */
  title?: string
}

/** The accuracy column's title: the paper's, or the validation-based rule's when every row used it. */
function accuracyTitle(rows: TableRow[]): string {
  const rules = new Set(rows.map((r) => r.selection))
  return rules.size === 1 ? accuracyColumn([...rules][0]) : TABLE_COLUMNS[1]
}

/** True when any row chose its best epoch on a validation split: the table then shows the best test accuracy beside it. */
function hasValidation(rows: TableRow[]): boolean {
  return rows.some((r) => r.selection === 'best_val')
}

/** True when any row has runs with train.ema: the table then shows their trained weights' best beside the average's. */
function hasTrainedWeights(rows: Pick<TableRow, 'best_raw_test_accuracy'>[]): boolean {
  return rows.some((r) => r.best_raw_test_accuracy !== null)
}

function header(rows: TableRow[], options: TableOptions): string[] {
  const [model, , ...rest] = TABLE_COLUMNS
  return [
    ...(spansDatasets(rows) ? ['Dataset'] : []),
    model,
    ...(options.perSeed ? ['Seed'] : []),
    accuracyTitle(rows),
    ...(hasValidation(rows) ? [BEST_TEST_COLUMN] : []),
    ...(hasTrainedWeights(rows) ? [TRAINED_WEIGHTS_COLUMN] : []),
    ...rest,
    ...(options.comparePaper ? PAPER_COLUMNS : []),
  ]
}

function paperCells(row: TableRow): string[] {
  if (!row.paper) return ['', '', '']
  return [String(row.paper.accuracy), row.paper.minutes === null ? '' : String(row.paper.minutes), `Figure ${row.paper.figure}`]
}

/** The row's accuracy by its own rule: the test accuracy at the best validation epoch, or the best test accuracy. */
function headline(row: TableRow): string {
  return row.selection === 'best_val'
    ? formatStat(row.test_accuracy_at_best_val, row.test_accuracy_at_best_val_std, row.n, formatAccuracy)
    : formatStat(row.best_test_accuracy, row.best_test_accuracy_std, row.n, formatAccuracy)
}

function cells(row: TableRow, rows: TableRow[], options: TableOptions, markdown: boolean): string[] {
  let accuracy = headline(row)
  if (markdown && row.note) {
    accuracy = row.n > 1 && accuracy.endsWith(')') ? accuracy.replace(/\)$/, `; ${row.note})`) : `${accuracy || '—'} (${row.note})`
  }
  return [
    ...(spansDatasets(rows) ? [datasetDisplayName(row.dataset)] : []),
    row.model,
    ...(options.perSeed ? [row.seed === null ? '' : String(row.seed)] : []),
    accuracy,
    ...(hasValidation(rows) ? [formatStat(row.best_test_accuracy, row.best_test_accuracy_std, row.n, formatAccuracy)] : []),
    ...(hasTrainedWeights(rows) ? [formatStat(row.best_raw_test_accuracy, row.best_raw_test_accuracy_std, row.n, formatAccuracy)] : []),
    formatStat(row.train_minutes, row.train_minutes_std, row.n, formatMinutes),
    formatParams(row.params),
    ...(options.comparePaper ? paperCells(row) : []),
  ]
}

/** The table as text cells: its header and one line per row (`marked`: incomplete runs noted after their accuracy, as in table.md). */
export function tableCells(rows: TableRow[], options: TableOptions, marked: boolean): {head: string[]; body: string[][]} {
  return {head: header(rows, options), body: rows.map((r) => cells(r, rows, options, marked))}
}

/** Columns that hold text (left-aligned); the others hold numbers. */
export const TEXT_COLUMNS: ReadonlySet<string> = new Set(['Dataset', 'Model', 'Seed', 'Paper Figure'])

/** `table.csv`: the paper's columns, unmarked cells. */
export function renderCsv(rows: TableRow[], options: TableOptions = {}): string {
  const {head, body} = tableCells(rows, options, false)
  return stringify([head, ...body])
}

/** A cell as Markdown shows it as written: `|` kept inside its cell, and `<`, and `&` of an entity, shown rather than read as HTML. */
function escapeMarkdown(cell: string): string {
  return cell.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '\\<').replace(/&(?=#?\w+;)/g, '\\&').replace(/\r?\n/g, ' ')
}

/** `table.md`: its title as a heading (where it has one), a padded GitHub table, incomplete runs marked after their accuracy; the caption below. */
export function renderMarkdown(rows: TableRow[], options: TableOptions = {}): string {
  const cellsOf = tableCells(rows, options, true)
  const head = cellsOf.head
  const body = cellsOf.body.map((line) => line.map(escapeMarkdown))
  const widths = head.map((h, i) => Math.max(h.length, 3, ...body.map((line) => line[i].length)))
  const line = (values: string[]): string =>
    `| ${values.map((v, i) => (TEXT_COLUMNS.has(head[i]) ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(' | ')} |`
  const rule = `|${head.map((h, i) => (TEXT_COLUMNS.has(h) ? ` ${'-'.repeat(widths[i])} ` : ` ${'-'.repeat(widths[i] - 1)}: `)).join('|')}|`
  const lines = [...(options.title === undefined ? [] : [`# ${escapeMarkdown(options.title)}`, '']), line(head), rule, ...body.map(line), '', tableCaption(rows)]
  const note = paperNote(rows, options)
  if (note) lines.push('', note)
  return lines.join('\n') + '\n'
}

/** Where the Paper columns come from, when the table has them and any row matched. */
export function paperNote(rows: TableRow[], options: TableOptions): string | undefined {
  const figures = new Map<number, string>()
  for (const row of rows) if (row.paper) figures.set(row.paper.figure, row.paper.title)
  if (!options.comparePaper || figures.size === 0) return undefined
  const sources = [...figures].map(([figure, title]) => `Figure ${figure} (${title})`).join(', ')
  return `Paper columns are the values published in the paper, ${sources}; they were not measured here.`
}

export const EXTENDED_COLUMNS = [
  'model',
  'dataset',
  'status',
  // true only where every run completed every planned epoch
  'complete',
  'epochs_completed',
  'epochs',
  'best_test_accuracy',
  'best_test_epoch',
  'best_train_accuracy',
  'final_test_accuracy',
  'train_minutes',
  'eval_minutes',
  'params',
  'seed',
  'backend',
  'name',
  'run_dir',
  'started',
  'finished',
  'error',
  'n',
  'seeds',
  'best_test_accuracy_std',
  'train_minutes_std',
  'selection',
  'accuracy_definition',
  'best_val_accuracy',
  'best_val_epoch',
  'test_accuracy_at_best_val',
  'test_accuracy_at_best_val_std',
  'best_raw_test_accuracy',
  'best_raw_test_accuracy_std',
  // What table.md writes after an incomplete row's accuracy (table.csv keeps the paper's cells unmarked).
  'note',
] as const

const PAPER_EXTENDED_COLUMNS = ['paper_figure', 'paper_accuracy', 'paper_minutes', 'paper_params'] as const

function raw(value: string | number | boolean | null | undefined | (number | null)[] | string[]): string {
  if (Array.isArray(value)) return value.map((v) => raw(v)).join(';')
  return value === null || value === undefined ? '' : String(value)
}

/** A run folder inside `base` relative to it; anything else absolute. */
export function runDir(dir: string | null, base: string | undefined): string {
  if (dir === null) return ''
  if (base === undefined) return dir
  const rel = relative(base, dir)
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? dir : rel
}

/**
 * The grid keys of the rows' sweeps, each once in order of appearance: table-extended.csv's columns
 * after the dataset. A key that is a column already is left out: the seed is in `seed` and `seeds`.
 */
export function gridColumns(rows: TableRow[]): string[] {
  const columns: ReadonlySet<string> = new Set(EXTENDED_COLUMNS)
  return [...new Set(rows.flatMap((row) => Object.keys(row.grid ?? {})))].filter((key) => !columns.has(key))
}

/**
 * `table-extended.csv`: every row with its status and provenance, unrounded; run folders relative
 * to `base`. A row over several runs lists its folders (run_dir) and seeds separated by `;`. After
 * the model and dataset, a column per sweep grid key (gridColumns) holds the row's value, so that a
 * data frame can be grouped by what was swept.
 */
export function renderExtendedCsv(rows: TableRow[], options: TableOptions = {}): string {
  const [model, dataset, ...measured] = EXTENDED_COLUMNS
  const grid = gridColumns(rows)
  const head: string[] = [model, dataset, ...grid, ...measured, ...(options.comparePaper ? PAPER_EXTENDED_COLUMNS : [])]
  const cell = (row: TableRow, c: (typeof EXTENDED_COLUMNS)[number]): string =>
    c === 'run_dir' ? (row.run_dir === null && row.run_dirs.length > 1 ? row.run_dirs : [row.run_dir]).map((d) => runDir(d, options.base)).join(';') : raw(row[c])
  const body = rows.map((row) => [
    cell(row, model),
    cell(row, dataset),
    ...grid.map((key) => raw(row.grid?.[key])),
    ...measured.map((c) => cell(row, c)),
    ...(options.comparePaper
      ? [raw(row.paper?.figure), raw(row.paper?.accuracy), raw(row.paper?.minutes), raw(row.paper?.params)]
      : []),
  ])
  return stringify([head, ...body])
}
