/**
 * The dataset layer: official-format readers, where files are found, downloads, augmentation and
 * seeded batching. See load.ts (loading and sizing), locate.ts (search path), fetch.ts
 * (downloads), augment.ts (training augmentation) and batches.ts (batching and buffer reuse).
 */
export {DATASETS, type DatasetInfo} from './catalog.js'
export {DataError} from './errors.js'
export {loadDataset, augmentFromConfig, datasetInfo, SYNTHETIC_DEFAULTS, type DataConfig, type Dataset, type SyntheticConfig} from './load.js'
export {batches, numBatches, epochOrder, type Batch, type BatchOptions, type Split} from './batches.js'
export {fetchDataset, type FetchOptions} from './fetch.js'
export {defaultDataDirs, userCacheDir, locateDataset} from './locate.js'
export {resolveAugment, DEFAULT_AUGMENT, type AugmentParams} from './augment.js'
export {Rng, deriveSeed} from './random.js'
