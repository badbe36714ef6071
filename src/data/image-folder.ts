/**
 * `image_folder`: your own images, laid out as torchvision's `ImageFolder` reads them.
 *
 *   root/train/<class>/*.png|jpg   and   root/test/<class>/...   (or root/val/<class>/...)
 *   root/train/, root/val/ and root/test/: the standard layout; val/ is then the validation split
 *                     (what data.val_split would otherwise hold out of train/, which it refuses)
 *                     and test/ the test split
 *   root/<class>/...  (or root/train/<class>/...) with `test_split: 0.2`: a seeded, stratified
 *                     part of every class's readable images becomes the test split
 *   root/test/<class>/... alone (and root/val/<class>/...): a held-out folder, read only where no
 *                     training images are wanted (`mixture eval` of its test split: the dataset
 *                     is asked for none, limits.train 0); its classes are its class folders, which
 *                     the caller matches to the run's by name (load.ts relabelByName)
 *
 * An explicit data directory (`--data-dir`, else `data.data_dir`) replaces `root`: the same spec,
 * or a run's `mixture eval`, then reads another folder of the same classes.
 * Class names are the folder names, sorted; at least 2 and at most 65,536 classes (labels are
 * bytes up to 256 classes, as they always were, and 16 bits beyond: labels.ts); every training
 * class needs a readable image. Files are taken in `ImageFolder`'s order (folders
 * sorted, files sorted, subfolders included); hidden folders and non-image files are ignored.
 * Each image is decoded (images.ts), centre-cropped to a square when it is not one, brought to
 * `image_size` with the project's resizing (image-size.ts) and stored as uint8. Decoding streams through a
 * few files at a time into the final arrays (memory: the uint8 dataset plus a few images), with a
 * progress bar, and the result is cached on disk (image-cache.ts) so that the next run only reads
 * and hashes the files. With `test_split` the whole folder is decoded (and cached) first and the test
 * split held out of the images that decode, so that an unreadable file skipped (`on_bad_image: skip`)
 * leaves the split of the others as it is in a clean copy; `train_limit`/`test_limit` apply after
 * that, and the two splits are copied out of the folder's images (memory: twice the dataset, briefly).
 */
import {readdirSync, readFileSync} from 'node:fs'
import {basename, join, relative, resolve, sep} from 'node:path'

import cliProgress from 'cli-progress'
import {registerDataset, type DataOptions, type DatasetContext, type DatasetSplit, type LoadedData} from '../registry/registry.js'
import {DataError} from './errors.js'
import {decodedToImageSize, resizeMode, type ResizeMode} from './image-size.js'
import {byCodePoint, imageFilesUnder} from './image-files.js'
import {isFolder} from '../fs/is-folder.js'
import {CacheKey, contentHash, imageCacheDir, readCache, writeCache, type BadImage} from './image-cache.js'
import {decodeImage, DECODER_VERSION, IMAGE_EXTENSIONS, imageDimensions, type DecodedImage} from './images.js'
import {labelArray, MAX_CLASSES} from './labels.js'
import {MIN_CLASSES} from './load.js'
import {Rng} from './random.js'
import {heldOutCount, stratifiedHoldOut, subset} from './split.js'

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

/** The folder the images are read from, and which setting named it (for messages). */
interface ImageRoot {
  root: string
  from: '--data-dir' | 'data.data_dir' | 'data.root'
}

export interface FolderLayout {
  classes: string[]
  /** The folder holding the training class folders: root/train, or root itself; none in a held-out folder (test/ alone). */
  trainDir?: string
  /**
   * Whether data.test_split holds the test split out of `train` (class folders alone): `train` then
   * holds every image of `trainDir` and `test` none, the test split being held out of the images
   * that decode (`holdOutTest`). Not in a held-out folder, whose test/ is the test split.
   */
  testSplitHoldOut: boolean
  /** The image files of each split (see testSplitHoldOut). */
  train: Item[]
  /** The validation split: val/ beside test/ (else empty). */
  val: Item[]
  test: Item[]
  /** Where each split comes from, for messages (`val` only with a val/ folder beside test/). */
  from: {train: string; val?: string; test: string}
  /** Files skipped because they are not images (by extension). */
  ignored: number
  notes: string[]
}

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

