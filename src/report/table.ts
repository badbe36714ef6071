/**
 * Paper-shaped result tables: `table.csv`, `table.md` and `table-extended.csv`.
 *
 * Columns are the paper's: Model | Top-1 Test Accuracy | Total Training Time (Minutes) | Number of
 * Parameters. Number formats:
 * - accuracy: 4 decimals (`0.7860`), the precision of the paper's longest entries;
 * - minutes: 1 decimal from 10 minutes up (`49.6`, `535.9`, as in Figures 8 and 9), 2 decimals below
 *   10 (`4.62`) so that short runs keep three significant digits;
 * - parameters: a plain integer, no separators (`4719167`).
 * The Model cell is the run's `label`, the paper's name for the model. When the rows span several
 * datasets a leading Dataset column is added. A run that is not complete keeps its numbers and is
 * marked in Markdown (`0.4123 (incomplete: 12/50 epochs, failed)`); table.csv keeps bare numbers
 * and table-extended.csv carries the status, epochs, seed, backend and run folder for every row.
 * With paper comparison, the published values are added in columns named "Paper …", next to,
 * never instead of, the measured ones.
 */
import {isAbsolute, relative} from 'node:path'
import {stringify} from 'csv-stringify/sync'

import {datasetDisplayName, findPaperRow} from './paper.js'
import {isComplete} from './select.js'
import {RunRecord} from './types.js'

export const TABLE_COLUMNS = [
  'Model',
  'Top-1 Test Accuracy',
  'Total Training Time (Minutes)',
  'Number of Parameters',
] as const

export const PAPER_COLUMNS = ['Paper Top-1 Test Accuracy', 'Paper Total Training Time (Minutes)', 'Paper Figure'] as const

