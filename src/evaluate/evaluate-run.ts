/**
 * `mixture eval`: one checkpoint of a run on one split, through the same path as training's
 * evaluation after each epoch — the same batches (no shuffle, no augmentation, the `always`
 * transforms such as normalize), the same batch size, the same forward pass and loss on the same
 * backend — so that loss and accuracy on the test split equal the row training wrote to
 * metrics.csv for the checkpoint's epoch; so do they on the validation split, the run's own hold-out
 * of its training images (`data.val_split`, drawn by its seed, so the same images). On top: top-5
 * accuracy, per-class accuracy and the confusion matrix (dense up to DENSE_MAX_CLASSES classes, its
 * nonzero cells past that), written to `<run>/eval/<split>-<checkpoint>/` (evaluate-outputs.ts) — or,
 * for data read from another folder with --data-dir, `<run>/eval/<split>-<checkpoint>-on-<folder>/`
 * (evalFolder), which records the folder (metrics.json's data_dir).
 */
import {existsSync, readFileSync} from 'node:fs'
import {basename, isAbsolute, join, relative, resolve} from 'node:path'
import {tf} from '../engine/tf.js'
import {UsageError} from '../errors.js'
import {batches, DataError, holdOutValidation, loadDataset, type Dataset, type Split} from '../data/index.js'
import {canonicalClassName, classList, relabelByName} from '../data/load.js'
import {crossEntropy} from '../ops/cross-entropy.js'
import {MetricSums} from '../ops/metric-sums.js'
import {openRun, weightsLabel, weightsPhrase, type CheckpointChoice, type OpenedRun, type WeightChoice} from '../run/load-run.js'
import {fingerprintChanges, pluginFingerprints, splitFingerprint} from '../run/fingerprints.js'
import {readMetricsFile} from '../run/metrics-file.js'
import {recordedDataFolder} from '../run/env.js'
import {writeEvalFolder} from './evaluate-outputs.js'
import {readableFolder} from '../fs/folder-leftovers.js'
import {EvalTally, type TallyResult} from './tally.js'
import type {AccuracyDefinition} from '../ops/metric-sums.js'
import {DENSE_MAX_CLASSES, EVAL_SPLITS, type ClassAccuracy, type EvalResult, type EvalSplit} from './types.js'

