/**
 * `image_folder`: your own images, laid out as torchvision's `ImageFolder` reads them.
 *
 *   root/train/<class>/*.png|jpg   and   root/test/<class>/...   (or root/val/<class>/...)
 *   root/<class>/...  (or root/train/<class>/...) with `test_split: 0.2`: a seeded, stratified
 *                     part of every class becomes the test split
 *
 * Class names are the folder names, sorted; files are taken in `ImageFolder`'s order (folders
 * sorted, files sorted, subfolders included); hidden folders and non-image files are ignored.
 * Each image is decoded (images.ts), centre-cropped to a square when it is not one, brought to
 * `image_size` with the project's resizing (image-size.ts) and stored as uint8. Decoding streams through a
 * few files at a time into the final arrays (memory: the uint8 dataset plus a few images), with a
 * progress bar, and the result is cached on disk (image-cache.ts) so that the next run only reads
 * and hashes the files.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {basename, join, relative, resolve} from 'node:path'

import cliProgress from 'cli-progress'
import {registerDataset, type DataOptions, type DatasetContext, type DatasetSplit, type LoadedData} from '../registry/registry.js'
import {DataError} from './errors.js'
import {decodedToImageSize, resizeMode, type ResizeMode} from './image-size.js'
import {byCodePoint, imageFilesUnder} from './image-files.js'
import {isFolder} from '../fs/is-folder.js'
import {CacheKey, contentHash, readCache, writeCache, type BadImage} from './image-cache.js'
import {decodeImage, DECODER_VERSION, IMAGE_EXTENSIONS, imageDimensions, type DecodedImage} from './images.js'
import {userCacheDir} from './locate.js'
import {Rng} from './random.js'
import {heldOut} from './split.js'

export interface ImageFolderParams {
  root: string
  test_split?: number
  split_seed: number
  on_bad_image: 'skip' | 'fail'
  cache: boolean
}

type Options = DataOptions & ImageFolderParams

/** One image file and its class index. */
interface Item {
  path: string
  label: number
}

export interface FolderLayout {
  classes: string[]
  train: Item[]
  test: Item[]
  /** Where each split came from, for messages. */
  trainFrom: string
  testFrom: string
  /** Files skipped because they are not images (by extension). */
  ignored: number
  notes: string[]
}

/** Labels are stored as bytes. */
const MAX_CLASSES = 256
/** Files decoded at once. */
const IN_FLIGHT = 4
/** Seconds between plain progress lines when there is no bar. */
const PLAIN_EVERY_S = 5

/** Sub-folders of `dir` that are not hidden, sorted as Python sorts (symbolic links followed). */
function subfolders(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && isFolder(join(dir, n)))
    .sort(byCodePoint)
}

/** Seeded, stratified hold-out (split.ts): round(n · fraction) of each class (at most n − 1), the rest kept in order. */
function splitClass(files: string[], fraction: number, seed: number, label: number): {train: string[]; test: string[]} {
  const held = heldOut(files.length, fraction, new Rng(seed, label))
  return {train: files.filter((_, i) => !held[i]), test: files.filter((_, i) => held[i])}
}

const EXTENSIONS = IMAGE_EXTENSIONS.join(', ')

