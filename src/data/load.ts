/**
 * `loadDataset`: finds the official files (see locate.ts), decodes them (formats.ts), brings the
 * images to `image_size` once at load time and keeps them as uint8 NHWC RGB in memory.
 *
 * Sizing: a dataset whose native size differs from `image_size` is resized as Pillow's
 * `Image.resize(BILINEAR)` does (`pil_bilinear`, the default: antialiased when downscaling, as
 * torchvision's `Resize` on PIL images; STL-10 96→32 for the paper's ViT tables), or by the 4-tap
 * bilinear without antialiasing (`bilinear`), except MNIST and Fashion-MNIST, whose 28×28 images
 * are by default zero-padded by 2 px on each side to 32×32 (either resize stretches them instead).
 * Greyscale images are replicated into 3 channels.
 */
import {readFile, stat} from 'node:fs/promises'

import {DATASETS, OFFICIAL_COUNTS, type DatasetInfo} from './catalog.js'
import {resolveAugment, type AugmentParams} from './augment.js'
import type {Split} from './batches.js'
import {DataError} from './errors.js'
import {CIFAR10_FORMAT, cifar100Format, decodeCifarFiles, decodeIdxPair, decodeStl10, maybeGunzip, type CifarFormat, type RawImages} from './formats.js'
import {locateDataset} from './locate.js'
import {deriveSeed} from './random.js'
import {greyToRgb, padGreyToRgb, padImages, resizeBilinear, resizePil} from './resize.js'
import {generateSynthetic} from './synthetic.js'

export interface SyntheticConfig {
  train: number
  test: number
  classes: number
  /** Pixel noise amplitude (uniform ±noise in [0, 1] units); default 0.1. */
  noise?: number
  /** Seed of the generated data (independent of the training seed); default 0. */
  seed?: number
}

export interface DataConfig {
  dataset: string
  image_size: number
  data_dir?: string
  /** CIFAR-100: 100 fine classes (default) or 20 coarse superclasses. */
  label_mode?: 'fine' | 'coarse'
  /** How to reach `image_size` from the native size: Pillow's bilinear, the 4-tap bilinear, or centred zero padding. */
  resize?: ResizeMode
  /** Keep only the first N training / test examples (quick runs). */
  train_limit?: number
  test_limit?: number
  synthetic?: SyntheticConfig
  /** Training augmentation; defaults hflip true, brightness 0.5, hue 0.25; `false` disables. */
  augment?: false | {hflip?: boolean; brightness?: number; hue?: number}
}

export interface Dataset {
  name: string
  numClasses: number
  imageSize: number
  classNames: string[]
  train: Split
  test: Split
  /** Where the files came from (a folder), or how the data was generated. */
  source: string
}

export type ResizeMode = 'pil_bilinear' | 'bilinear' | 'pad'
const RESIZE_MODES: readonly ResizeMode[] = ['pil_bilinear', 'bilinear', 'pad']
const RESIZE_WORDS: Record<ResizeMode, string> = {pil_bilinear: 'Pillow bilinear (antialiased) resize', bilinear: '4-tap bilinear resize', pad: 'zero padding'}

export const SYNTHETIC_DEFAULTS: Required<SyntheticConfig> = {train: 2000, test: 500, classes: 10, noise: 0.1, seed: 0}

const ALIASES: Record<string, string> = {
  'cifar-10': 'cifar10',
  'cifar-100': 'cifar100',
  'stl-10': 'stl10',
  'fashion-mnist': 'fashion_mnist',
  fashionmnist: 'fashion_mnist',
}

/** Canonical dataset name, or a DataError listing the known ones. */
export function datasetInfo(name: string): DatasetInfo {
  const key = String(name).toLowerCase()
  const info = DATASETS[key] ?? DATASETS[ALIASES[key] ?? '']
  if (!info) throw new DataError(`Unknown dataset '${name}'. Known datasets: ${Object.keys(DATASETS).join(', ')}.`)
  return info
}