export interface EvalOptions {
  run: string
  ckpt?: CheckpointChoice
  /** With train.ema: the average (default) or the trained weights. */
  weights?: WeightChoice
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
function refuseVal(run: OpenedRun, dataDir: string | undefined): never {
  // The run validated on a val/ folder of its own, which the folder given in its place lacks.
  if (dataDir && run.summary?.images?.val !== undefined) {
    throw new UsageError(`--split val: ${run.runDir} chose its best epoch on the validation split of its data (a val/ folder beside test/), and ${dataDir} has none: give a folder with val/<class>/ beside test/, or use --split test`)
  }
  throw new UsageError(
    `--split val needs a validation split, held out of the training images (data.val_split) or the dataset's own (image_folder's val/ beside test/), and ${run.runDir} has none (so it chose its best epoch on the test split, as the paper did). Use --split test or --split train, or train a run with data.val_split (e.g. --set data.val_split=0.1)`,
  )
}

/**
 * The run's data loaded from where it recorded them; where that fails for want of the folder it
 * trained from (gone: moved, renamed, another machine; and named by the loader's error), a
 * UsageError saying to give the folder they are in now with --data-dir.
 */
async function loadRecordedData(run: OpenedRun, load: () => Promise<Dataset>): Promise<Dataset> {
  try {
    return await load()
  } catch (error) {
    const folder = recordedDataFolder(run.runDir)
    if (!(error instanceof DataError) || folder === undefined || existsSync(folder) || !error.message.includes(folder)) throw error
    const layouts = run.spec.data.dataset === 'image_folder' ? ' (the folder as it was, or a held-out folder: test/<class>/ alone)' : ''
    throw new UsageError(`${run.runDir} was trained on the data in ${folder}, which is not there now (moved, renamed or deleted?). Give the folder the data are in now: mixture eval ${run.runDir} --data-dir <folder>${layouts}`, {cause: error})
  }
}

/** `data` without data.data_dir (which --data-dir replaces). */
function withoutDataDir(data: OpenedRun['spec']['data']): OpenedRun['spec']['data'] {
  const {data_dir: _replaced, ...rest} = data
  return rest as OpenedRun['spec']['data']
}

/** Whether `path` is `folder` or inside it. */
function within(path: string, folder: string): boolean {
  if (!isAbsolute(path)) return false
  const rel = relative(folder, resolve(path))
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

/** The data folder an earlier evaluation in `dir` recorded (its metrics.json's data_dir); null where it recorded none, undefined where there is no such evaluation. */
function evaluatedDataDir(dir: string): string | null | undefined {
  const folder = readableFolder(dir)
  if (!folder) return undefined
  try {
    const recorded = (JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8')) as {data_dir?: unknown}).data_dir
    return typeof recorded === 'string' ? recorded : null
  } catch {
    return null
  }
}

/**
 * Where an evaluation is written: `<run>/eval/<name>/` (`<split>-<ckpt>`) for the run's own data; for
 * another folder's (`dataDir`, read with --data-dir), `<run>/eval/<name>-on-<folder's basename>/`,
 * and where that folder holds the evaluation of another data folder of the same basename,
 * `-on-<basename>-2/`, `-3/`, ...: the first that is free or holds this data folder's earlier one.
 */
export function evalFolder(runDir: string, name: string, dataDir?: string): string {
  const base = join(runDir, 'eval', name)
  if (dataDir === undefined) return base
  const on = `${base}-on-${basename(dataDir) || 'root'}`
  for (let k = 1; ; k++) {
    const dir = k === 1 ? on : `${on}-${k}`
    const recorded = evaluatedDataDir(dir)
    if (recorded === undefined || recorded === dataDir) return dir
  }
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
  const run = await openRun(opts.run, {ckpt: opts.ckpt, weights: opts.weights, backend: opts.backend, log})
  try {
    const {spec, built, runDir} = run
    const epoch = run.checkpoint.meta.epoch
    log(`${spec.name}: ${run.checkpoint.name}.ckpt (after epoch ${epoch}${weightsPhrase(run)}) on the ${split} split, backend ${run.backend.name}`)
    // --data-dir is where the data are read, the dataset's classes too (image_folder's replace data.root); it replaces
    // the spec's data.data_dir, and is named as --data-dir in what the load says.
    const dataDir = opts.dataDir !== undefined ? resolve(opts.dataDir) : undefined
    const data = dataDir !== undefined ? withoutDataDir(spec.data) : spec.data
    // The training images are read only where the split needs them: --split train, or the validation split
    // held out of them (data.val_split). Else none are, and image_folder takes a held-out folder, test/ alone.
    const withoutTrain = split === 'test' || (split === 'val' && !spec.data.val_split)
    // The classes read are matched to the run's by name, whatever classNames() says of the spec's data (byName).
    const load = () => loadDataset(data, {dataDir: dataDir ?? spec.data.data_dir, log, bars: opts.bars, withoutTrain, byName: true})
    const loaded = dataDir !== undefined ? await load() : await loadRecordedData(run, load)
    // Where the images came from: the --data-dir folder (a dataset that reads no files, as synthetic, does not read it).
    const readFromDataDir = dataDir !== undefined && within(loaded.source, dataDir)
    if (dataDir !== undefined && !readFromDataDir) {
      log(`note: --data-dir ${dataDir} is not used: ${spec.data.dataset} ${isAbsolute(loaded.source) ? `read its data from ${loaded.source}` : `reads no files (${loaded.source})`}, so this evaluates the run's own data`)
    }
    const where = readFromDataDir ? `the data in ${dataDir}` : `${runDir}'s data (${loaded.source})`
    // The model's outputs are the run's classes: the data's are matched to them by name, and may be part of them.
    // Compared as canonicalClassName has them: a name a file system stored decomposed is the class.
    const known = (names: string[]) => new Set(names.map(canonicalClassName))
    const runs = known(run.classNames)
    const unknown = loaded.classNames.filter((name) => !runs.has(canonicalClassName(name)))
    if (unknown.length > 0) {
      throw new UsageError(`${where} have the classes ${classList(unknown)}, which ${runDir} was not trained on (its classes: ${classList(run.classNames)}): the model has no output for them. Evaluate on images of the run's classes only (class folders named as those), or train a run on these classes`)
    }
    const read = known(loaded.classNames)
    const absent = run.classNames.filter((name) => !read.has(canonicalClassName(name)))
    if (absent.length > 0) log(`note: ${where} have no ${classList(absent)} of the run's ${run.classNames.length} classes: those are scored on no images (their per-class accuracy is empty); the others are matched to the run's outputs by name`)
    // The run's own validation hold-out (the same images for the same seed, drawn from the labels as loaded): `train` is then what training trained on.
    const dataset = relabelByName(holdOutValidation(loaded, withoutTrain ? undefined : spec.data.val_split, spec.seed), run.classNames)
    if (split === 'val' && !dataset.val) refuseVal(run, opts.dataDir)
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
    // Training evaluated the test and validation splits after every epoch, as this does; with train.ema on the
    // average, and the test split on the trained weights too (the raw_test columns).
    const rawWeights = Boolean(spec.train.ema) && run.weights === 'trained'
    const row = split === 'train' || (rawWeights && split === 'val') ? undefined : readMetricsFile(runDir).rows.find((r) => r.epoch === epoch)
    const wrote = row && (split === 'val' ? {loss: row.val_loss, accuracy: row.val_accuracy} : rawWeights ? {loss: row.raw_test_loss, accuracy: row.raw_test_accuracy} : {loss: row.test_loss, accuracy: row.test_accuracy})
    const trainedOn = split === 'train' ? undefined : run.summary?.images?.[split]
    const changed = wrote ? fingerprintChanges(run.summary?.fingerprints, {split: split as 'val' | 'test', data: splitFingerprint(dataset[split]!), plugins: pluginFingerprints(spec.plugins ?? [])}) : []
    // A row from before the raw_test columns has none to compare with.
    const training = wrote && !Number.isNaN(wrote.loss) ? {...wrote, equal: wrote.loss === measured.loss && wrote.accuracy === accuracy, ...(trainedOn !== undefined ? {examples: trainedOn} : {}), changed} : null
    // Data read from --data-dir other than those the run recorded go to a folder of their own, so that the run's own evaluation stays;
    // so do other images found without --data-dir in another place than the run read them (another copy of the dataset).
    const recorded = recordedDataFolder(runDir)
    const recordedSplit = run.summary?.fingerprints?.data?.[split as 'val' | 'test' | 'train']
    const otherCopy = !readFromDataDir && recorded !== undefined && isAbsolute(loaded.source) && resolve(loaded.source) !== recorded && (recordedSplit === undefined || recordedSplit !== splitFingerprint(dataset[split]!))
    if (otherCopy) log(`note: ${runDir} read its data from ${recorded}; the ${split} split found now in ${loaded.source} holds other images, so this evaluation goes to a folder of its own (give --data-dir ${recorded} to evaluate on the run's own data)`)
    const dataFolder = readFromDataDir ? dataDir : otherCopy ? loaded.source : undefined
    const ownData = !otherCopy && (!readFromDataDir || resolve(loaded.source) === recorded)
    const outDir = evalFolder(runDir, `${split}-${weightsLabel(run)}`, ownData ? undefined : dataFolder)
    const result: EvalResult = {
      run_dir: runDir,
      checkpoint: run.checkpoint.name,
      weights: run.weights,
      moving_average: Boolean(spec.train.ema),
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
      data_dir: dataFolder ?? null,
      data_source: loaded.source,
      out_dir: outDir,
      files: [],
    }
    result.files = await writeEvalFolder(result, log)
    return result
  } finally {
    run.dispose()
  }
}
