/**
 * The folder an evaluation leaves in its run, `<run>/eval/<split>-<checkpoint>/`, written as one
 * (write-folder-atomic.ts):
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
import {FileWriteError} from '../fs/write-error.js'
import {writeFolderAtomic} from '../fs/write-folder-atomic.js'
import type {EvalResult} from './types.js'

/**
 * Write the evaluation's folder; returns the paths written. A PNG that cannot be rendered is left out
 * with a note. A folder that cannot be written (a read-only run folder, a full disk) is a
 * FileWriteError saying so and how to evaluate all the same: eval writes into the run folder only.
 */
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
  try {
    writeFolderAtomic(result.out_dir, files, {log})
  } catch (error) {
    if (error instanceof FileWriteError) {
      throw error.explained(
        `${error.message}; the evaluation was not saved (any earlier one in ${result.out_dir} is as it was). eval writes only into the run folder: once it can be written, run mixture eval again, or copy the run folder somewhere writable and evaluate the copy (cp -r ${result.run_dir} <folder>/ && mixture eval <folder>/${basename(result.run_dir)})`,
      )
    }
    throw error
  }
  return Object.keys(files).map((f) => join(result.out_dir, f))
}
