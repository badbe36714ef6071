/**
 * `mixture table`: read run and sweep folders, write the paper-shaped tables and the per-epoch curves.
 *
 * Files (each written to a temporary name, then renamed into place):
 * - table.csv, table-extended.csv (format csv or both), table.md (md or both; titled by the sweep's
 *   title, title.ts);
 * - curves.csv (long form: every run's loss and accuracy per epoch and split);
 * - per figure (accuracy: `curves`, loss: `curves-loss`) its Vega-Lite spec with the data
 *   (`.vl.json`), `.svg` and `.png` (unless plotting is turned off; PNG only when rasterising works).
 */
import {existsSync, mkdirSync, rmSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import type {TopLevelSpec} from 'vega-lite'

import {displayPath} from '../fs/display-path.js'
import {renderCurvesCsv} from './curves.js'
import {collectGroups, type RunGroup} from './group.js'
import {curvesTitle, Figure, figures, renderPng, renderSvg} from './plot.js'
import {tableCaption} from './selection.js'
import {renderCsv, renderExtendedCsv, renderMarkdown, TableRow, toTableRows} from './table.js'
import {tableTitle} from './title.js'
import {ReportError} from './types.js'
import {writeFileAtomic} from '../fs/write-atomic.js'

export {ReportError} from './types.js'
export {collectGroups} from './group.js'
export {curvesTitle} from './plot.js'
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
  /** One row per run instead of one per model (mean ± std over seeds). */
  perSeed?: boolean
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
  curves_vl_json?: string
  curves_svg?: string
  curves_png?: string
  curves_loss_vl_json?: string
  curves_loss_svg?: string
  curves_loss_png?: string
}

export interface TableResult {
  rows: TableRow[]
  files: TableFiles
  warnings: string[]
  /** The Markdown table (what the command prints), caption included. */
  markdown: string
  /** How Top-1 was chosen, what accuracy means, how seeds were aggregated. */
  caption: string
  /** Title used for the curves. */
  title: string
}

/** Write one figure as `<file>.vl.json`, `.svg` and `.png`, recording the paths in `files`; drawing failures are warnings. */
async function writeFigure(file: Figure['file'], spec: TopLevelSpec, outDir: string, files: TableFiles, warn: (message: string) => void): Promise<void> {
  const key = file.replace('-', '_') as 'curves' | 'curves_loss'
  const specFile = join(outDir, `${file}.vl.json`)
  writeFileAtomic(specFile, `${JSON.stringify(spec, null, 2)}\n`)
  files[`${key}_vl_json`] = specFile
  let svg: string
  try {
    svg = await renderSvg(spec)
  } catch (error) {
    warn(`${file}.svg could not be drawn (${(error as Error).message}); ${file}.vl.json and curves.csv have the data.`)
    return
  }
  files[`${key}_svg`] = join(outDir, `${file}.svg`)
  writeFileAtomic(files[`${key}_svg`]!, svg)
  const pngFile = join(outDir, `${file}.png`)
  let png: Uint8Array
  try {
    png = await renderPng(svg)
  } catch (error) {
    // An earlier table's PNG would otherwise stand beside this table's SVG.
    rmSync(pngFile, {force: true})
    warn(`${file}.png could not be rendered (${(error as Error).message}); ${displayPath(files[`${key}_svg`]!)} has the plot.`)
    return
  }
  // A PNG that cannot be written (a full disk) fails the command like every other file of the table.
  writeFileAtomic(pngFile, png)
  files[`${key}_png`] = pngFile
}

/** The table of run and sweep folders without writing anything: its groups, rows, Markdown (caption included) and caption. */
export function tabulate(options: Pick<MakeTableOptions, 'paths' | 'comparePaper' | 'perSeed'>, warn: (message: string) => void): {groups: RunGroup[]; rows: TableRow[]; markdown: string; caption: string} {
  const groups = collectGroups(options.paths, options.perSeed ?? false, warn)
  const rows = toTableRows(groups, options.comparePaper ?? false)
  if (new Set(rows.map((r) => r.dataset)).size > 1) {
    warn(`The rows come from several datasets (${[...new Set(rows.map((r) => r.dataset || '?'))].join(', ')}); the tables get a Dataset column.`)
  }
  if (options.comparePaper && !rows.some((r) => r.paper)) {
    warn('No row matches a model the paper published for its dataset; the Paper columns are empty.')
  }
  const markdown = renderMarkdown(rows, {comparePaper: options.comparePaper ?? false, perSeed: options.perSeed ?? false, title: tableTitle(options.paths, groups)})
  return {groups, rows, markdown, caption: tableCaption(rows)}
}

export async function makeTable(options: MakeTableOptions): Promise<TableResult> {
  const warnings: string[] = []
  const warn = (message: string): void => {
    warnings.push(message)
    options.warn?.(message)
  }
  const format = options.format ?? 'both'
  if (!(TABLE_FORMATS as readonly string[]).includes(format)) {
    throw new ReportError(`Unknown format "${format}". Use one of: ${TABLE_FORMATS.join(', ')}.`)
  }
  const perSeed = options.perSeed ?? false
  const {groups, rows, markdown, caption} = tabulate(options, warn)

  const first = resolve(options.paths[0])
  const outDir = resolve(options.out ?? (statSync(first).isDirectory() ? first : dirname(first)))
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new ReportError(`--out ${options.out} is a file; the table's files go into a folder: give a folder's name`)
  mkdirSync(outDir, {recursive: true})
  const files: TableFiles = {}
  const tableOptions = {comparePaper: options.comparePaper ?? false, perSeed}
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

  // The curves are titled as table.md is (a sweep's title), so that a sweep's own table job and a later `mixture table` agree.
  const title = options.title ?? tableTitle(options.paths, groups) ?? curvesTitle(groups)
  if (!groups.some((g) => g.runs.some((r) => r.history.length > 0))) {
    warn('No run has per-epoch metrics (metrics.csv); curves.csv and the plots were not written.')
  } else {
    files.curves_csv = join(outDir, 'curves.csv')
    writeFileAtomic(files.curves_csv, renderCurvesCsv(groups, outDir))
    if (options.plot ?? true) {
      for (const figure of figures(groups, title)) await writeFigure(figure.file, figure.spec, outDir, files, warn)
    }
  }
  return {rows, files, warnings, markdown, caption, title}
}