/** Reads the folder structure (no image is opened): classes, files per split, and what was ignored. */
export function scanImageFolder(p: Pick<ImageFolderParams, 'root' | 'test_split' | 'split_seed'>): FolderLayout {
  const root = resolve(p.root)
  if (!isFolder(root)) throw new DataError(`data.root ${root} is not a folder; give the folder that holds train/ and test/ (or val/), or one folder per class with data.test_split.`)
  const hasTrain = isFolder(join(root, 'train'))
  const testDir = ['test', 'val'].map((n) => join(root, n)).find(isFolder)
  const notes: string[] = []
  const base = hasTrain ? join(root, 'train') : root
  const classes = subfolders(base)
  if (classes.length === 0) {
    throw new DataError(`No class folders in ${base}: image_folder needs one folder per class holding its images (${EXTENSIONS}), under ${hasTrain ? base : `${join(root, 'train')} and ${join(root, 'test')}`}${hasTrain ? '' : ', or directly in it with data.test_split'}.`)
  }
  if (!hasTrain && testDir) {
    // Else test/ would be read as a class of its own (with data.test_split), or be said missing.
    throw new DataError(`${root} has ${basename(testDir)}/ but no train/: put the training images' class folders under ${join(root, 'train')} (beside ${basename(testDir)}/), or move ${basename(testDir)}/ away and set data.test_split to hold out part of each class.`)
  }
  if (p.test_split === undefined && !hasTrain) {
    throw new DataError(`${root} holds class folders (${classes.slice(0, 3).join(', ')}${classes.length > 3 ? ', ...' : ''}) but no train/ and test/ (or val/) folders: move them under train/ and test/, or set data.test_split (e.g. 0.2) to hold out part of each class as the test split (data.val_split holds out a validation split from the training images, not a test split).`)
  }
  if (p.test_split === undefined && !testDir) {
    throw new DataError(`${base} has no sibling test/ or val/ folder: add one (class folders with the held-out images), or set data.test_split (e.g. 0.2) to hold out part of each class as the test split.`)
  }
  if (classes.length > MAX_CLASSES) throw new DataError(`${base} has ${classes.length} class folders; image_folder supports at most ${MAX_CLASSES} classes.`)
  let ignored = 0
  const train: Item[] = []
  const test: Item[] = []
  classes.forEach((name, label) => {
    const found = imageFilesUnder(join(base, name))
    ignored += found.ignored
    if (found.files.length === 0) throw new DataError(`Class folder ${join(base, name)} has no images (${EXTENSIONS}); add some or remove the folder.`)
    if (p.test_split === undefined) {
      train.push(...found.files.map((path) => ({path, label})))
      return
    }
    const parts = splitClass(found.files, p.test_split, p.split_seed, label)
    if (parts.test.length === 0) notes.push(`class ${name} has ${found.files.length} image(s): none held out`)
    train.push(...parts.train.map((path) => ({path, label})))
    test.push(...parts.test.map((path) => ({path, label})))
  })
  if (p.test_split === undefined && testDir) {
    for (const name of subfolders(testDir)) {
      const label = classes.indexOf(name)
      if (label < 0) throw new DataError(`${join(testDir, name)} is a class folder that ${base} does not have; the test classes must be training classes (folder names match exactly).`)
      const found = imageFilesUnder(join(testDir, name))
      ignored += found.ignored
      test.push(...found.files.map((path) => ({path, label})))
    }
    if (test.length === 0) throw new DataError(`${testDir} holds no images in class folders named like those of ${base}.`)
  } else if (testDir && hasTrain) {
    notes.push(`test_split holds out part of ${base}; ${testDir} is not used`)
  }
  if (p.test_split !== undefined && test.length === 0) {
    throw new DataError(`data.test_split ${p.test_split} holds out no image of ${base}: a class gives round(n · test_split) of its n images, at most n − 1, and every class here has too few; raise test_split, or add images.`)
  }
  const trainFrom = p.test_split === undefined ? base : `${base} (1 − test_split ${p.test_split}, split seed ${p.split_seed})`
  const testFrom = p.test_split === undefined ? testDir! : `${base} (test_split ${p.test_split}, split seed ${p.split_seed})`
  return {classes, train, test, trainFrom, testFrom, ignored, notes}
}

/** At most `limit` items, class by class in turn (the first of every class, then the second, ...), kept in folder order. */
function balancedLimit(items: Item[], limit: number): Item[] {
  if (items.length <= limit) return items
  const rank = new Map<number, number>()
  const keyed = items.map((item, i) => {
    const r = rank.get(item.label) ?? 0
    rank.set(item.label, r + 1)
    return {i, r, label: item.label}
  })
  keyed.sort((a, b) => a.r - b.r || a.label - b.label)
  const keep = new Set(keyed.slice(0, limit).map((k) => k.i))
  return items.filter((_, i) => keep.has(i))
}

/** The one square side every image has (image_size when the spec gives none), else a DataError saying to set image_size. */
function commonSide(p: Options): number {
  const layout = scanImageFolder(p)
  let first: {path: string; width: number; height: number} | undefined
  for (const item of [...layout.train, ...layout.test]) {
    let d: {width: number; height: number}
    try {
      d = imageDimensions(item.path)
    } catch (error) {
      if (p.on_bad_image === 'skip') continue
      throw new DataError(`${(error as Error).message.replace(/\.$/, '')}; fix or remove the file, or set data.on_bad_image: skip.`)
    }
    if (!first) {
      first = {path: item.path, ...d}
      if (d.width !== d.height) throw new DataError(`The images of ${p.root} are not square (${item.path} is ${d.width}×${d.height}): set data.image_size; each image is then centre-cropped to a square and resized.`)
    } else if (d.width !== first.width || d.height !== first.height) {
      throw new DataError(`The images of ${p.root} have different sizes (${first.path} is ${first.width}×${first.height}, ${item.path} is ${d.width}×${d.height}): set data.image_size to resize them all to one size.`)
    }
  }
  if (!first) throw new DataError(`No readable image in ${p.root}.`)
  return first.width
}

