/**
 * Confusion matrices that evaluation leaves in a run folder, `<run>/eval/<name>/confusion.csv`
 * (`<name>` is `<split>-<checkpoint>`, e.g. `test-best`, or `<split>-<checkpoint>-on-<folder>` for
 * the images of another folder, `mixture eval --data-dir`), and the heatmap the report draws of each.
 *
 * Layout (docs/report.md): a square CSV table, RFC 4180 quoting. The header's first cell names the
 * axes (`true\predicted`), the other cells are the class names in class-index order; then one line
 * per true class, in the same order: its name, then the number of its examples predicted as each
 * class. Rows are true classes, columns predictions; the diagonal counts the correct predictions.
 *
 * Past DENSE_MAX_CLASSES classes the evaluation writes `confusion-pairs.csv` instead: long form, the
 * header `true,predicted,count`, then one line per nonzero cell (class names), ordered by true class
 * then predicted class in class-index order. Past HEATMAP_MAX_CLASSES classes (or for a pairs file)
 * there is no heatmap: `confusionSummary` gives the classes of lowest accuracy and the most frequent
 * confusions, a few lines whatever the number of classes.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {parse} from 'csv-parse/sync'
import {stringify} from 'csv-stringify/sync'
import type {TopLevelSpec} from 'vega-lite'

import {displayPath} from '../fs/display-path.js'
import {parseLeftover, readableFolder} from '../fs/folder-leftovers.js'

/**
 * Up to this many classes an evaluation draws the confusion heatmap (confusion.svg/.png/.vl.json, and
 * the report's chart): CIFAR-100's 100 classes are 10,000 cells, a 2.6 MB SVG whose class names can
 * still be read; past it the cells are a few pixels wide, the files grow with classes² (700 classes:
 * a 126 MB SVG) and Vega's expression parser overflows the stack (about 1,000).
 */
export const HEATMAP_MAX_CLASSES = 100

/** One nonzero cell of a confusion matrix: [true class index, predicted class index, examples]. */
export type ConfusionPair = [number, number, number]

/** The file names an evaluation writes its counts to: the square matrix, or its nonzero cells past DENSE_MAX_CLASSES classes. */
export const CONFUSION_FILE = 'confusion.csv'
export const CONFUSION_PAIRS_FILE = 'confusion-pairs.csv'

/** One nonzero cell by class names, as confusion-pairs.csv holds it. */
export interface NamedPair {
  true: string
  predicted: string
  count: number
}

export interface ConfusionMatrix {
  /** The evaluation's folder name under `eval/`, e.g. `test-best`. */
  name: string
  file: string
  /** The classes in index order (for a pairs file: per-class.csv's beside it, else the names the pairs hold). */
  classes: string[]
  /** counts[true][predicted]; empty where the file is confusion-pairs.csv (then `pairs`). */
  counts: number[][]
  /** The nonzero cells, where the file is confusion-pairs.csv. */
  pairs?: NamedPair[]
  /** The checkpoint evaluated and the epoch it was written after, from metrics.json beside the matrix (where it can be read). */
  checkpoint?: string
  epoch?: number
  /** The folder the images were read from where `mixture eval --data-dir` gave it (metrics.json's data_dir): another folder's images than the run's own, where the folder's name says `-on-<folder>`. */
  dataDir?: string
}