/** `data.augment` resolved against the paper's defaults (false = no augmentation). */
export function augmentFromConfig(cfg: Pick<DataConfig, 'augment'>): false | AugmentParams {
  try {
    return resolveAugment(cfg.augment)
  } catch (e) {
    throw new DataError(`Invalid data.augment: ${(e as Error).message}.`)
  }
}

function checkCount(what: string, v: number | undefined, min: number): void {
  if (v === undefined) return
  if (!Number.isInteger(v) || v < min) throw new DataError(`data.${what} must be an integer ≥ ${min}; got ${v}.`)
}

/** Brings native-size images to `size` (pad or resize) and to 3 channels. */
function fit(raw: RawImages, size: number, mode: ResizeMode, file: string): Uint8Array {
  let img = raw.images
  if (raw.size !== size) {
    if (mode === 'pad') {
      if (size < raw.size) {
        throw new DataError(`data.resize is 'pad' but image_size ${size} is smaller than the ${raw.size}×${raw.size} images of ${file}; use resize: pil_bilinear.`)
      }
      if (raw.channels === 1) return padGreyToRgb(img, raw.count, raw.size, size)
      img = padImages(img, raw.count, raw.size, size, raw.channels)
    } else {
      img = (mode === 'bilinear' ? resizeBilinear : resizePil)(img, raw.count, raw.size, size, raw.channels)
    }
  }
  return raw.channels === 1 ? greyToRgb(img) : img
}

async function readAll(paths: string[]): Promise<Array<{path: string; data: Uint8Array}>> {
  return Promise.all(paths.map(async (path) => ({path, data: new Uint8Array(await readFile(path))})))
}

/** Reads CIFAR files in order, stopping once `limit` records are covered (sizes from stat). */
async function readCifar(paths: string[], fmt: CifarFormat, limit: number): Promise<RawImages> {
  const rec = fmt.labelBytes + 3072
  const keep: string[] = []
  let covered = 0
  for (const p of paths) {
    if (covered >= limit) break
    keep.push(p)
    covered += Math.floor((await stat(p)).size / rec)
  }
  return decodeCifarFiles(await readAll(keep), fmt, limit)
}

async function loadRaw(name: string, paths: Record<string, string>, info: DatasetInfo, cfg: DataConfig, split: 'train' | 'test', limit: number): Promise<RawImages> {
  const files = info.files[split].map((f) => paths[f])
  switch (name) {
    case 'cifar10':
      return readCifar(files, {...CIFAR10_FORMAT, url: info.url}, limit)
    case 'cifar100':
      return readCifar(files, {...cifar100Format(cfg.label_mode ?? 'fine'), url: info.url}, limit)
    case 'stl10': {
      const [x, y] = await readAll(files)
      return decodeStl10(x, y, limit, info.url)
    }
    default: {
      const [im, lb] = await readAll(files)
      const [imData, lbData] = await Promise.all([maybeGunzip(im.data, im.path, info.url), maybeGunzip(lb.data, lb.path, info.url)])
      return decodeIdxPair({path: im.path, data: imData}, {path: lb.path, data: lbData}, info.numClasses, limit, info.url)
    }
  }
}

/**
 * Loads a dataset's train and test splits at `cfg.image_size`.
 * `opts.dataDir` (e.g. `--data-dir`) is searched first, then `cfg.data_dir`, then MIXTURE_DATA
 * and the user cache.
 */
