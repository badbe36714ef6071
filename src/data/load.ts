/**
 * `loadDataset`: the dataset `data.dataset` names — a registry entry: the official-format readers
 * (official.ts), `synthetic` (synthetic.ts), `image_folder` (image-folder.ts) or a plugin's — with
 * the options every dataset shares checked, its own options checked against its schema, both
 * splits (and a validation split of its own, where it has one) loaded at `image_size` as uint8 NHWC
 * RGB and checked — two classes at least (65,536 at most), the classes its classNames() announced,
 * labels in a Uint8Array or (past 256 classes) a Uint16Array — and the evaluation transforms of
 * `data.augment` (normalize) attached to every split.
 */
import {resolve} from 'node:path'
import {lookup, namesInOrder, type DatasetDef, type DatasetSplit, type LoadedData} from '../registry/registry.js'
import {paramErrors} from '../registry/params.js'
import type {Split} from './batches.js'
import type {DataOptions} from '../schema/spec.js'
import {checkCount, DataError} from './errors.js'
import {RESIZE_MODES, type ResizeMode} from './image-size.js'
import {isLabelArray, labelArray, MAX_BYTE_CLASSES, MAX_CLASSES} from './labels.js'
import {pipelinesFromConfig, type Pipeline} from './pipeline.js'
import type {ValidationHoldOut} from './split.js'

/** A dataset's options as `loadDataset` takes them: the spec's `data:` section (src/schema/spec.ts). */
export type DataConfig = DataOptions

export interface Dataset {
  name: string
  numClasses: number
  imageSize: number
  classNames: string[]
  train: Split
  test: Split
  /** The validation split: the dataset's own (image_folder's val/ beside test/), or the one `data.val_split` holds out of the training images (split.ts); absent without either. */
  val?: Split
  /** With `data.val_split`: which loaded training images became `train` and which `val`. */
  valHoldOut?: ValidationHoldOut
  /** Where the files came from (a folder), or how the data was generated. */
  source: string
}

/** A classifier needs two classes at least: with one, training fails deep in tfjs (a one-hot of depth 1). */
export const MIN_CLASSES = 2

const ALIASES: Record<string, string> = {
  'cifar-10': 'cifar10',
  'cifar-100': 'cifar100',
  'stl-10': 'stl10',
  'fashion-mnist': 'fashion_mnist',
  fashionmnist: 'fashion_mnist',
}

/** The registered dataset for a name (or a common spelling of it), or a DataError listing the known ones. */
export function datasetEntry(name: string): DatasetDef {
  const key = String(name).toLowerCase()
  const entry = lookup('dataset', key) ?? lookup('dataset', ALIASES[key] ?? '')
  if (!entry) throw new DataError(`Unknown dataset '${name}'. Known datasets: ${namesInOrder('dataset').join(', ')}.`)
  return entry
}

/** The training pipeline of `data.augment` (false: none); bad names and parameters are DataErrors. */
export function augmentFromConfig(cfg: Pick<DataConfig, 'augment'>): false | Pipeline {
  return pipelinesFromConfig(cfg.augment).train
}

/** The dataset's own options from `cfg`, checked against its schema with its defaults filled. */
export function datasetOptions(entry: DatasetDef, cfg: DataConfig): DataConfig {
  const own = Object.keys((entry.schema.properties as object | undefined) ?? {})
  const params: Record<string, unknown> = {}
  for (const k of own) if (cfg[k] !== undefined) params[k] = structuredClone(cfg[k])
  const errors = paramErrors(entry.schema, params)
  if (errors.length > 0) throw new DataError(`Invalid options for dataset ${entry.name}: ${errors.join('; ')} (see mixture list ${entry.name}).`)
  return {...cfg, ...params, dataset: entry.name}
}

/**
 * Where the data of `cfg` are, found without loading them (the dataset's `locate`), or undefined
 * where the dataset cannot say before it loads; a DataError saying what is missing and where to put it.
 * `dataDir` (--data-dir) is searched as loadDataset searches it.
 */
export function locateData(cfg: DataConfig, dataDir?: string): string | undefined {
  const entry = datasetEntry(cfg.dataset)
  return entry.locate?.(datasetOptions(entry, cfg), {dataDir})
}

/**
 * What stops the dataset's hooks reading the spec's own data where they place them (the message of
 * the DataError classNames() throws: image_folder's root gone, say), or undefined where they can.
 */
export function ownDataProblem(cfg: DataConfig): string | undefined {
  const entry = datasetEntry(cfg.dataset)
  try {
    entry.classNames(datasetOptions(entry, cfg))
    return undefined
  } catch (error) {
    if (!(error instanceof DataError)) throw error
    return error.message
  }
}

