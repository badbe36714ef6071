/**
 * `mixture eval`: one checkpoint of a run on one split, through the same path as training's
 * evaluation after each epoch — the same batches (no shuffle, no augmentation, the `always`
 * transforms such as normalize), the same batch size, the same forward pass and loss on the same
 * backend — so that loss and accuracy on the test split equal the row training wrote to
 * metrics.csv for the checkpoint's epoch; so do they on the validation split, the run's own hold-out
 * of its training images (`data.val_split`, drawn by its seed, so the same images). On top: top-5
 * accuracy, per-class accuracy and the confusion matrix (dense up to DENSE_MAX_CLASSES classes, its
 * nonzero cells past that), written to `<run>/eval/<split>-<checkpoint>/` (evaluate-outputs.ts).
 */
import {join, resolve} from 'node:path'
import {tf} from '../engine/tf.js'
import {UsageError} from '../errors.js'
import {batches, holdOutValidation, loadDataset, type Split} from '../data/index.js'
import {classDifference, classList} from '../data/load.js'
import {crossEntropy} from '../ops/cross-entropy.js'
import {MetricSums} from '../ops/metric-sums.js'
import {openRun, type CheckpointChoice, type OpenedRun} from '../run/load-run.js'
import {fingerprintChanges, pluginFingerprints, splitFingerprint} from '../run/fingerprints.js'
import {readMetricsFile} from '../run/metrics-file.js'
import {writeEvalFolder} from './evaluate-outputs.js'
import {EvalTally, type TallyResult} from './tally.js'
import type {AccuracyDefinition} from '../ops/metric-sums.js'
import {DENSE_MAX_CLASSES, EVAL_SPLITS, type ClassAccuracy, type EvalResult, type EvalSplit} from './types.js'

export interface EvalOptions {
  run: string
  ckpt?: CheckpointChoice
  split?: EvalSplit
  dataDir?: string
  backend?: string
  /** Draw the dataset's loading progress bars (stderr). */
  bars?: boolean
  log?: (message: string) => void
}

/** The run's `train.accuracy` (per_example when the config names none). */
function accuracyDefinition(run: OpenedRun): AccuracyDefinition {
  const named = (run.spec.train as Record<string, unknown>).accuracy
  return named === 'batch_mean' ? 'batch_mean' : 'per_example'
}

/** `--split val` on a run without a validation split (none held out by `data.val_split`, none of the dataset's own). */
function refuseVal(run: OpenedRun): never {
  throw new UsageError(
    `--split val needs a validation split, held out of the training images (data.val_split) or the dataset's own (image_folder's val/ beside test/), and ${run.runDir} has none (so it chose its best epoch on the test split, as the paper did). Use --split test or --split train, or train a run with data.val_split (e.g. --set data.val_split=0.1)`,
  )
}

/** Loss and accuracy as training measures them (MetricSums, crossEntropy), plus the host tally of the logits. */
async function evaluateSplit(run: OpenedRun, split: Split, batchSize: number): Promise<{loss: number; accuracy: number; tally: TallyResult}> {
  const {spec, built} = run
  const size = spec.data.image_size
  const outputs = built.model.outputs[0].shape[1] as number
  const tally = new EvalTally(run.classNames.length, outputs)
  const sums = new MetricSums()
  try {
    for (const batch of batches(split, {batchSize, imageSize: size, shuffle: false, seed: spec.seed, epoch: 0, augment: false})) {
      const x = tf.tensor4d(batch.x, [batch.size, size, size, 3])
      const y = tf.tensor1d(batch.y, 'int32')
      const logits = tf.tidy(() => {
        const out = built.model.apply(x, {training: false}) as tf.Tensor2D
        const {loss, correct} = crossEntropy(out, y)
        sums.add(loss, correct, batch.size)
        correct.dispose()
        return out
      })
      tally.add(await logits.data(), batch.y, batch.size)
      tf.dispose([x, y, logits])
    }
    const m = await sums.read()
    return {loss: m.loss, accuracy: m.accuracy, tally: tally.result()}
  } finally {
    sums.dispose()
  }
}

