/**
 * The folder an evaluation leaves in its run, `<run>/eval/<split>-<checkpoint>/`, written as one
 * (write-folder-atomic.ts):
 *
 *   metrics.json        everything `mixture eval --json` prints (loss, accuracies, per class, confusion)
 *   confusion.csv       the matrix in the layout docs/report.md defines (the HTML report draws it), up
 *                       to DENSE_MAX_CLASSES classes; past that confusion-pairs.csv, its nonzero cells
 *                       (true,predicted,count)
 *   per-class.csv       class, index, examples, correct, accuracy
 *   confusion.svg/.png  the heatmap, with its Vega-Lite spec in confusion.vl.json, up to HEATMAP_MAX_CLASSES classes
 */
import {basename, join} from 'node:path'
import {stringify} from 'csv-stringify/sync'
import {CONFUSION_FILE, CONFUSION_PAIRS_FILE, confusionSpec, HEATMAP_MAX_CLASSES, renderConfusionCsv, renderConfusionPairsCsv} from '../report/confusion.js'
import {renderPng, renderSvg} from '../report/plot.js'
import {FileWriteError} from '../fs/write-error.js'
import {writeFolderAtomic} from '../fs/write-folder-atomic.js'
import {DENSE_MAX_CLASSES, type EvalResult} from './types.js'

/** The file that holds the evaluation's counts: confusion.csv, or confusion-pairs.csv past DENSE_MAX_CLASSES classes. */
export function confusionFile(result: EvalResult): string {
  return result.classes.length > DENSE_MAX_CLASSES ? CONFUSION_PAIRS_FILE : CONFUSION_FILE
}

/** Why an evaluation has no heatmap and where its counts are, in one line; undefined where it has one. */
export function heatmapNote(result: EvalResult): string | undefined {
  if (result.classes.length <= HEATMAP_MAX_CLASSES) return undefined
  return `no heatmap: ${result.classes.length} classes are more than the ${HEATMAP_MAX_CLASSES} one shows legibly; the counts are in ${join(result.out_dir, confusionFile(result))}${
    result.classes.length > DENSE_MAX_CLASSES ? ' (its nonzero cells: true,predicted,count)' : ''
  }`
}

/**
 * Write the evaluation's folder; returns the paths written. A PNG that cannot be rendered is left out
 * with a note. A folder that cannot be written (a read-only run folder, a full disk) is a
 * FileWriteError saying so and how to evaluate all the same: eval writes into the run folder only.
 */
export async function writeEvalFolder(result: EvalResult, log: (message: string) => void): Promise<string[]> {
  const files: Record<string, string | Uint8Array> = {
    'metrics.json': `${JSON.stringify({...result, files: undefined}, null, 2)}\n`,
    [confusionFile(result)]: result.confusion_pairs ? renderConfusionPairsCsv(result.classes, result.confusion_pairs) : renderConfusionCsv(result.classes, result.confusion),
    'per-class.csv': stringify([['class', 'index', 'examples', 'correct', 'accuracy'], ...result.per_class.map((c) => [c.class, c.index, c.examples, c.correct, c.accuracy ?? ''])]),
  }
  if (result.classes.length <= HEATMAP_MAX_CLASSES) {
    const name = basename(result.out_dir)
    const spec = confusionSpec({name, file: join(result.out_dir, CONFUSION_FILE), classes: result.classes, counts: result.confusion})
    const svg = await renderSvg(spec)
    files['confusion.vl.json'] = `${JSON.stringify(spec, null, 2)}\n`
    files['confusion.svg'] = svg
    try {
      files['confusion.png'] = await renderPng(svg)
    } catch (error) {
      log(`note: confusion.png could not be rendered (${(error as Error).message}); confusion.svg has the heatmap`)
    }
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