/**
 * `cfg` as its dataset's hooks read it where an explicit data directory `dataDir` (--data-dir) is
 * given: as it is where the spec's own data can be read (their classes are the spec's, and the
 * model's outputs; the data directory must then hold the same), else — the spec's own place gone,
 * e.g. image_folder's root moved, renamed or deleted, which is what --data-dir is there to rescue —
 * with `data_dir` set to the data directory, so that the classes (and the model's outputs) are
 * those of the data directory, which replaces the spec's place. Without `dataDir`, `cfg`.
 */
export function dataInPlace(cfg: DataConfig, dataDir: string | undefined): DataConfig {
  if (dataDir === undefined || ownDataProblem(cfg) === undefined) return cfg
  return {...cfg, data_dir: resolve(dataDir)}
}

/**
 * A split (a plugin's too) must hold `count` > 0 images of S×S×3 and labels below the class count,
 * in an array wide enough for them (labels.ts); `limit` is the data key that limits it.
 */
function checkSplit(name: string, which: string, split: DatasetSplit, size: number, classes: number, limit = `${which}_limit`): void {
  const px = size * size * 3
  if (!(Number.isInteger(split?.count) && split.images?.length === split.count * px && split.labels?.length >= split.count)) {
    throw new DataError(`Dataset ${name} returned a ${which} split that does not hold ${split?.count} images of ${size}×${size}×3 uint8 with one label each.`)
  }
  // Batch workers share the labels as the array they are, and fingerprints hash their bytes: other arrays break both.
  if (!isLabelArray(split.labels)) {
    const type = (split.labels as object).constructor?.name ?? typeof split.labels
    throw new DataError(`Dataset ${name} returned its ${which} labels as ${/^[AEIOU]/i.test(type) ? 'an' : 'a'} ${type}; a split's labels must be a Uint8Array (up to ${MAX_BYTE_CLASSES} classes) or a Uint16Array (up to ${MAX_CLASSES.toLocaleString('en-US')}), one class index per image: make its load() return them so, e.g. Uint16Array.from(labels).`)
  }
  // A byte cannot hold index 256 or above: such a label would have wrapped around to another class, unseen.
  if (classes > MAX_BYTE_CLASSES && !(split.labels instanceof Uint16Array)) {
    throw new DataError(`Dataset ${name} has ${classes} classes but returned its ${which} labels as a Uint8Array, whose bytes hold class indices up to ${MAX_BYTE_CLASSES - 1} only (a larger one wraps around to another class): make its load() return them as a Uint16Array.`)
  }
  // An empty split would train or test on nothing and still "complete".
  if (split.count === 0) throw new DataError(`Dataset ${name} has no ${which} images (its ${which} split is empty): check its files, or data.${limit}.`)
  for (let i = 0; i < split.count; i++) {
    if (split.labels[i] >= classes) throw new DataError(`Dataset ${name} returned ${which} label ${split.labels[i]} at example ${i}, but it has ${classes} classes.`)
  }
}

/** Class names for a message: all of them in brackets, or the first 8 and how many there are. */
export function classList(names: string[]): string {
  return `[${names.slice(0, 8).join(', ')}${names.length > 8 ? `, ... (${names.length} classes)` : ''}]`
}

/**
 * A class name as names are compared: Unicode NFC, so that a folder name a file system stores
 * decomposed (macOS: `o` + combining diaeresis) is the class written composed (`ö`) elsewhere.
 */
export function canonicalClassName(name: string): string {
  return name.normalize('NFC')
}

const sameClassName = (a: string, b: string | undefined) => b !== undefined && canonicalClassName(a) === canonicalClassName(b)

/**
 * How the classes `have` differ from those `want` (name for name, in order), in words for a message —
 * which are missing, which are extra, or where the order parts — or undefined where they do not.
 */
export function classDifference(have: string[], want: string[]): string | undefined {
  const differ = want.findIndex((c, i) => !sameClassName(c, have[i]))
  if (differ < 0 && want.length === have.length) return undefined
  const haveSet = new Set(have.map(canonicalClassName))
  const wantSet = new Set(want.map(canonicalClassName))
  const missing = want.filter((c) => !haveSet.has(canonicalClassName(c)))
  const extra = have.filter((c) => !wantSet.has(canonicalClassName(c)))
  const parts = [`${have.length} classes, not ${want.length}`]
  if (missing.length > 0) parts.push(`missing ${classList(missing)}`)
  if (extra.length > 0) parts.push(`extra ${classList(extra)}`)
  if (missing.length === 0 && extra.length === 0) return `the same classes in another order: class ${differ} is ${have[differ]}, not ${want[differ]}`
  return have.length === want.length ? parts.slice(1).join('; ') : parts.join('; ')
}

