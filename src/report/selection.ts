/**
 * What a table's accuracy means, in words: how the Top-1 accuracy was chosen over epochs (the
 * selection rule) and how accuracy was computed within an epoch (the accuracy definition).
 *
 * Selection rules:
 * - `best_test`: the highest test accuracy over all epochs — the paper's rule, and the rule of every
 *   run whose summary.json does not name another;
 * - `best_val`: the test accuracy at the epoch of highest validation accuracy (a run that holds out
 *   a validation split, `data.val_split`, names it in summary.json `selection`; a run whose
 *   summary.json names no rule but whose metrics.csv has validation accuracies is read as such).
 *
 * Accuracy definitions:
 * - `per_example`: correct predictions / examples over the whole split (the default);
 * - `batch_mean`: the mean of per-batch accuracies, as the paper's code computed it (a short last
 *   batch weighs as much as a full one).
 * A run names its definition in summary.json `accuracy` (written by the run command), else in
 * config.yaml `train.accuracy`; a run that names none (older runs) is `per_example`.
 */

import type {Selection} from '../run/summary.js'
import type {AccuracyDefinition} from '../ops/metric-sums.js'

type Json = Record<string, unknown>

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim().toLowerCase() : undefined
}

/** The rule a run's summary.json names (`best_val`, or anything mentioning "val"); where it names none, `best_val` for a run with validation accuracies (`hasVal`), else `best_test`. */
export function selectionOf(summary: Json, hasVal = false): Selection {
  const named = text(summary.selection)
  if (named === undefined) return hasVal ? 'best_val' : 'best_test'
  return named.includes('val') ? 'best_val' : 'best_test'
}

/** The definition a run's summary.json or config.yaml names, else `per_example`. */
export function accuracyDefinitionOf(summary: Json, config: Json): AccuracyDefinition {
  const train = (config.train ?? {}) as Json
  const named = text(summary.accuracy) ?? text(train.accuracy)
  return named === 'batch_mean' ? 'batch_mean' : 'per_example'
}

/** Column title of the headline accuracy under a rule. */
export function accuracyColumn(rule: Selection): string {
  return rule === 'best_val' ? 'Test Accuracy at Best Validation Epoch' : 'Top-1 Test Accuracy'
}

const SELECTION_TEXT: Record<Selection, string> = {
  best_test: 'the highest test accuracy over all epochs (the paper’s rule)',
  best_val: 'the test accuracy at the epoch of highest validation accuracy',
}

const DEFINITION_TEXT: Record<AccuracyDefinition, string> = {
  per_example: 'per example (correct predictions / examples in the split)',
  batch_mean: 'the mean of per-batch accuracies (the paper’s code)',
}

/** What the caption needs to know about each row. */
export interface CaptionRow {
  model: string
  /** Runs with train.ema: their trained weights' best test accuracy (else null). */
  best_raw_test_accuracy: number | null
  selection: Selection
  accuracy_definition: AccuracyDefinition
  n: number
  /** Every run of the row completed every planned epoch. */
  complete: boolean
}

function describeAll<K extends string>(rows: CaptionRow[], key: (row: CaptionRow) => K, words: Record<K, string>, subject: string): string {
  const kinds = [...new Set(rows.map(key))]
  if (kinds.length <= 1) return `${subject} ${words[kinds[0] ?? (Object.keys(words)[0] as K)]}.`
  const parts = kinds.map((kind) => `${words[kind]} for ${[...new Set(rows.filter((r) => key(r) === kind).map((r) => r.model))].join(', ')}`)
  return `${subject} ${parts.join('; ')}.`
}

/**
 * The table's caption: which selection rule and accuracy definition its rows used (naming the rows
 * when they differ), and how seeds were aggregated when any row has more than one run (and over
 * which runs, where such a row is not complete).
 */
export function tableCaption(rows: CaptionRow[]): string {
  const lines = [
    describeAll(rows, (r) => r.selection, SELECTION_TEXT, 'Top-1 is'),
    ...(rows.some((r) => r.selection === 'best_val')
      ? ['The validation split is held out of the training images (data.val_split), or is the dataset’s own (image_folder’s val/). Best Test Accuracy over Epochs is the highest test accuracy of any epoch (the paper’s rule), for comparison only: it is chosen on the test split itself.']
      : []),
    ...(rows.some((r) => r.best_raw_test_accuracy !== null)
      ? ['Rows with an average of the weights (train.ema) score the average in their accuracies, as timm reports it; Best Test Accuracy of the Trained Weights is the best test accuracy of the weights the optimizer trained (blank for rows without an average).']
      : []),
    describeAll(rows, (r) => r.accuracy_definition, DEFINITION_TEXT, 'Accuracy is'),
    'Training time is the training loop’s wall time summed over epochs (data loading included, evaluation excluded).',
  ]
  if (rows.some((r) => r.n > 1)) {
    lines.push('Where a model has several runs (seeds): mean ± sample standard deviation over its n complete runs, time likewise.')
    // A model with no complete run shows its runs so far (group.ts): not what the line above says.
    if (rows.some((r) => r.n > 1 && !r.complete)) lines.push('Where a model has no complete run, its cells are over its runs that trained an epoch, each named as incomplete after the accuracy.')
  }
  return lines.join(' ')
}
