/**
 * The folder an evaluation leaves in its run, `<run>/eval/<split>-<checkpoint>/`, written as one
 * (output-folder.ts):
 *
 *   metrics.json        everything `mixture eval --json` prints (loss, accuracies, per class, confusion)
 *   confusion.csv       the matrix in the layout docs/report.md defines (the HTML report draws it)
 *   per-class.csv       class, index, examples, correct, accuracy
 *   confusion.svg/.png  the heatmap, with its Vega-Lite spec in confusion.vl.json
 */
import {basename, join} from 'node:path'
import {stringify} from 'csv-stringify/sync'
import {confusionSpec, renderConfusionCsv} from '../report/confusion.js'
import {renderPng, renderSvg} from '../report/plot.js'
import {writeFolderAtomic} from '../run/output-folder.js'
import type {EvalResult} from './types.js'

/** Write the evaluation's folder; returns the paths written. A PNG that cannot be rendered is left out with a note. */
export async function writeEvalFolder(result: EvalResult, log: (message: string) => void): Promise<string[]> {
  const name = basename(result.out_dir)
  const spec = confusionSpec({name, file: join(result.out_dir, 'confusion.csv'), classes: result.classes, counts: result.confusion})
  const svg = await renderSvg(spec)
  const files: Record<string, string | Uint8Array> = {
    'metrics.json': `${JSON.stringify({...result, files: undefined}, null, 2)}\n`,
    'confusion.csv': renderConfusionCsv(result.classes, result.confusion),
    'per-class.csv': stringify([['class', 'index', 'examples', 'correct', 'accuracy'], ...result.per_class.map((c) => [c.class, c.index, c.examples, c.correct, c.accuracy ?? ''])]),
    'confusion.vl.json': `${JSON.stringify(spec, null, 2)}\n`,
    'confusion.svg': svg,
  }
  try {
    files['confusion.png'] = await renderPng(svg)
  } catch (error) {
    log(`note: confusion.png could not be rendered (${(error as Error).message}); confusion.svg has the heatmap`)
  }
  writeFolderAtomic(result.out_dir, files)
  return Object.keys(files).map((f) => join(result.out_dir, f))
}