/**
 * A DataError unless the classes `load` returned are those `classNames` announced, name for name and
 * in order: the model's outputs were sized by the announced ones, and eval, predict and export name
 * the outputs by them. `dataDir` is the explicit data directory the load was given, where it is not
 * the spec's data.data_dir (a dataset that reads its classes from folders, as image_folder, may find
 * other classes there).
 */
function checkClassNames(name: string, announced: string[], loaded: LoadedData, dataDir: string | undefined): void {
  const how = classDifference(loaded.classNames, announced)
  if (how === undefined) return
  if (dataDir !== undefined) {
    throw new DataError(`The data directory given (${dataDir}) holds the ${name} classes ${classList(loaded.classNames)}, but the spec's data have ${classList(announced)} (${how}): the model's outputs are the spec's classes, in that order, and eval, predict and export name them so. Give a data directory with the same classes, or train a run on it.`)
  }
  throw new DataError(`Dataset ${name} announced the classes ${classList(announced)} (its classNames()) but its load() returned ${classList(loaded.classNames)} (${how}): a dataset plugin's classNames() and load() must return the same classes in the same order, since the model's outputs are sized and ordered by classNames() and eval, predict and export name them so. Fix the plugin.`)
}

/**
 * Loads a dataset's train and test splits (and its own validation split, where it has one) at
 * `cfg.image_size`. `opts.dataDir` (e.g. `--data-dir`) is searched first, then `cfg.data_dir`, then
 * MIXTURE_DATA and the user cache; image_folder reads its images from it in place of data.root.
 * `opts.bars` draws progress bars on stderr where a dataset has them.
 *
 * `opts.withoutTrain`: no training images are wanted (`mixture eval` of the test split, or of the
 * dataset's own validation split). The dataset is asked for none — train_limit and limits.train 0,
 * so that it reads no training files and notes no short training split — and the train split comes
 * back empty; a dataset may then have no training images at all: image_folder takes a held-out
 * folder, test/<class>/ alone. The classes are then those of the images read (one is enough), not
 * checked against what classNames() announces (that sizes a model to train; a trained model's
 * classes are the run's): the caller matches them to its own by name (relabelByName).
 *
 * `opts.byName`: the caller matches the classes to its own by name (a trained run's evaluation, of
 * any split): as with `withoutTrain`, they are those of the images read, not checked against
 * classNames(). Else they must be those classNames() announces for the spec's data — or, where the
 * spec's own place is gone and `opts.dataDir` replaces it, for the data directory's (dataInPlace).
 */