export async function loadDataset(cfg: DataConfig, opts: {dataDir?: string; log?: (msg: string) => void} = {}): Promise<Dataset> {
  const log = opts.log ?? (() => undefined)
  const info = datasetInfo(cfg.dataset)
  const name = info.name
  const size = cfg.image_size
  if (!Number.isInteger(size) || size < 1 || size > 1024) throw new DataError(`data.image_size must be an integer between 1 and 1024; got ${size}.`)
  checkCount('train_limit', cfg.train_limit, 1)
  checkCount('test_limit', cfg.test_limit, 1)
  if (cfg.label_mode !== undefined && cfg.label_mode !== 'fine' && cfg.label_mode !== 'coarse') {
    throw new DataError(`data.label_mode must be 'fine' or 'coarse'; got '${cfg.label_mode}'.`)
  }
  if (cfg.label_mode === 'coarse' && name !== 'cifar100') {
    throw new DataError(`data.label_mode: coarse applies to cifar100 only (its 20 superclasses); remove it for ${name}.`)
  }
  if (cfg.resize !== undefined && !RESIZE_MODES.includes(cfg.resize)) {
    throw new DataError(`data.resize must be one of ${RESIZE_MODES.join(', ')}; got '${String(cfg.resize)}'.`)
  }
  augmentFromConfig(cfg)
  const trainLimit = cfg.train_limit ?? Infinity
  const testLimit = cfg.test_limit ?? Infinity
  const t0 = performance.now()

  if (name === 'synthetic') {
    const s = {...SYNTHETIC_DEFAULTS, ...(cfg.synthetic ?? {})}
    checkCount('synthetic.train', s.train, 1)
    checkCount('synthetic.test', s.test, 1)
    if (!Number.isInteger(s.classes) || s.classes < 2 || s.classes > 256) throw new DataError(`data.synthetic.classes must be an integer between 2 and 256; got ${s.classes}.`)
    if (!(s.noise >= 0 && s.noise <= 1)) throw new DataError(`data.synthetic.noise must be between 0 and 1; got ${s.noise}.`)
    const make = (count: number, part: number): Split => {
      const g = generateSynthetic({count, classes: s.classes, size, noise: s.noise, seed: deriveSeed(s.seed, part)})
      return {images: g.images, labels: g.labels, count}
    }
    const train = make(Math.min(s.train, trainLimit), 1)
    const test = make(Math.min(s.test, testLimit), 2)
    const source = `synthetic (generated, seed ${s.seed}, noise ${s.noise})`
    log(`synthetic: ${train.count} train / ${test.count} test, ${s.classes} classes, ${size}×${size} (${((performance.now() - t0) / 1000).toFixed(2)} s)`)
    return {name, numClasses: s.classes, imageSize: size, classNames: Array.from({length: s.classes}, (_, i) => `class_${i}`), train, test, source}
  }

  const located = locateDataset(name, [opts.dataDir, cfg.data_dir])
  const isGrey = name === 'mnist' || name === 'fashion_mnist'
  const mode: ResizeMode = cfg.resize ?? (isGrey && size >= info.nativeSize ? 'pad' : 'pil_bilinear')
  const [trainRaw, testRaw] = await Promise.all([
    loadRaw(name, located.paths, info, cfg, 'train', trainLimit),
    loadRaw(name, located.paths, info, cfg, 'test', testLimit),
  ])
  const train: Split = {images: fit(trainRaw, size, mode, located.dir), labels: trainRaw.labels, count: trainRaw.count}
  const test: Split = {images: fit(testRaw, size, mode, located.dir), labels: testRaw.labels, count: testRaw.count}
  const official = OFFICIAL_COUNTS[name]
  if (official && cfg.train_limit === undefined && train.count !== official.train) log(`note: ${name} train split has ${train.count} examples (the official release has ${official.train})`)
  if (official && cfg.test_limit === undefined && test.count !== official.test) log(`note: ${name} test split has ${test.count} examples (the official release has ${official.test})`)
  const how = trainRaw.size === size ? '' : `, ${trainRaw.size}→${size} by ${RESIZE_WORDS[mode]}`
  log(`${name}: ${train.count} train / ${test.count} test from ${located.dir}${how} (${((performance.now() - t0) / 1000).toFixed(2)} s)`)
  const coarse = name === 'cifar100' && cfg.label_mode === 'coarse'
  return {
    name,
    numClasses: coarse ? 20 : info.numClasses,
    imageSize: size,
    classNames: coarse ? [...(info.coarseClassNames ?? [])] : [...info.classNames],
    train,
    test,
    source: located.dir,
  }
}

