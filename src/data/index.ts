/**
 * The dataset layer: the datasets (registry entries: official.ts, synthetic.ts, image-folder.ts),
 * where official files are found (locate.ts), downloads (fetch.ts), image decoding (images.ts),
 * the transforms of `data.augment` (transforms.ts, pipeline.ts), the validation hold-out (split.ts) and
 * seeded batching (batches.ts).
 */
export {DATASETS, type DatasetInfo} from './catalog.js'
export {DataError} from './errors.js'
export {loadDataset, augmentFromConfig, datasetEntry, datasetOptions, type DataConfig, type Dataset} from './load.js'
export {holdOutValidation, validationIndices, type ValidationHoldOut} from './split.js'
export {batches, numBatches, epochOrder, type Batch, type BatchOptions, type Split} from './batches.js'
export {fetchDataset, type FetchOptions} from './fetch.js'
export {defaultDataDirs, userCacheDir, locateDataset} from './locate.js'
export {resolveAugment, DEFAULT_AUGMENT, type AugmentParams} from './augment.js'
export {buildPipeline, pipelinesFromConfig, transformSpecs, type Pipeline, type TransformSpec} from './pipeline.js'
export {Rng, deriveSeed} from './random.js'
