/**
 * Confusion matrices that evaluation leaves in a run folder, `<run>/eval/<name>/confusion.csv`
 * (`<name>` is `<split>-<checkpoint>`, e.g. `test-best`), and the heatmap the report draws of each.
 *
 * Layout (docs/report.md): a square CSV table, RFC 4180 quoting. The header's first cell names the
 * axes (`true\predicted`), the other cells are the class names in class-index order; then one line
 * per true class, in the same order: its name, then the number of its examples predicted as each
 * class. Rows are true classes, columns predictions; the diagonal counts the correct predictions.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {parse} from 'csv-parse/sync'
import {stringify} from 'csv-stringify/sync'
import type {TopLevelSpec} from 'vega-lite'

import {displayPath} from '../fs/display-path.js'
import {parseLeftover, readableFolder} from '../fs/folder-leftovers.js'

export interface ConfusionMatrix {
  /** The evaluation's folder name under `eval/`, e.g. `test-best`. */
  name: string
  file: string
  classes: string[]
  /** counts[true][predicted] */
  counts: number[][]
  /** The checkpoint evaluated and the epoch it was written after, from metrics.json beside the matrix (where it can be read). */
  checkpoint?: string
  epoch?: number
}

/** The checkpoint and epoch that `mixture eval` recorded in metrics.json beside a matrix; none where the file is missing or unreadable. */
function evaluatedCheckpoint(dir: string): {checkpoint?: string; epoch?: number} {
  try {
    const {checkpoint, epoch} = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as {checkpoint?: unknown; epoch?: unknown}
    return {...(typeof checkpoint === 'string' ? {checkpoint} : {}), ...(typeof epoch === 'number' ? {epoch} : {})}
  } catch {
    return {}
  }
}

/** Parse confusion.csv text (see the module comment); throws saying what is wrong. */
export function parseConfusionCsv(text: string): {classes: string[]; counts: number[][]} {
  const records = parse(text, {skip_empty_lines: true, trim: true}) as string[][]
  if (records.length < 2) throw new Error('it needs a header line and one line per class')
  const classes = records[0].slice(1)
  if (records.length - 1 !== classes.length) {
    throw new Error(`the header names ${classes.length} classes but there are ${records.length - 1} class lines; the matrix must be square`)
  }
  const counts = records.slice(1).map((cells, i) => {
    if (cells[0] !== classes[i]) throw new Error(`line ${i + 2} is for "${cells[0]}" where the header's class ${i} is "${classes[i]}"`)
    if (cells.length !== classes.length + 1) throw new Error(`line ${i + 2} has ${cells.length - 1} counts for ${classes.length} classes`)
    return cells.slice(1).map((cell, j) => {
      const value = Number(cell)
      if (cell === '' || !Number.isInteger(value) || value < 0) throw new Error(`line ${i + 2}, column ${j + 2}: "${cell}" is not a count (a non-negative integer)`)
      return value
    })
  })
  return {classes, counts}
}

/** confusion.csv text for `counts[true][predicted]` over `classes` (the layout parseConfusionCsv reads). */
export function renderConfusionCsv(classes: string[], counts: number[][]): string {
  return stringify([['true\\predicted', ...classes], ...counts.map((row, i) => [classes[i], ...row.map(String)])])
}

/** Every `<run>/eval/*\/confusion.csv`, by folder name; a file that cannot be read is a warning, not a failure. */
export function readConfusionMatrices(runDir: string, warn: (message: string) => void): ConfusionMatrix[] {
  const evalDir = join(runDir, 'eval')
  if (!existsSync(evalDir)) return []
  const out: ConfusionMatrix[] = []
  // An evaluation's folder (`test-best`), also where a killed eval left it set aside (`.test-best.old-…`); not a temporary one being written.
  const entries = readdirSync(evalDir, {withFileTypes: true}).filter((e) => e.isDirectory())
  const nameOf = (entry: string): string[] => {
    if (!entry.startsWith('.')) return [entry]
    const leftover = parseLeftover(evalDir, entry)
    return leftover?.kind === 'old' ? [basename(leftover.target)] : []
  }
  const names = [...new Set(entries.flatMap((e) => nameOf(e.name)))].sort()
  for (const name of names) {
    const folder = readableFolder(join(evalDir, name))
    const file = folder && join(folder, 'confusion.csv')
    if (!file || !existsSync(file)) continue
    try {
      out.push({name, file, ...parseConfusionCsv(readFileSync(file, 'utf8')), ...evaluatedCheckpoint(folder)})
    } catch (error) {
      warn(`${displayPath(file)} is left out of the report: ${(error as Error).message}.`)
    }
  }
  return out
}

/** Correct predictions / examples. */
export function matrixAccuracy(counts: number[][]): {accuracy: number | null; examples: number} {
  const examples = counts.flat().reduce((a, b) => a + b, 0)
  const correct = counts.reduce((a, row, i) => a + (row[i] ?? 0), 0)
  return {accuracy: examples > 0 ? correct / examples : null, examples}
}

/**
 * A heatmap: rows true classes, columns predictions, colour the share of the true class's examples
 * (so that rare classes read as clearly as common ones), counts written in the cells up to 12 classes.
 */
export function confusionSpec(matrix: ConfusionMatrix): TopLevelSpec {
  const k = matrix.classes.length
  const cell = k <= 12 ? 36 : Math.max(6, Math.floor(600 / k))
  const values = matrix.counts.flatMap((row, i) => {
    const total = row.reduce((a, b) => a + b, 0)
    return row.map((count, j) => ({true: matrix.classes[i], predicted: matrix.classes[j], count, share: total > 0 ? count / total : 0}))
  })
  const axis = {labelLimit: 140, domain: false, ticks: false}
  const order = matrix.classes
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {text: `Confusion matrix: ${matrix.name}`, subtitle: 'rows: true class; columns: predicted class; colour: share of the true class', fontSize: 14, subtitleFontSize: 11},
    width: cell * k,
    height: cell * k,
    background: 'white',
    padding: 10,
    data: {values},
    encoding: {
      x: {field: 'predicted', type: 'ordinal', sort: order, title: 'Predicted class', axis: {...axis, labelAngle: -45}},
      y: {field: 'true', type: 'ordinal', sort: order, title: 'True class', axis},
    },
    layer: [
      {
        mark: {type: 'rect'},
        encoding: {
          color: {field: 'share', type: 'quantitative', title: 'Share', scale: {scheme: 'blues', domain: [0, 1]}},
          tooltip: [
            {field: 'true', title: 'True'},
            {field: 'predicted', title: 'Predicted'},
            {field: 'count', title: 'Examples'},
            {field: 'share', title: 'Share of the true class', format: '.2%'},
          ],
        },
      },
      ...(k <= 12
        ? [
            {
              mark: {type: 'text' as const, fontSize: 10},
              encoding: {
                text: {field: 'count', type: 'quantitative' as const},
                color: {condition: {test: 'datum.share > 0.5', value: 'white'}, value: 'black'},
              },
            },
          ]
        : []),
    ],
    config: {font: 'DejaVu Sans, Helvetica, Arial, sans-serif'},
  }
}