const EXTENSIONS = IMAGE_EXTENSIONS.join(', ')

/**
 * Where the images are: an explicit data directory replaces data.root — `dataDir` (the one
 * `loadDataset` and `locate` are given: --data-dir, else data.data_dir) or the spec's data.data_dir —
 * so that an explicit folder is used or refused, never silently passed over for data.root.
 */
function imageRoot(p: Pick<Options, 'root' | 'data_dir'>, dataDir?: string): ImageRoot {
  if (dataDir !== undefined && (p.data_dir === undefined || resolve(dataDir) !== resolve(p.data_dir))) return {root: resolve(dataDir), from: '--data-dir'}
  if (p.data_dir !== undefined) return {root: resolve(p.data_dir), from: 'data.data_dir'}
  return {root: resolve(p.root), from: 'data.root'}
}

/** Folder names for a message: the first three, and '...' where there are more. */
function someNames(names: string[]): string {
  return `${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}`
}

/**
 * Reads the folder structure (no image is opened): classes, files per split, and what was ignored.
 * `forTraining` false (no training images are wanted: an evaluation) also takes a held-out folder,
 * test/ (and val/) without train/ (`heldOutOnly`); everything else is read as for training.
 */
export function scanImageFolder(p: Pick<Options, 'test_split' | 'split_seed' | 'val_split'>, {root, from}: ImageRoot, forTraining = true): FolderLayout {
  if (!isFolder(root)) {
    const layouts = `the folder that holds train/ and test/ (or val/)${forTraining ? '' : ', or test/ alone'}, or one folder per class with data.test_split`
    // The spec's own root gone is most often a folder moved or renamed since the spec (or the run) was written.
    const moved = from === 'data.root' ? ` If the images moved, give the folder they are in now with --data-dir <folder>, which replaces data.root (mixture run and mixture eval take it), or correct data.root in the spec.` : ''
    throw new DataError(`${from} ${root} is not a folder; give ${layouts}.${moved}`)
  }
  const hasTrain = isFolder(join(root, 'train'))
  const named = (n: string) => (isFolder(join(root, n)) ? join(root, n) : undefined)
  const testFolder = named('test')
  const valFolder = named('val')
  const testDir = testFolder ?? valFolder
  if (!forTraining && !hasTrain && testDir) return heldOutOnly(p, root, testFolder, valFolder)
  // No training images wanted, a folder with train/ beside test/ (or val/), and no data.test_split (which would hold the test
  // split out of train/ again): test/ (and val/) are read as a held-out folder, whatever train/ holds — their classes are
  // matched to the run's by name, as those of test/ alone, and give the same labels for the run's own folder.
  if (!forTraining && hasTrain && testDir && p.test_split === undefined) return heldOutOnly(p, root, testFolder, valFolder, true)
  const notes: string[] = []
  const base = hasTrain ? join(root, 'train') : root
  const classes = subfolders(base)
  if (classes.length === 0) {
    throw new DataError(`No class folders in ${base}: image_folder needs one folder per class holding its images (${EXTENSIONS}), under ${hasTrain ? base : `${join(root, 'train')} and ${join(root, 'test')}`}${hasTrain ? '' : `, or directly in it with data.test_split${forTraining ? '' : `, or (to evaluate on them) under ${join(root, 'test')} alone`}`}.`)
  }
  if (!hasTrain && testDir) {
    // Else test/ would be read as a class of its own (with data.test_split), or be said missing.
    throw new DataError(`${root} has ${basename(testDir)}/ but no train/: put the training images' class folders under ${join(root, 'train')} (beside ${basename(testDir)}/), or move ${basename(testDir)}/ away and set data.test_split to hold out part of each class.`)
  }
  if (p.test_split === undefined && !hasTrain && !forTraining) {
    // A run trained with data.test_split reads class folders as its root, holding out its test split again; for
    // any other run "all of them are the test split" would read the same folder another way: test/ says it.
    throw new DataError(`${root} holds class folders (${someNames(classes)}) but no test/ folder: to evaluate a run on these images, move the class folders under ${join(root, 'test')} (${join(root, 'test', '<class>')}/...), the layout of a held-out folder (with val/<class>/ beside it for --split val). Class folders alone are read only by a run trained with data.test_split, which holds out the same test split from them again.`)
  }
  if (p.test_split === undefined && !hasTrain) {
    throw new DataError(`${root} holds class folders (${someNames(classes)}) but no train/ and test/ (or val/) folders: move them under train/ and test/, or set data.test_split (e.g. 0.2) to hold out part of each class as the test split (data.val_split holds out a validation split from the training images, not a test split).`)
  }
  if (p.test_split === undefined && !testDir) {
    throw new DataError(`${base} has no sibling test/ or val/ folder: add one (class folders with the held-out images), or set data.test_split (e.g. 0.2) to hold out part of each class as the test split.`)
  }
  if (classes.length < MIN_CLASSES && forTraining) {
    throw new DataError(`${base} has one class folder (${classes[0]}), and image_folder needs at least ${MIN_CLASSES} classes to train a classifier: add a folder of images for each other class beside it (${join(base, '<class>')}), or give the folder whose class folders hold all the classes.`)
  }
  if (classes.length > MAX_CLASSES) {
    throw new DataError(`${base} has ${classes.length.toLocaleString('en-US')} class folders, and image_folder supports at most ${MAX_CLASSES.toLocaleString('en-US')} classes (labels are 16 bits): merge classes, or move some class folders out of ${base}.`)
  }
  // Beside test/, val/ is the validation split (train/val/test); alone it is the test split.
  const valDir = p.test_split === undefined && testFolder ? valFolder : undefined
  if (valDir && p.val_split) {
    throw new DataError(`${root} has val/ beside test/, which makes ${valDir} the validation split, and the spec also sets data.val_split ${p.val_split} (a validation split held out of ${base}): use one or the other — remove data.val_split to validate on val/, or move val/ out of ${root} to hold the validation split out of train/.`)
  }
  let ignored = 0
  const train: Item[] = []
  let held = 0
  classes.forEach((name, label) => {
    const found = imageFilesUnder(join(base, name))
    ignored += found.ignored
    if (found.files.length === 0) throw new DataError(`Class folder ${join(base, name)} has no images (${EXTENSIONS}); add some or remove the folder.`)
    train.push(...found.files.map((path) => ({path, label})))
    if (p.test_split !== undefined) held += heldOutCount(found.files.length, p.test_split)
  })
  /** The images of a held-out folder (test/ or val/), whose class folders must be training classes. */
  const heldOutFolder = (dir: string, what: string): Item[] => {
    const found = heldOutImages(dir, classes, (name) => `${join(dir, name)} is a class folder that ${base} does not have; the ${what} classes must be training classes (folder names match exactly).`)
    ignored += found.ignored
    if (found.items.length === 0) throw new DataError(`${dir} holds no images in class folders named like those of ${base}.`)
    return found.items
  }
  if (p.test_split === undefined) {
    const test = heldOutFolder(testDir!, 'test')
    const val = valDir ? heldOutFolder(valDir, 'validation') : []
    return {classes, trainDir: base, testSplitHoldOut: false, train, val, test, from: {train: base, ...(valDir ? {val: valDir} : {}), test: testDir!}, ignored, notes}
  }
  const unused = [testFolder, valFolder].filter((d): d is string => d !== undefined)
  if (unused.length > 0) notes.push(`test_split holds out part of ${base}; ${unused.join(' and ')} ${unused.length > 1 ? 'are' : 'is'} not used`)
  if (held === 0) {
    throw new DataError(`data.test_split ${p.test_split} holds out no image of ${base}: a class gives round(n · test_split) of its n images, at most n − 1, and every class here has too few; raise test_split, or add images.`)
  }
  const how = `test_split ${p.test_split}, split seed ${p.split_seed}`
  return {classes, trainDir: base, testSplitHoldOut: true, train, val: [], test: [], from: {train: `${base} (1 − ${how})`, test: `${base} (${how})`}, ignored, notes}
}