/** A file's bytes, or none when it cannot be read (it then fails to decode, naming the reason). */
function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path)
  } catch {
    return new Uint8Array(0)
  }
}

/**
 * What the resizing makes of a fixed image (down- and upscaling to `size`), for the cache key: a
 * change to the project's resize gives another key instead of stale pixels.
 */
function resizeFingerprint(size: number, mode: ResizeMode): string {
  const rng = new Rng(0x1f)
  return [2 * size + 3, Math.max(1, size - 1)]
    .filter((side) => mode !== 'pad' || side <= size)
    .map((side) => {
      const data = Uint8Array.from({length: side * side * 3}, () => rng.int(256))
      return contentHash(decodedToImageSize({data, width: side, height: side}, size, mode, 'probe'))
    })
    .join(',')
}

/** Runs `fn` over `items` with at most `limit` calls in flight, in order of start; the first failure stops the others. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  let failed = false
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++
      try {
        await fn(items[i], i)
      } catch (error) {
        failed = true
        throw error
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
}

/** Counts decoded files on a cli-progress bar, or in a plain line every few seconds. */
function progressReporter(total: number, ctx: DatasetContext): {tick(): void; stop(): void} {
  if (ctx.bars) {
    const bar = new cliProgress.SingleBar({format: 'image_folder |{bar}| {value}/{total} images | {eta_formatted} left', stream: process.stderr, hideCursor: true}, cliProgress.Presets.shades_classic)
    bar.start(total, 0)
    return {tick: () => bar.increment(), stop: () => bar.stop()}
  }
  let done = 0
  let last = performance.now()
  return {
    tick() {
      done++
      if (performance.now() - last > PLAIN_EVERY_S * 1000) {
        last = performance.now()
        ctx.log(`image_folder: decoded ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} images (${Math.floor((100 * done) / total)}%)`)
      }
    },
    stop() {},
  }
}

/** Keeps the examples not in `bad` (indices into the split), moving them down in place. */
function compact(split: DatasetSplit, bad: Set<number>, px: number): DatasetSplit {
  if (bad.size === 0) return split
  let k = 0
  for (let i = 0; i < split.count; i++) {
    if (bad.has(i)) continue
    if (k !== i) {
      split.images.copyWithin(k * px, i * px, (i + 1) * px)
      split.labels[k] = split.labels[i]
    }
    k++
  }
  return {images: split.images.slice(0, k * px), labels: split.labels.slice(0, k), count: k}
}