export async function evaluateRun(opts: EvalOptions): Promise<EvalResult> {
  const log = opts.log ?? (() => undefined)
  const split = opts.split ?? 'test'
  if (!(EVAL_SPLITS as readonly string[]).includes(split)) throw new UsageError(`--split must be one of ${EVAL_SPLITS.join(', ')}; got "${split}"`)
  const run = await openRun(opts.run, {ckpt: opts.ckpt, backend: opts.backend, log})
  try {
    const {spec, built, runDir} = run
    const epoch = run.checkpoint.meta.epoch
    log(`${spec.name}: ${run.checkpoint.name}.ckpt (after epoch ${epoch}) on the ${split} split, backend ${run.backend.name}`)
    // The run's own validation hold-out (the same images for the same seed): `train` is then what training trained on.
    // --data-dir is where the data are read, the dataset's classes too (image_folder's replace data.root):
    // they must be the classes the run trained on, in order, which name the model's outputs.
    const data = opts.dataDir ? {...spec.data, data_dir: resolve(opts.dataDir)} : spec.data
    const loaded = await loadDataset(data as never, {dataDir: data.data_dir as string | undefined, log, bars: opts.bars})
    const differ = opts.dataDir ? classDifference(loaded.classNames, run.classNames) : undefined
    if (differ) {
      throw new UsageError(`the data in ${opts.dataDir} have the classes ${classList(loaded.classNames)}, and ${runDir} was trained on ${classList(run.classNames)} (${differ}): the model's outputs are those, in that order. Give a data directory with the same classes`)
    }
    const dataset = holdOutValidation(loaded, spec.data.val_split, spec.seed)
    if (split === 'val' && !dataset.val) refuseVal(run)
    if (dataset.numClasses > built.numClasses) throw new UsageError(`the dataset has ${dataset.numClasses} classes but the model outputs ${built.numClasses}: this is not the data the run was trained on`)
    const batchSize = spec.train.eval_batch_size ?? spec.train.batch_size
    const measured = await evaluateSplit(run, dataset[split]!, batchSize)
    const {tally} = measured
    const batchMean = tally.batchAccuracies.reduce((a, b) => a + b, 0) / Math.max(1, tally.batchAccuracies.length)
    const definition = accuracyDefinition(run)
    const accuracy = definition === 'batch_mean' ? batchMean : measured.accuracy
    const perClass: ClassAccuracy[] = run.classNames.map((name, i) => {
      const examples = tally.classExamples[i]
      const correct = tally.classCorrect[i]
      return {index: i, class: name, examples, correct, accuracy: examples > 0 ? correct / examples : null}
    })
    // Training evaluated the test and validation splits after every epoch, as this does.
    const row = split === 'train' ? undefined : readMetricsFile(runDir).rows.find((r) => r.epoch === epoch)
    const wrote = row && (split === 'val' ? {loss: row.val_loss, accuracy: row.val_accuracy} : {loss: row.test_loss, accuracy: row.test_accuracy})
    const trainedOn = split === 'train' ? undefined : run.summary?.images?.[split]
    const changed = wrote ? fingerprintChanges(run.summary?.fingerprints, {split: split as 'val' | 'test', data: splitFingerprint(dataset[split]!), plugins: pluginFingerprints(spec.plugins ?? [])}) : []
    const training = wrote ? {...wrote, equal: wrote.loss === measured.loss && wrote.accuracy === accuracy, ...(trainedOn !== undefined ? {examples: trainedOn} : {}), changed} : null
    const outDir = join(runDir, 'eval', `${split}-${run.checkpoint.name}`)
    const result: EvalResult = {
      run_dir: runDir,
      checkpoint: run.checkpoint.name,
      epoch,
      split,
      examples: tally.examples,
      batch_size: batchSize,
      backend: run.backend.name,
      loss: measured.loss,
      accuracy_definition: definition,
      accuracy,
      accuracy_per_example: measured.accuracy,
      accuracy_batch_mean: batchMean,
      top_k: tally.k,
      top_k_accuracy: tally.topK,
      per_class: perClass,
      classes: run.classNames,
      // Dense up to DENSE_MAX_CLASSES classes; past that [] and the nonzero cells in confusion_pairs.
      confusion: tally.confusion,
      ...(run.classNames.length > DENSE_MAX_CLASSES ? {confusion_pairs: tally.pairs} : {}),
      predicted_outside_classes: tally.outside.reduce((a, b) => a + b, 0),
      training,
      out_dir: outDir,
      files: [],
    }
    result.files = await writeEvalFolder(result, log)
    return result
  } finally {
    run.dispose()
  }
}