/** The image files of each class folder of `dir`, labelled by its place in `classes`; a DataError (`unknown`'s words) for a folder not there. */
function heldOutImages(dir: string, classes: string[], unknown: (name: string) => string): {items: Item[]; ignored: number} {
  const labels = new Map(classes.map((name, label) => [name, label]))
  const items: Item[] = []
  let ignored = 0
  for (const name of subfolders(dir)) {
    const label = labels.get(name)
    if (label === undefined) throw new DataError(unknown(name))
    const found = imageFilesUnder(join(dir, name))
    ignored += found.ignored
    items.push(...found.files.map((path) => ({path, label})))
  }
  return {items, ignored}
}

/**
 * A held-out folder, read for an evaluation: root/test/<class>/ is the test split (and root/val/<class>/
 * beside it the validation split; val/ alone is the test split, as beside train/). Its classes are
 * its class folders' names (test/'s and val/'s together), sorted; one is enough, since the outputs
 * they are matched to by name are the run's. No training images; data.test_split is not used: the
 * folder says which images are held out. `besideTrain`: root/train/ is there too, and not read
 * (its classes may be others: the held-out folders' are those evaluated).
 */
function heldOutOnly(p: Pick<Options, 'test_split'>, root: string, testFolder: string | undefined, valFolder: string | undefined, besideTrain = false): FolderLayout {
  const testDir = (testFolder ?? valFolder)!
  const valDir = testFolder ? valFolder : undefined
  const held = [testDir, ...(valDir ? [valDir] : []), ...(besideTrain ? [join(root, 'train')] : [])]
  const others = subfolders(root).filter((name) => !held.includes(join(root, name)))
  // Beside train/, other folders are not read, as training does not read them.
  if (others.length > 0 && !besideTrain) {
    // Class folders beside test/ would be silently left out of the evaluation, or be the training images of a folder missing train/.
    throw new DataError(`${root} has ${held.map((d) => `${basename(d)}/`).join(' and ')} but no train/, and other folders beside (${someNames(others)}): for an evaluation it is a held-out folder, whose images are all in ${join(testDir, '<class>')}/...; move the other folders into ${testDir} (if they are classes to evaluate on) or out of ${root}, or, to train on them, put them under ${join(root, 'train')}.`)
  }
  const classes = [...new Set([testDir, ...(valDir ? [valDir] : [])].flatMap(subfolders))].sort(byCodePoint)
  if (classes.length === 0) throw new DataError(`No class folders in ${testDir}: a held-out folder holds one folder per class with its images (${EXTENSIONS}), ${join(testDir, '<class>')}/..., named as the run's classes.`)
  if (classes.length > MAX_CLASSES) {
    throw new DataError(`${testDir} has ${classes.length.toLocaleString('en-US')} class folders, and image_folder supports at most ${MAX_CLASSES.toLocaleString('en-US')} classes (labels are 16 bits): move some class folders out of ${testDir}.`)
  }
  const split = (dir: string): {items: Item[]; ignored: number} => {
    const found = heldOutImages(dir, classes, (name) => `${join(dir, name)} appeared while ${root} was read; run again.`)
    if (found.items.length === 0) throw new DataError(`${dir} holds no images (${EXTENSIONS}) in its class folders (${someNames(subfolders(dir))}).`)
    return found
  }
  const test = split(testDir)
  const val = valDir ? split(valDir) : {items: [], ignored: 0}
  const notes = p.test_split === undefined ? [] : [`${testDir} is the test split (a held-out folder: data.test_split ${p.test_split} is not used)`]
  return {classes, testSplitHoldOut: false, train: [], val: val.items, test: test.items, from: {train: besideTrain ? `none (${join(root, 'train')} is not read)` : 'none (a held-out folder)', ...(valDir ? {val: valDir} : {}), test: testDir}, ignored: test.ignored + val.ignored, notes}
}

