/**
 * `mixture table`: read run and sweep folders, write the paper-shaped tables and accuracy curves.
 *
 * Files (each written to a temporary name, then renamed into place):
 * - table.csv, table-extended.csv (format csv or both), table.md (md or both);
 * - curves.csv, curves.svg, curves.png (unless plotting is turned off; PNG only when rasterising works).
 */
import {mkdirSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'

import {collectRuns, displayPath} from './collect.js'
import {renderCurvesCsv, toSeries} from './curves.js'
import {datasetDisplayName, findPaperRow} from './paper.js'
import {renderCurvesSvg, renderPng} from './plot.js'
import {selectRuns} from './select.js'
import {renderCsv, renderExtendedCsv, renderMarkdown, TableRow, toTableRows} from './table.js'
import {ReportError, RunRecord} from './types.js'

export {ReportError} from './types.js'
export type {RunRecord} from './types.js'
export type {TableRow} from './table.js'

export const TABLE_FORMATS = ['csv', 'md', 'both'] as const
export type TableFormat = (typeof TABLE_FORMATS)[number]

export interface MakeTableOptions {
  /** Run folders, sweep folders or folders above them. */
  paths: string[]
  /** Output folder; default: the first input folder. */
  out?: string
  format?: TableFormat
  /** Add the paper's published accuracy and minutes for matching models. */
  comparePaper?: boolean
  /** Keep every run instead of the latest completed run per model. */
  all?: boolean
  /** Plot title; default: the paper's figure title for these models, else the dataset name. */
  title?: string
  /** Write curves.svg / curves.png (default true). */
  plot?: boolean
  /** Called with each warning as it arises (the command prints them on stderr). */
  warn?: (message: string) => void
}

/** Absolute paths of the files written. */
export interface TableFiles {
  table_csv?: string
  table_extended_csv?: string
  table_md?: string
  curves_csv?: string
  curves_svg?: string
  curves_png?: string
}

export interface TableResult {
  rows: TableRow[]
  files: TableFiles
  warnings: string[]
  /** The Markdown table (what the command prints). */
  markdown: string
  /** Title used for the curves. */
  title: string
}

/** Write through a temporary file and a rename, so readers never see a half-written file. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const temporary = `${file}.${process.pid}.tmp`
  try {
    writeFileSync(temporary, data)
    renameSync(temporary, file)
  } catch (error) {
    rmSync(temporary, {force: true})
    throw error
  }
}

/** Figure title for the curves: the paper's when every matched row comes from one of its tables. */
export function curvesTitle(runs: RunRecord[]): string {
  const datasets = new Set(runs.map((r) => r.dataset))
  if (datasets.size !== 1) return 'Validation Accuracy'
  const [dataset] = datasets
  const figures = new Set<string>()
  for (const run of runs) {
    const match = findPaperRow(run.dataset, run.label, run.imageSize)
    if (match) figures.add(match.table.curves.title)
  }
  if (figures.size === 1) return [...figures][0]
  return dataset ? datasetDisplayName(dataset) : 'Validation Accuracy'
}

export async function makeTable(options: MakeTableOptions): Promise<TableResult> {
  const warnings: string[] = []
  const warn = (message: string): void => {
    warnings.push(message)
    options.warn?.(message)
  }
  if (options.paths.length === 0) throw new ReportError('No input given. Pass one or more run or sweep folders, e.g. `mixture table results/cifar10-table`.')
  const format = options.format ?? 'both'
  if (!(TABLE_FORMATS as readonly string[]).includes(format)) {
    throw new ReportError(`Unknown format "${format}". Use one of: ${TABLE_FORMATS.join(', ')}.`)
  }

  const collected = collectRuns(options.paths)
  for (const message of collected.warnings) warn(message)
  if (!collected.runs.some((r) => r.dir !== undefined)) {
    throw new ReportError(
      `No summary.json found under ${options.paths.join(', ')}. Pass run folders (each holds a summary.json, ` +
        'written by `mixture run`) or sweep folders or folders above them, e.g. `mixture table results/cifar10-alternating-1block`.',
    )
  }
  const selected = selectRuns(collected.runs, options.all ?? false)
  for (const message of selected.warnings) warn(message)
  const runs = selected.runs
  const rows = toTableRows(runs, options.comparePaper ?? false)
  if (new Set(rows.map((r) => r.dataset)).size > 1) {
    warn(`The rows come from several datasets (${[...new Set(rows.map((r) => r.dataset || '?'))].join(', ')}); the tables get a Dataset column.`)
  }
  if (options.comparePaper && !rows.some((r) => r.paper)) {
    warn('No row matches a model the paper published for its dataset; the Paper columns are empty.')
  }

  const first = resolve(options.paths[0])
  const outDir = resolve(options.out ?? (statSync(first).isDirectory() ? first : dirname(first)))
  mkdirSync(outDir, {recursive: true})
  const files: TableFiles = {}
  const tableOptions = {comparePaper: options.comparePaper ?? false}
  const markdown = renderMarkdown(rows, tableOptions)
  if (format === 'csv' || format === 'both') {
    files.table_csv = join(outDir, 'table.csv')
    writeFileAtomic(files.table_csv, renderCsv(rows, tableOptions))
    files.table_extended_csv = join(outDir, 'table-extended.csv')
    writeFileAtomic(files.table_extended_csv, renderExtendedCsv(rows, {...tableOptions, base: outDir}))
  }
  if (format === 'md' || format === 'both') {
    files.table_md = join(outDir, 'table.md')
    writeFileAtomic(files.table_md, markdown)
  }

  const title = options.title ?? curvesTitle(runs)
  const series = toSeries(runs)
  if (series.length === 0) {
    warn('No run has per-epoch metrics (metrics.csv); curves.csv and the plots were not written.')
  } else {
    files.curves_csv = join(outDir, 'curves.csv')
    writeFileAtomic(files.curves_csv, renderCurvesCsv(series))
    if (options.plot ?? true) {
      let svg: string | undefined
      try {
        svg = await renderCurvesSvg(series, title)
        files.curves_svg = join(outDir, 'curves.svg')
        writeFileAtomic(files.curves_svg, svg)
      } catch (error) {
        warn(`The curves could not be drawn (${(error as Error).message}); curves.csv has the data.`)
      }
      if (svg !== undefined) {
        try {
          const png = await renderPng(svg)
          files.curves_png = join(outDir, 'curves.png')
          writeFileAtomic(files.curves_png, png)
        } catch (error) {
          warn(`curves.png could not be rendered (${(error as Error).message}); ${displayPath(files.curves_svg!)} has the plot.`)
        }
      }
    }
  }
  return {rows, files, warnings, markdown, title}
}