export async function loadDataset(cfg: DataConfig, opts: {dataDir?: string; log?: (msg: string) => void; bars?: boolean; withoutTrain?: boolean; byName?: boolean} = {}): Promise<Dataset> {
  const log = opts.log ?? (() => undefined)
  const entry = datasetEntry(cfg.dataset)
  const size = cfg.image_size
  if (!Number.isInteger(size) || size < 1 || size > 1024) throw new DataError(`data.image_size must be an integer between 1 and 1024; got ${size}.`)
  checkCount('train_limit', cfg.train_limit, 1)
  checkCount('test_limit', cfg.test_limit, 1)
  if (cfg.resize !== undefined && !RESIZE_MODES.includes(cfg.resize as ResizeMode)) {
    throw new DataError(`data.resize must be one of ${RESIZE_MODES.join(', ')}; got '${String(cfg.resize)}'.`)
  }
  const pipelines = pipelinesFromConfig(cfg.augment)
  const withoutTrain = Boolean(opts.withoutTrain)
  const options = {...datasetOptions(entry, cfg), ...(withoutTrain ? {train_limit: 0} : {})}
  const byName = withoutTrain || Boolean(opts.byName)
  // Where the spec's own place is gone and the data directory given replaces it, the classes are the data directory's.
  const announcedFor = byName || opts.dataDir === cfg.data_dir ? options : dataInPlace(options, opts.dataDir)
  const classNames = byName ? undefined : entry.classNames(announcedFor)
  let loaded: LoadedData
  try {
    loaded = await entry.load(options, {
      dataDir: opts.dataDir,
      limits: {train: withoutTrain ? 0 : (cfg.train_limit ?? Infinity), test: cfg.test_limit ?? Infinity},
      bars: Boolean(opts.bars),
      log,
    })
  } catch (error) {
    // V8's "Array buffer allocation failed" says neither what nor how much: the images are held as uint8, size² × 3 bytes each.
    if (error instanceof RangeError && /allocation failed|Invalid typed array length|Array buffer/i.test(error.message)) {
      throw new DataError(`Dataset ${entry.name} does not fit in this process's memory (${error.message}): its images take ${size}×${size}×3 bytes each (${((size * size * 3) / 2 ** 20).toFixed(2)} MiB) as uint8. Lower data.image_size, or data.train_limit / data.test_limit, or give the process more memory.`, {cause: error})
    }
    // A plugin's dataset that fails in its own code: said with its name and file, as the plugin's mistake.
    if (entry.source !== undefined && entry.source !== 'builtin' && !(error instanceof DataError)) {
      throw new DataError(`Dataset ${entry.name} (plugin ${entry.source}) failed while loading its data: ${error instanceof Error ? error.message : String(error)}`, {cause: error})
    }
    throw error
  }
  if (classNames) checkClassNames(entry.name, classNames, loaded, opts.dataDir !== cfg.data_dir && announcedFor === options ? opts.dataDir : undefined)
  if (loaded.classNames.length < (byName ? 1 : MIN_CLASSES)) {
    throw new DataError(`Dataset ${entry.name} has ${loaded.classNames.length === 1 ? `one class (${loaded.classNames[0]})` : 'no classes'}, and a classifier needs at least ${MIN_CLASSES}: give it data of two classes or more (for a dataset plugin, make its classNames() and load() return them).`)
  }
  if (loaded.classNames.length > MAX_CLASSES) {
    throw new DataError(`Dataset ${entry.name} has ${loaded.classNames.length.toLocaleString('en-US')} classes, more than the ${MAX_CLASSES.toLocaleString('en-US')} that 16-bit labels can tell apart: merge classes, or train on part of them.`)
  }
  if (!withoutTrain) checkSplit(entry.name, 'train', loaded.train, size, loaded.classNames.length)
  if (loaded.val) checkSplit(entry.name, 'validation', loaded.val, size, loaded.classNames.length, 'test_limit')
  checkSplit(entry.name, 'test', loaded.test, size, loaded.classNames.length)
  if (loaded.val && cfg.val_split) {
    throw new DataError(`Dataset ${entry.name} has a validation split of its own (${loaded.source}), and data.val_split ${cfg.val_split} would hold another one out of the training images: remove data.val_split to validate on the dataset's.`)
  }
  const evalTransforms = pipelines.eval || undefined
  // Whatever a dataset returned for a split it was asked no images of, none are used.
  const train = withoutTrain ? {images: new Uint8Array(0), labels: labelArray(loaded.classNames.length, 0), count: 0} : loaded.train
  return {
    name: entry.name,
    numClasses: loaded.classNames.length,
    imageSize: size,
    classNames: loaded.classNames,
    train: {...train, evalTransforms},
    ...(loaded.val ? {val: {...loaded.val, evalTransforms}} : {}),
    test: {...loaded.test, evalTransforms},
    source: loaded.source,
  }
}

/**
 * `dataset` with its classes those of `classNames` (a trained run's, which name the model's
 * outputs): each split's labels mapped by class name, so that a folder holding part of the classes
 * (image_folder's names, sorted: another order than the run's outputs) is scored against the right
 * outputs. Every class of `dataset` must be one of `classNames` (a DataError naming those that are
 * not: the model has no output for them); classes it lacks have no examples.
 */
export function relabelByName(dataset: Dataset, classNames: string[]): Dataset {
  const index = new Map(classNames.map((name, i) => [canonicalClassName(name), i]))
  const unknown = dataset.classNames.filter((name) => !index.has(canonicalClassName(name)))
  if (unknown.length > 0) throw new DataError(`The classes ${classList(unknown)} of ${dataset.name} (${dataset.source}) are not among ${classList(classNames)}: no output of the model stands for them.`)
  const sameOrder = dataset.classNames.length === classNames.length && dataset.classNames.every((name, i) => name === classNames[i])
  if (sameOrder) return dataset
  const toIndex = dataset.classNames.map((name) => index.get(canonicalClassName(name))!)
  const relabel = <S extends Split | undefined>(split: S): S => {
    if (!split) return split
    const labels = labelArray(classNames.length, split.count)
    for (let i = 0; i < split.count; i++) labels[i] = toIndex[split.labels[i]]
    return {...split, labels}
  }
  return {...dataset, classNames, numClasses: classNames.length, train: relabel(dataset.train), test: relabel(dataset.test), ...(dataset.val ? {val: relabel(dataset.val)} : {})}
}