/** At most `limit` of `items`, class by class in turn (the first of every class, then the second, ...), kept in order. */
function balancedLimit<T>(items: T[], labelOf: (item: T) => number, limit: number): T[] {
  if (items.length <= limit) return items
  const rank = new Map<number, number>()
  const keyed = items.map((item, i) => {
    const label = labelOf(item)
    const r = rank.get(label) ?? 0
    rank.set(label, r + 1)
    return {i, r, label}
  })
  keyed.sort((a, b) => a.r - b.r || a.label - b.label)
  const keep = new Set(keyed.slice(0, limit).map((k) => k.i))
  return items.filter((_, i) => keep.has(i))
}

/** The one square side every image has (image_size when the spec gives none), else a DataError saying to set image_size. */
function commonSide(p: Options): number {
  const where = imageRoot(p)
  const {root} = where
  const layout = scanImageFolder(p, where)
  let first: {path: string; width: number; height: number} | undefined
  for (const item of [...layout.train, ...layout.val, ...layout.test]) {
    let d: {width: number; height: number}
    try {
      d = imageDimensions(item.path)
    } catch (error) {
      if (p.on_bad_image === 'skip') continue
      throw new DataError(`${(error as Error).message.replace(/\.$/, '')}; fix or remove the file, or set data.on_bad_image: skip.`)
    }
    if (!first) {
      first = {path: item.path, ...d}
      if (d.width !== d.height) throw new DataError(`The images of ${root} are not square (${item.path} is ${d.width}×${d.height}): set data.image_size; each image is then centre-cropped to a square and resized.`)
    } else if (d.width !== first.width || d.height !== first.height) {
      throw new DataError(`The images of ${root} have different sizes (${first.path} is ${first.width}×${first.height}, ${item.path} is ${d.width}×${d.height}): set data.image_size to resize them all to one size.`)
    }
  }
  if (!first) throw new DataError(`No readable image in ${root}.`)
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

/** The splits as decoded: each planned split without its unreadable files, and those files (sorted by path). */
interface Decoded {
  splits: Record<string, DatasetSplit>
  skipped: BadImage[]
  /** Read from the cache, not decoded. */
  cached: boolean
}

/**
 * Decodes the `planned` files of each split at `size` (or reads them from the cache, whose key
 * covers every file's split, label, path and contents): a file that does not decode stops the load
 * (on_bad_image: fail, through `failOn`) or is left out and listed.
 */
async function decodeSplits(planned: Record<string, Item[]>, p: Options, ctx: DatasetContext, root: string, classes: string[], failOn: (bad: BadImage) => never): Promise<Decoded> {
  const size = p.image_size
  const mode = resizeMode('image_folder', {image_size: size, resize: p.resize})
  const px = size * size * 3
  const all = Object.entries(planned).flatMap(([split, items]) => items.map((item, index) => ({...item, split, index})))

  // The cache key covers every file's contents, so the files are read (not decoded) first.
  let cacheFile: string | undefined
  if (p.cache) {
    const key = new CacheKey({size, mode, crop: 'centre', resize: resizeFingerprint(size, mode), classes, decoder: DECODER_VERSION})
    // Synchronous reads: several times faster than promise-based ones for many small files.
    for (const item of all) key.file(item.split, item.label, relative(root, item.path), contentHash(readBytes(item.path)))
    cacheFile = join(imageCacheDir(), `${basename(root)}-${key.digest().slice(0, 32)}.bin`)
    const cached = await readCache(cacheFile, size)
    if (cached && 'damaged' in cached) ctx.log(`note: image_folder: the decoded-image cache ${cacheFile} is damaged (${cached.damaged}): decoding the images again, and writing it anew`)
    else if (cached) return {...cached, cached: true}
  }

  const out: Record<string, DatasetSplit> = {}
  const bad: Record<string, Set<number>> = {}
  for (const [split, items] of Object.entries(planned)) {
    const labels = labelArray(classes.length, items.length)
    labels.set(items.map((item) => item.label))
    out[split] = {images: new Uint8Array(items.length * px), labels, count: items.length}
    bad[split] = new Set()
  }
  const skipped: BadImage[] = []
  const progress = progressReporter(all.length, ctx)
  try {
    await eachLimited(all, IN_FLIGHT, async (item) => {
      let decoded: DecodedImage
      try {
        decoded = await decodeImage(new Uint8Array(readFileSync(item.path)), item.path)
      } catch (error) {
        const reason = (error as Error).message.replace(/\.$/, '').replace(`Cannot decode image ${item.path}: `, '')
        const found = {path: relative(root, item.path), reason}
        if (p.on_bad_image === 'fail') failOn(found)
        skipped.push(found)
        bad[item.split].add(item.index)
        progress.tick()
        return
      }
      out[item.split].images.set(decodedToImageSize(decoded, size, mode, item.path), item.index * px)
      progress.tick()
    })
  } finally {
    progress.stop()
  }
  const splits = Object.fromEntries(Object.entries(out).map(([split, decoded]) => [split, compact(decoded, bad[split], px)]))
  skipped.sort((a, b) => (a.path < b.path ? -1 : 1))
  if (cacheFile) {
    const failed = await writeCache(cacheFile, size, {splits, skipped})
    if (failed) ctx.log(`note: image_folder: could not write the decoded-image cache ${cacheFile} (${failed}); the next run decodes again`)
  }
  return {splits, skipped, cached: false}
}

/**
 * A DataError for the first class whose training files were all skipped as unreadable: such a class
 * is an empty class folder (refused by the scan), not a class of no examples to train a head for.
 */
function refuseUnreadableClasses(planned: Item[], decoded: DatasetSplit, layout: FolderLayout, root: string, skipped: BadImage[]): void {
  const tried = new Map<number, number>()
  for (const item of planned) tried.set(item.label, (tried.get(item.label) ?? 0) + 1)
  const readable = new Set(decoded.labels.subarray(0, decoded.count))
  for (const [label, files] of tried) {
    if (readable.has(label)) continue
    const dir = join(layout.trainDir ?? root, layout.classes[label])
    const example = skipped.find((bad) => join(root, bad.path).startsWith(dir + sep))
    throw new DataError(`Class folder ${dir} has no images: ${files === 1 ? 'the one image file read from it is' : `all ${files} image files read from it are`} unreadable and were skipped (on_bad_image: skip)${example ? `, e.g. ${join(root, example.path)}: ${example.reason}` : ''}; fix or replace them, or remove the folder.`)
  }
}

/**
 * The test split held out of the decoded images of the folder (`pool`), class by class by the rule
 * of split.ts seeded by split_seed — of the readable images only, so that a skipped file leaves the
 * others' split as in a clean copy — then both parts limited to train_limit / test_limit.
 */
function holdOutTest(pool: DatasetSplit, p: Options, ctx: DatasetContext, classes: string[]): {train: DatasetSplit; test: DatasetSplit} {
  const {kept, held} = stratifiedHoldOut(pool.labels, pool.count, p.test_split!, (label) => new Rng(p.split_seed, label))
  const heldOf = new Set(Array.from(held, (i) => pool.labels[i]))
  const counts = new Map<number, number>()
  for (let i = 0; i < pool.count; i++) counts.set(pool.labels[i], (counts.get(pool.labels[i]) ?? 0) + 1)
  for (const [label, n] of counts) if (!heldOf.has(label)) ctx.log(`note: image_folder: class ${classes[label]} has ${n} image(s): none held out`)
  const px = p.image_size * p.image_size * 3
  const limited = (indices: Int32Array, limit: number) => Int32Array.from(balancedLimit(Array.from(indices), (i) => pool.labels[i], limit))
  return {train: subset(pool, limited(kept, ctx.limits.train), px), test: subset(pool, limited(held, ctx.limits.test), px)}
}

/** Where the images are (--data-dir, data.data_dir or data.root), checked as a load checks the folders: a sweep or dry run says a bad one before anything trains. */
function locateImageFolder(p: Options, ctx: {dataDir?: string}): string {
  const where = imageRoot(p, ctx.dataDir)
  scanImageFolder(p, where)
  return where.root
}

async function loadImageFolder(p: Options, ctx: DatasetContext): Promise<LoadedData> {
  const t0 = performance.now()
  const where = imageRoot(p, ctx.dataDir)
  const {root} = where
  const size = p.image_size
  // Asked for no training images (an evaluation, load.ts `withoutTrain`): a held-out folder, test/ alone, will do.
  const forTraining = ctx.limits.train > 0
  const layout = scanImageFolder(p, where, forTraining)
  if (where.from !== 'data.root') ctx.log(`image_folder: root ${root} (from ${where.from}, in place of data.root ${resolve(p.root)})`)
  for (const note of layout.notes) ctx.log(`note: image_folder: ${note}`)
  if (layout.ignored > 0) ctx.log(`note: image_folder: ignored ${layout.ignored} file(s) that are not images (${EXTENSIONS})`)
  if (layout.from.val) ctx.log(`image_folder: ${layout.from.val} is the validation split${forTraining ? ' (the best epoch is chosen on it)' : ''} and ${layout.from.test} the test split`)
  // With test_split the whole folder is decoded (`pool`) and split after; else each folder's files, limited first.
  const byLabel = (item: Item) => item.label
  const planned: Record<string, Item[]> = layout.testSplitHoldOut
    ? {pool: layout.train}
    : {train: balancedLimit(layout.train, byLabel, ctx.limits.train), ...(layout.val.length > 0 ? {val: balancedLimit(layout.val, byLabel, ctx.limits.test)} : {}), test: balancedLimit(layout.test, byLabel, ctx.limits.test)}
  const failOn = (bad: BadImage): never => {
    throw new DataError(`Cannot use image ${join(root, bad.path)}: ${bad.reason}; fix or remove the file, or set data.on_bad_image: skip.`)
  }
  const decoded = await decodeSplits(planned, p, ctx, root, layout.classes, failOn)
  const {skipped} = decoded
  if (skipped.length > 0) {
    if (p.on_bad_image === 'fail') failOn(skipped[0])
    ctx.log(`image_folder: skipped ${skipped.length} unreadable image(s) (on_bad_image: skip), e.g. ${join(root, skipped[0].path)}: ${skipped[0].reason}`)
  }
  const trainFiles = layout.testSplitHoldOut ? 'pool' : 'train'
  refuseUnreadableClasses(planned[trainFiles], decoded.splits[trainFiles], layout, root, skipped)
  const {train, val, test}: {train: DatasetSplit; val?: DatasetSplit; test: DatasetSplit} = layout.testSplitHoldOut ? holdOutTest(decoded.splits.pool, p, ctx, layout.classes) : {train: decoded.splits.train, val: decoded.splits.val, test: decoded.splits.test}
  for (const [name, split] of [['training', forTraining ? train : undefined], ['validation', val], ['test', test]] as const) {
    if (split?.count === 0) throw new DataError(`No readable image left in the ${name} split of ${root}.`)
  }
  const images = train.count + (val?.count ?? 0) + test.count
  const from = `${forTraining ? `train: ${layout.from.train}; ` : ''}${layout.from.val ? `val: ${layout.from.val}; ` : ''}test: ${layout.from.test}`
  const how = decoded.cached ? '(decoded images from the cache)' : `(${from})`
  ctx.log(`image_folder: ${layout.classes.length} classes, ${images} images at ${size}×${size} from ${root} ${how} (${((performance.now() - t0) / 1000).toFixed(2)} s)`)
  return {train, test, ...(val ? {val} : {}), classNames: layout.classes, source: root}
}

registerDataset<ImageFolderParams>({
  name: 'image_folder',
  summary: 'Your own images: root/train/<class>/*.png|jpg and root/test/<class>/... (or val/; with train/, val/ and test/, val/ is the validation split), or class folders split by test_split; decoded once and cached as uint8.',
  paper: 'torchvision.datasets.ImageFolder',
  pathParams: ['root'],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['root'],
    properties: {
      root: {type: 'string', description: 'folder with train/ and test/ (or val/) of class folders — with train/, val/ and test/, val/ is the validation split (instead of data.val_split) — or of class folders only with test_split; relative to the spec file (~/: the home folder); --data-dir or data.data_dir replaces it'},
      test_split: {type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'hold out this fraction of every class\'s readable images (seeded, stratified) as the test split (data.val_split then holds a validation split out of the rest)'},
      split_seed: {type: 'integer', minimum: 0, default: 0, description: 'seed of the test_split hold-out (independent of the training seed)'},
      on_bad_image: {enum: ['fail', 'skip'], default: 'fail', description: 'an unreadable or corrupt image: stop and name it, or skip it (the count is printed)'},
      cache: {type: 'boolean', default: true, description: 'keep the decoded uint8 images on disk (user cache), keyed by file contents and size'},
    },
  },
  classNames: (p) => scanImageFolder(p, imageRoot(p)).classes,
  hasValidationSplit: (p) => scanImageFolder(p, imageRoot(p)).from.val !== undefined,
  nativeImageSize: commonSide,
  locate: locateImageFolder,
  load: loadImageFolder,
})