/** The checkpoint, epoch and data folder (--data-dir) that `mixture eval` recorded in metrics.json beside a matrix; none where the file is missing or unreadable. */
function evaluatedCheckpoint(dir: string): {checkpoint?: string; epoch?: number; dataDir?: string} {
  try {
    const {checkpoint, epoch, data_dir: dataDir} = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as {checkpoint?: unknown; epoch?: unknown; data_dir?: unknown}
    return {...(typeof checkpoint === 'string' ? {checkpoint} : {}), ...(typeof epoch === 'number' ? {epoch} : {}), ...(typeof dataDir === 'string' ? {dataDir} : {})}
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

/** confusion-pairs.csv text: the nonzero cells `pairs` ([true, predicted, count] by index, in order) by class name. */
export function renderConfusionPairsCsv(classes: string[], pairs: ConfusionPair[]): string {
  return stringify([['true', 'predicted', 'count'], ...pairs.map(([t, p, count]) => [classes[t], classes[p], String(count)])])
}

/** Parse confusion-pairs.csv text (see the module comment); throws saying what is wrong. */
export function parseConfusionPairsCsv(text: string): NamedPair[] {
  const records = parse(text, {skip_empty_lines: true, trim: true, relax_column_count: true}) as string[][]
  if (records.length < 1 || records[0].join(',') !== 'true,predicted,count') throw new Error('its header must be true,predicted,count')
  return records.slice(1).map((cells, i) => {
    if (cells.length !== 3) throw new Error(`line ${i + 2} has ${cells.length} cells where there are 3 (true, predicted, count)`)
    const count = Number(cells[2])
    if (cells[2] === '' || !Number.isInteger(count) || count < 0) throw new Error(`line ${i + 2}: "${cells[2]}" is not a count (a non-negative integer)`)
    return {true: cells[0], predicted: cells[1], count}
  })
}

/** The class names of per-class.csv in `dir` (its `class` column, in index order); undefined where it is missing or unreadable. */
function perClassNames(dir: string): string[] | undefined {
  try {
    const records = parse(readFileSync(join(dir, 'per-class.csv'), 'utf8'), {skip_empty_lines: true, columns: true}) as {class?: string}[]
    return records.every((r) => typeof r.class === 'string') ? records.map((r) => r.class!) : undefined
  } catch {
    return undefined
  }
}

/** The counts of a pairs file with the classes beside it (per-class.csv), else the names the pairs hold in order of appearance. */
function readPairs(folder: string, file: string): {classes: string[]; counts: number[][]; pairs: NamedPair[]} {
  const pairs = parseConfusionPairsCsv(readFileSync(file, 'utf8'))
  const classes = perClassNames(folder) ?? [...new Set(pairs.flatMap((p) => [p.true, p.predicted]))]
  return {classes, counts: [], pairs}
}

/** Every `<run>/eval/*\/confusion.csv` (or confusion-pairs.csv), by folder name; a file that cannot be read is a warning, not a failure. */
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
    if (!folder) continue
    const dense = join(folder, CONFUSION_FILE)
    const file = existsSync(dense) ? dense : join(folder, CONFUSION_PAIRS_FILE)
    if (!existsSync(file)) continue
    try {
      const counts = file === dense ? parseConfusionCsv(readFileSync(file, 'utf8')) : readPairs(folder, file)
      out.push({name, file, ...counts, ...evaluatedCheckpoint(folder)})
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

/** Whether the report draws the matrix as a heatmap: a square matrix of at most HEATMAP_MAX_CLASSES classes. */
export function showsHeatmap(matrix: ConfusionMatrix): boolean {
  return matrix.pairs === undefined && matrix.classes.length <= HEATMAP_MAX_CLASSES
}

/** What the report shows of a matrix too large for a heatmap: a few classes and cells, whatever the number of classes. */
export interface ConfusionSummary {
  classes: number
  accuracy: number | null
  examples: number
  /** The classes of lowest accuracy (of those with examples): lowest first, then more examples first, then class order. */
  worst: {class: string; examples: number; correct: number; accuracy: number}[]
  /** The largest off-diagonal cells: most examples first, then class order; share: of the true class's examples. */
  confusions: {true: string; predicted: string; count: number; share: number}[]
}

/** The summary of a matrix (square or pairs), `top` lines of each list. */
export function confusionSummary(matrix: ConfusionMatrix, top = 10): ConfusionSummary {
  const pairs: NamedPair[] =
    matrix.pairs ?? matrix.counts.flatMap((row, i) => row.flatMap((count, j) => (count > 0 ? [{true: matrix.classes[i], predicted: matrix.classes[j], count}] : [])))
  const rows = new Map<string, {examples: number; correct: number}>()
  for (const p of pairs) {
    const row = rows.get(p.true) ?? {examples: 0, correct: 0}
    row.examples += p.count
    if (p.true === p.predicted) row.correct += p.count
    rows.set(p.true, row)
  }
  let examples = 0
  let correct = 0
  for (const row of rows.values()) {
    examples += row.examples
    correct += row.correct
  }
  const order = new Map(matrix.classes.map((c, i) => [c, i]))
  const index = (name: string) => order.get(name) ?? Infinity
  const worst = [...rows]
    .map(([name, row]) => ({class: name, ...row, accuracy: row.correct / row.examples}))
    .sort((a, b) => a.accuracy - b.accuracy || b.examples - a.examples || index(a.class) - index(b.class))
    .slice(0, top)
  const confusions = pairs
    .filter((p) => p.true !== p.predicted)
    .sort((a, b) => b.count - a.count || index(a.true) - index(b.true) || index(a.predicted) - index(b.predicted))
    .slice(0, top)
    .map((p) => ({...p, share: p.count / rows.get(p.true)!.examples}))
  return {classes: matrix.classes.length, accuracy: examples > 0 ? correct / examples : null, examples, worst, confusions}
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