async function loadImageFolder(p: Options, ctx: DatasetContext): Promise<LoadedData> {
  const t0 = performance.now()
  const root = resolve(p.root)
  const size = p.image_size
  const mode = resizeMode('image_folder', {image_size: size, resize: p.resize})
  const layout = scanImageFolder(p)
  const splits = {train: balancedLimit(layout.train, ctx.limits.train), test: balancedLimit(layout.test, ctx.limits.test)}
  const all = [...splits.train.map((item) => ({...item, split: 'train' as const})), ...splits.test.map((item) => ({...item, split: 'test' as const}))]
  for (const note of layout.notes) ctx.log(`note: image_folder: ${note}`)
  if (layout.ignored > 0) ctx.log(`note: image_folder: ignored ${layout.ignored} file(s) that are not images (${EXTENSIONS})`)
  const px = size * size * 3
  const summary = (how: string, skipped: number) =>
    `image_folder: ${layout.classes.length} classes, ${all.length - skipped} images at ${size}×${size} from ${root} ${how} (${((performance.now() - t0) / 1000).toFixed(2)} s)`
  const failOn = (bad: BadImage): never => {
    throw new DataError(`Cannot use image ${join(root, bad.path)}: ${bad.reason}; fix or remove the file, or set data.on_bad_image: skip.`)
  }
  const reportSkipped = (skipped: BadImage[]) => {
    if (skipped.length === 0) return
    if (p.on_bad_image === 'fail') failOn(skipped[0])
    ctx.log(`image_folder: skipped ${skipped.length} unreadable image(s) (on_bad_image: skip), e.g. ${join(root, skipped[0].path)}: ${skipped[0].reason}`)
  }

  // The cache key covers every file's contents, so the files are read (not decoded) first.
  let cacheFile: string | undefined
  if (p.cache) {
    const key = new CacheKey({size, mode, crop: 'centre', resize: resizeFingerprint(size, mode), classes: layout.classes, decoder: DECODER_VERSION})
    // Synchronous reads: several times faster than promise-based ones for many small files.
    for (const item of all) key.file(item.split, item.label, relative(root, item.path), contentHash(readBytes(item.path)))
    cacheFile = join(userCacheDir(), 'image_folder', `${basename(root)}-${key.digest().slice(0, 32)}.bin`)
    const cached = await readCache(cacheFile, size)
    if (cached) {
      reportSkipped(cached.skipped)
      ctx.log(summary('(decoded images from the cache)', cached.skipped.length))
      return {train: cached.train, test: cached.test, classNames: layout.classes, source: root}
    }
  }

  const out = {
    train: {images: new Uint8Array(splits.train.length * px), labels: Uint8Array.from(splits.train, (i) => i.label), count: splits.train.length},
    test: {images: new Uint8Array(splits.test.length * px), labels: Uint8Array.from(splits.test, (i) => i.label), count: splits.test.length},
  }
  const bad = {train: new Set<number>(), test: new Set<number>()}
  const skipped: BadImage[] = []
  const progress = progressReporter(all.length, ctx)
  try {
    await eachLimited(all, IN_FLIGHT, async (item, i) => {
      const index = item.split === 'train' ? i : i - splits.train.length
      let decoded: DecodedImage
      try {
        decoded = await decodeImage(new Uint8Array(readFileSync(item.path)), item.path)
      } catch (error) {
        const reason = (error as Error).message.replace(/\.$/, '').replace(`Cannot decode image ${item.path}: `, '')
        const found = {path: relative(root, item.path), reason}
        if (p.on_bad_image === 'fail') failOn(found)
        skipped.push(found)
        bad[item.split].add(index)
        progress.tick()
        return
      }
      out[item.split].images.set(decodedToImageSize(decoded, size, mode, item.path), index * px)
      progress.tick()
    })
  } finally {
    progress.stop()
  }
  const train = compact(out.train, bad.train, px)
  const test = compact(out.test, bad.test, px)
  if (train.count === 0 || test.count === 0) throw new DataError(`No readable image left in the ${train.count === 0 ? 'training' : 'test'} split of ${root}.`)
  skipped.sort((a, b) => (a.path < b.path ? -1 : 1))
  reportSkipped(skipped)
  if (cacheFile) {
    const failed = await writeCache(cacheFile, size, {train, test, skipped})
    if (failed) ctx.log(`note: image_folder: could not write the decoded-image cache ${cacheFile} (${failed}); the next run decodes again`)
  }
  ctx.log(summary(`(train: ${layout.trainFrom}; test: ${layout.testFrom})`, skipped.length))
  return {train, test, classNames: layout.classes, source: root}
}

registerDataset<ImageFolderParams>({
  name: 'image_folder',
  summary: 'Your own images: root/train/<class>/*.png|jpg and root/test/<class>/... (or val/), or class folders split by test_split; decoded once and cached as uint8.',
  paper: 'torchvision.datasets.ImageFolder',
  pathParams: ['root'],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['root'],
    properties: {
      root: {type: 'string', description: 'folder with train/ and test/ (or val/) of class folders, or of class folders only with test_split; relative to the spec file (~/: the home folder)'},
      test_split: {type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'hold out this fraction of every class (seeded, stratified) as the test split (data.val_split then holds a validation split out of the rest)'},
      split_seed: {type: 'integer', minimum: 0, default: 0, description: 'seed of the test_split hold-out (independent of the training seed)'},
      on_bad_image: {enum: ['fail', 'skip'], default: 'fail', description: 'an unreadable or corrupt image: stop and name it, or skip it (the count is printed)'},
      cache: {type: 'boolean', default: true, description: 'keep the decoded uint8 images on disk (user cache), keyed by file contents and size'},
    },
  },
  classNames: (p) => scanImageFolder(p).classes,
  nativeImageSize: commonSide,
  load: loadImageFolder,
})