/** One table row: what `--json` reports under `rows`. Field names follow summary.json. */
export interface TableRow {
  /** Model name as the paper writes it (the run's label). */
  model: string
  dataset: string
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
  /** How the accuracies average (per_example, batch_mean), where the run says. */
  accuracy: string | null
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

/** `incomplete: 12/50 epochs, failed`, `pending`, or undefined for a complete run. */
export function incompleteNote(run: RunRecord): string | undefined {
  const parts: string[] = []
  if (run.epochs !== null && run.epochsCompleted < run.epochs) parts.push(`incomplete: ${run.epochsCompleted}/${run.epochs} epochs`)
  if (run.status !== 'completed') parts.push(run.status)
  return parts.length > 0 ? parts.join(', ') : undefined
}

export function toTableRows(runs: RunRecord[], comparePaper = false): TableRow[] {
  return runs.map((run) => {
    const row: TableRow = {
      model: run.label,
      dataset: run.dataset,
      status: run.status,
      complete: isComplete(run),
      epochs_completed: run.epochsCompleted,
      epochs: run.epochs,
      best_test_accuracy: run.bestTestAccuracy,
      best_test_epoch: run.bestTestEpoch,
      best_train_accuracy: run.bestTrainAccuracy,
      final_test_accuracy: run.finalTestAccuracy,
      accuracy: run.accuracy ?? null,
      train_minutes: run.trainMinutes,
      eval_minutes: run.evalMinutes,
      params: run.params,
      seed: run.seed,
      backend: run.backend,
      name: run.name,
      run_dir: run.dir ?? null,
      started: run.started,
      finished: run.finished,
    }
    const note = incompleteNote(run)
    if (note) row.note = note
    if (run.error) row.error = run.error
    if (comparePaper) {
      const match = findPaperRow(run.dataset, run.label, run.imageSize)
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

/** True when the rows come from more than one dataset (then tables get a Dataset column). */
export function spansDatasets(rows: TableRow[]): boolean {
  return new Set(rows.map((r) => r.dataset)).size > 1
}

export interface TableOptions {
  comparePaper?: boolean
  /** Folder that run folders are written relative to in table-extended.csv when inside it (default: absolute paths). */
  base?: string
}

function header(rows: TableRow[], options: TableOptions): string[] {
  return [...(spansDatasets(rows) ? ['Dataset'] : []), ...TABLE_COLUMNS, ...(options.comparePaper ? PAPER_COLUMNS : [])]
}

function paperCells(row: TableRow): string[] {
  if (!row.paper) return ['', '', '']
  return [String(row.paper.accuracy), row.paper.minutes === null ? '' : String(row.paper.minutes), `Figure ${row.paper.figure}`]
}

function cells(row: TableRow, rows: TableRow[], options: TableOptions, markdown: boolean): string[] {
  let accuracy = formatAccuracy(row.best_test_accuracy)
  if (markdown && row.note) accuracy = `${accuracy || '—'} (${row.note})`
  return [
    ...(spansDatasets(rows) ? [datasetDisplayName(row.dataset)] : []),
    row.model,
    accuracy,
    formatMinutes(row.train_minutes),
    formatParams(row.params),
    ...(options.comparePaper ? paperCells(row) : []),
  ]
}

/** `table.csv`: the paper's columns, bare numbers. */
export function renderCsv(rows: TableRow[], options: TableOptions = {}): string {
  return stringify([header(rows, options), ...rows.map((r) => cells(r, rows, options, false))])
}

function escapeMarkdown(cell: string): string {
  return cell.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

/** `table.md`: a padded GitHub table; incomplete runs marked after their accuracy. */
export function renderMarkdown(rows: TableRow[], options: TableOptions = {}): string {
  const head = header(rows, options)
  const body = rows.map((r) => cells(r, rows, options, true).map(escapeMarkdown))
  const textColumns = new Set(['Dataset', 'Model', 'Paper Figure'])
  const widths = head.map((h, i) => Math.max(h.length, 3, ...body.map((line) => line[i].length)))
  const line = (values: string[]): string =>
    `| ${values.map((v, i) => (textColumns.has(head[i]) ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(' | ')} |`
  const rule = `|${head.map((h, i) => (textColumns.has(h) ? ` ${'-'.repeat(widths[i])} ` : ` ${'-'.repeat(widths[i] - 1)}: `)).join('|')}|`
  const lines = [line(head), rule, ...body.map(line)]
  const averaging = accuracyNote(rows)
  if (averaging) lines.push('', averaging)
  const figures = new Map<number, string>()
  for (const row of rows) if (row.paper) figures.set(row.paper.figure, row.paper.title)
  if (options.comparePaper && figures.size > 0) {
    const sources = [...figures].map(([figure, title]) => `Figure ${figure} (${title})`).join(', ')
    lines.push('', `Paper columns are the values published in the paper, ${sources}; they were not measured here.`)
  }
  return lines.join('\n') + '\n'
}

const AVERAGING: Record<string, string> = {per_example: 'correct / examples', batch_mean: "the mean of per-batch accuracies (the paper's definition)"}

/** Which accuracy the rows report, where their runs say (summary.json `accuracy`). */
function accuracyNote(rows: TableRow[]): string | undefined {
  const byDefinition = new Map<string, string[]>()
  for (const r of rows) if (r.accuracy) byDefinition.set(r.accuracy, [...(byDefinition.get(r.accuracy) ?? []), r.model])
  if (byDefinition.size === 0) return undefined
  const words = (d: string) => AVERAGING[d] ?? d
  if (byDefinition.size === 1 && [...byDefinition.values()][0].length === rows.length) return `Accuracy is ${words([...byDefinition.keys()][0])}.`
  return `Accuracy: ${[...byDefinition].map(([d, models]) => `${words(d)} for ${models.join(', ')}`).join('; ')}.`
}

export const EXTENDED_COLUMNS = [
  'model',
  'dataset',
  'status',
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
] as const

const PAPER_EXTENDED_COLUMNS = ['paper_figure', 'paper_accuracy', 'paper_minutes', 'paper_params'] as const

function raw(value: string | number | boolean | null | undefined): string {
  return value === null || value === undefined ? '' : String(value)
}

/** A run folder inside `base` relative to it; anything else absolute. */
function runDir(dir: string | null, base: string | undefined): string {
  if (dir === null) return ''
  if (base === undefined) return dir
  const rel = relative(base, dir)
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? dir : rel
}

/** `table-extended.csv`: every row with its status and provenance, unrounded; run folders relative to `base`. */
export function renderExtendedCsv(rows: TableRow[], options: TableOptions = {}): string {
  const head: string[] = [...EXTENDED_COLUMNS, ...(options.comparePaper ? PAPER_EXTENDED_COLUMNS : [])]
  const body = rows.map((row) => [
    ...EXTENDED_COLUMNS.map((c) => (c === 'run_dir' ? runDir(row.run_dir, options.base) : raw(row[c]))),
    ...(options.comparePaper
      ? [raw(row.paper?.figure), raw(row.paper?.accuracy), raw(row.paper?.minutes), raw(row.paper?.params)]
      : []),
  ])
  return stringify([head, ...body])
}
