/**
 * The datasets published in an official binary format — CIFAR-10, CIFAR-100, STL-10,
 * Fashion-MNIST, MNIST — as registry entries: found on disk (locate.ts), decoded (formats.ts),
 * brought to `image_size` once (image-size.ts) and kept as uint8 NHWC RGB.
 *
 * Sizing: a dataset whose native size differs from `image_size` is resized as Pillow's
 * `Image.resize(BILINEAR)` does (`pil_bilinear`, the default: antialiased when downscaling, as
 * torchvision's `Resize` on PIL images; STL-10 96→32 for the paper's ViT tables), or by the 4-tap
 * bilinear without antialiasing (`bilinear`), except MNIST and Fashion-MNIST, whose 28×28 images
 * are by default zero-padded by 2 px on each side to 32×32 (either resize stretches them instead).
 * Greyscale images are replicated into 3 channels.
 */
import {readFile, stat} from 'node:fs/promises'

import {registerDataset, type DataOptions, type DatasetContext, type LoadedData} from '../registry/registry.js'
import {DATASETS, OFFICIAL_COUNTS, type DatasetInfo} from './catalog.js'
import {DataError} from './errors.js'
import {toImageSize, resizeMode, RESIZE_WORDS} from './image-size.js'
import {CIFAR10_FORMAT, cifar100Format, decodeCifarFiles, decodeIdxPair, decodeStl10, maybeGunzip, type CifarFormat, type RawImages} from './formats.js'
import {locateDataset} from './locate.js'
import {labelArray} from './labels.js'

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

async function loadRaw(name: string, paths: Record<string, string>, info: DatasetInfo, cfg: DataOptions, split: 'train' | 'test', limit: number): Promise<RawImages> {
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

/** `label_mode: coarse` is CIFAR-100's 20 superclasses; every other dataset has one set of labels. */
function checkLabelMode(name: string, cfg: DataOptions): void {
  if (cfg.label_mode !== undefined && cfg.label_mode !== 'fine' && cfg.label_mode !== 'coarse') {
    throw new DataError(`data.label_mode must be 'fine' or 'coarse'; got '${cfg.label_mode}'.`)
  }
  if (cfg.label_mode === 'coarse' && name !== 'cifar100') {
    throw new DataError(`data.label_mode: coarse applies to cifar100 only (its 20 superclasses); remove it for ${name}.`)
  }
}

function classNames(info: DatasetInfo, cfg: DataOptions): string[] {
  checkLabelMode(info.name, cfg)
  return info.name === 'cifar100' && cfg.label_mode === 'coarse' ? [...(info.coarseClassNames ?? [])] : [...info.classNames]
}

async function loadOfficial(info: DatasetInfo, cfg: DataOptions, ctx: DatasetContext): Promise<LoadedData> {
  const name = info.name
  const size = cfg.image_size
  const names = classNames(info, cfg)
  const t0 = performance.now()
  // No training images wanted (an evaluation of the test split, load.ts `withoutTrain`): only the test split's files are needed, and read.
  const withoutTrain = ctx.limits.train === 0
  const located = locateDataset(name, [ctx.dataDir, cfg.data_dir], withoutTrain ? 'test' : 'train+test')
  const mode = resizeMode(name, cfg)
  const [trainRaw, testRaw] = await Promise.all([
    withoutTrain ? undefined : loadRaw(name, located.paths, info, cfg, 'train', ctx.limits.train),
    loadRaw(name, located.paths, info, cfg, 'test', ctx.limits.test),
  ])
  const train = trainRaw ? {images: toImageSize(trainRaw, size, mode, located.dir), labels: trainRaw.labels, count: trainRaw.count} : {images: new Uint8Array(0), labels: labelArray(names.length, 0), count: 0}
  const test = {images: toImageSize(testRaw, size, mode, located.dir), labels: testRaw.labels, count: testRaw.count}
  const official = OFFICIAL_COUNTS[name]
  if (official && cfg.train_limit === undefined && train.count !== official.train) ctx.log(`note: ${name} train split has ${train.count} examples (the official release has ${official.train})`)
  if (official && cfg.test_limit === undefined && test.count !== official.test) ctx.log(`note: ${name} test split has ${test.count} examples (the official release has ${official.test})`)
  const how = testRaw.size === size ? '' : `, ${testRaw.size}→${size} by ${RESIZE_WORDS[mode]}`
  ctx.log(`${name}: ${train.count} train / ${test.count} test from ${located.dir}${how} (${((performance.now() - t0) / 1000).toFixed(2)} s)`)
  return {train, test, classNames: names, source: located.dir}
}

for (const name of ['cifar10', 'cifar100', 'stl10', 'fashion_mnist', 'mnist']) {
  const info = DATASETS[name]
  registerDataset<Record<string, never>>({
    name,
    summary: info.summary,
    paper: info.homepage,
    classes: info.numClasses,
    nativeSize: info.nativeSize,
    schema: {type: 'object', additionalProperties: false, properties: {}},
    classNames: (cfg) => classNames(info, cfg),
    locate: (cfg, ctx) => locateDataset(name, [ctx.dataDir, cfg.data_dir]).dir,
    load: (cfg, ctx) => loadOfficial(info, cfg, ctx),
  })
}
