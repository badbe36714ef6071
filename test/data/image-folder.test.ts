import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {join} from 'node:path'

import {batches, DataError, loadDataset, type DataConfig} from '../../src/data/index.js'
import {toImageSize} from '../../src/data/image-size.js'
import {byCodePoint} from '../../src/data/image-files.js'
import {SpecError} from '../../src/config/errors.js'
import {REPO, resolveObject, writeSpec} from '../helpers.js'
import {folderPixel, isolatedTmp, rmrf, writeImageFolder, writePng} from './helpers.js'

let tmp: string
before(() => {
  tmp = isolatedTmp()
})
after(() => rmrf(tmp))

const S = 6

function folder(cfg: Partial<DataConfig> & {root: string}): DataConfig {
  return {dataset: 'image_folder', image_size: S, augment: false, ...cfg}
}

/** The S×S×3 pixels `writeImageFolder` wrote for image n of class k. */
function expected(k: number, n: number): number[] {
  const out: number[] = []
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) out.push(folderPixel(k, n, x, y, c))
  return out
}

async function rejectsData(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`)
    for (const re of patterns) assert.match(e.message, re)
    return true
  })
}

const cacheFiles = () => {
  try {
    return readdirSync(join(tmp, 'xdg-cache', 'mixture-models', 'datasets', 'image_folder'))
  } catch {
    return []
  }
}

describe('image_folder', () => {
  it('reads train/ and test/ class folders in ImageFolder order with the exact pixels', async () => {
    const root = await writeImageFolder(join(tmp, 'basic'), {train: [3, 2, 4], test: [1, 2, 1]})
    writeFileSync(join(root, 'train', 'class_0', 'notes.txt'), 'not an image')
    const lines: string[] = []
    const ds = await loadDataset(folder({root, cache: false}), {log: (m) => lines.push(m)})
    assert.deepEqual(ds.classNames, ['class_0', 'class_1', 'class_2'])
    assert.equal(ds.numClasses, 3)
    assert.equal(ds.source, root)
    assert.deepEqual([...ds.train.labels], [0, 0, 0, 1, 1, 2, 2, 2, 2])
    assert.deepEqual([...ds.test.labels], [0, 1, 1, 2])
    const px = S * S * 3
    assert.deepEqual([...ds.train.images.subarray(3 * px, 4 * px)], expected(1, 0))
    assert.deepEqual([...ds.test.images.subarray(2 * px, 3 * px)], expected(1, 1))
    assert.ok(lines.some((l) => /ignored 1 file\(s\) that are not images/.test(l)), lines.join('\n'))
  })

  it('resizes with the project’s toImageSize() and centre-crops non-square images', async () => {
    const root = join(tmp, 'sizes')
    await writeImageFolder(root, {train: [1, 1], test: [1, 1]}, 8)
    // an 8×6 image: the centre 6×6 square, then 6 → 4
    const wide = Uint8Array.from({length: 6 * 8 * 3}, (_, i) => (i * 37) & 255)
    await writePng(join(root, 'train', 'class_1', 'wide.png'), wide, 8, 6)
    const ds = await loadDataset(folder({root, image_size: 4, cache: false}))
    const px = 4 * 4 * 3
    const square = new Uint8Array(6 * 6 * 3)
    for (let y = 0; y < 6; y++) square.set(wide.subarray((y * 8 + 1) * 3, (y * 8 + 7) * 3), y * 18)
    const want = toImageSize({images: square, labels: new Uint8Array(1), count: 1, size: 6, channels: 3}, 4, 'pil_bilinear', 'x')
    // class_1 holds img_0.png then wide.png (sorted names)
    assert.deepEqual([...ds.train.images.subarray(2 * px, 3 * px)], [...want])
  })

  it('splits one folder by a seeded, stratified test_split', async () => {
    const root = await writeImageFolder(join(tmp, 'flat'), {'.': [10, 5, 20]})
    const load = (seed: number) => loadDataset(folder({root, test_split: 0.2, split_seed: seed, cache: false}))
    const a = await load(0)
    const count = (labels: ArrayLike<number>, k: number) => Array.from(labels).filter((l) => l === k).length
    assert.deepEqual([0, 1, 2].map((k) => count(a.test.labels, k)), [2, 1, 4])
    assert.deepEqual([0, 1, 2].map((k) => count(a.train.labels, k)), [8, 4, 16])
    const again = await load(0)
    assert.deepEqual(again.test.images, a.test.images)
    const other = await load(1)
    assert.notDeepEqual(other.test.images, a.test.images)
    // every image exactly once across the two splits
    const px = S * S * 3
    const keys = (sp: {images: Uint8Array; count: number}) => Array.from({length: sp.count}, (_, i) => sp.images.subarray(i * px, (i + 1) * px).join(','))
    assert.equal(new Set([...keys(a.train), ...keys(a.test)]).size, 35)
  })

  it('limits keep every class in turn', async () => {
    const root = await writeImageFolder(join(tmp, 'limit'), {train: [5, 5, 5], test: [2, 2, 2]})
    const ds = await loadDataset(folder({root, train_limit: 7, test_limit: 3, cache: false}))
    assert.deepEqual([...ds.train.labels], [0, 0, 0, 1, 1, 2, 2])
    assert.deepEqual([...ds.test.labels], [0, 1, 2])
  })

  it('caches the decoded uint8 images by content: the second load decodes nothing, a changed file misses', async () => {
    const root = await writeImageFolder(join(tmp, 'cached'), {train: [2, 2], test: [1, 1]})
    const before = cacheFiles().length
    const lines: string[] = []
    const first = await loadDataset(folder({root}), {log: (m) => lines.push(m)})
    assert.equal(cacheFiles().length, before + 1)
    assert.ok(!lines.some((l) => /from the cache/.test(l)))
    lines.length = 0
    const second = await loadDataset(folder({root}), {log: (m) => lines.push(m)})
    assert.ok(lines.some((l) => /from the cache/.test(l)), lines.join('\n'))
    assert.deepEqual(second.train, first.train)
    assert.deepEqual(second.test, first.test)
    await writePng(join(root, 'train', 'class_1', 'img_0.png'), new Uint8Array(S * S * 3).fill(9), S, S)
    lines.length = 0
    const third = await loadDataset(folder({root}), {log: (m) => lines.push(m)})
    assert.ok(!lines.some((l) => /from the cache/.test(l)))
    assert.deepEqual([...third.train.images.subarray(2 * S * S * 3, 3 * S * S * 3)], Array(S * S * 3).fill(9))
    assert.equal(cacheFiles().length, before + 2)
    // another size is another entry
    await loadDataset(folder({root, image_size: 3}))
    assert.equal(cacheFiles().length, before + 3)
  })

  it('names a corrupt image (fail), or skips it and says how many (skip)', async () => {
    const root = await writeImageFolder(join(tmp, 'bad'), {train: [2, 2], test: [1, 1]})
    const bad = join(root, 'train', 'class_0', 'broken.png')
    writeFileSync(bad, readFileSync(join(root, 'train', 'class_0', 'img_0.png')).subarray(0, 40))
    await rejectsData(loadDataset(folder({root, cache: false})), new RegExp(`Cannot use image ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`), /on_bad_image: skip/)
    const lines: string[] = []
    for (const cache of [true, true]) {
      lines.length = 0
      const ds = await loadDataset(folder({root, on_bad_image: 'skip', cache}), {log: (m) => lines.push(m)})
      assert.equal(ds.train.count, 4)
      assert.deepEqual([...ds.train.labels], [0, 0, 1, 1])
      assert.ok(lines.some((l) => /skipped 1 unreadable image\(s\).*broken\.png/.test(l)), lines.join('\n'))
    }
    // a cached result with a skipped file still fails when on_bad_image is fail
    await rejectsData(loadDataset(folder({root})), /broken\.png/)
  })

  it('refuses folders that are not image folders, naming the path', async () => {
    const empty = join(tmp, 'empty')
    mkdirSync(empty, {recursive: true})
    await rejectsData(loadDataset(folder({root: empty})), /No class folders in .*empty/)
    await rejectsData(loadDataset(folder({root: join(tmp, 'nowhere')})), /is not a folder/)
    const flat = await writeImageFolder(join(tmp, 'flat2'), {'.': [2, 2]})
    await rejectsData(loadDataset(folder({root: flat})), /no train\/ and test\/ \(or val\/\) folders/, /test_split/)
    const noTest = await writeImageFolder(join(tmp, 'notest'), {train: [2, 2]})
    await rejectsData(loadDataset(folder({root: noTest})), /no sibling test\/ or val\/ folder/)
    const emptyClass = await writeImageFolder(join(tmp, 'emptyclass'), {train: [2, 2], test: [1, 1]})
    mkdirSync(join(emptyClass, 'train', 'class_9'))
    await rejectsData(loadDataset(folder({root: emptyClass})), /Class folder .*train\/class_9 has no images/)
    rmSync(join(emptyClass, 'train', 'class_9'), {recursive: true})
    mkdirSync(join(emptyClass, 'test', 'zebra'))
    await rejectsData(loadDataset(folder({root: emptyClass})), /test\/zebra is a class folder that .*train does not have/)
  })

  it('refuses a symlink loop, an image name on a FIFO, a test/ beside class folders without train/, and a test_split that holds out nothing', async () => {
    const loop = await writeImageFolder(join(tmp, 'loop'), {train: [2, 2], test: [1, 1]})
    symlinkSync('..', join(loop, 'train', 'class_0', 'up'))
    await rejectsData(loadDataset(folder({root: loop, cache: false})), /class_0.up.class_0 links back to .*loop.train.class_0, a folder it is inside of: remove the link/)
    const fifo = await writeImageFolder(join(tmp, 'fifo'), {train: [2, 2], test: [1, 1]})
    assert.equal(spawnSync('mkfifo', [join(fifo, 'train', 'class_1', 'pipe.png')]).status, 0)
    await rejectsData(loadDataset(folder({root: fifo, cache: false})), /pipe\.png is not a regular file \(a FIFO, socket or device\)/)
    const flat = await writeImageFolder(join(tmp, 'flat-test'), {'.': [2, 2], test: [1]})
    await rejectsData(loadDataset(folder({root: flat, test_split: 0.5, cache: false})), /has test\/ but no train\/: put the training images' class folders under .*flat-test.train/)
    const one = await writeImageFolder(join(tmp, 'one-each'), {'.': [1, 1]})
    await rejectsData(loadDataset(folder({root: one, test_split: 0.2, cache: false})), /data\.test_split 0\.2 holds out no image of .*: a class gives round\(n · test_split\) of its n images, at most n − 1/)
  })

  it('orders classes by code point, as Python sorts them (an emoji after a ligature)', () => {
    assert.deepEqual(['😀emoji', 'ﬁ-ligature', 'café'].sort(byCodePoint), ['café', 'ﬁ-ligature', '😀emoji'])
    assert.deepEqual(['b', 'a', 'ab', ''].sort(byCodePoint), ['', 'a', 'ab', 'b'])
  })

  it('uses val/ when there is no test/', async () => {
    const root = await writeImageFolder(join(tmp, 'val'), {train: [1, 1], val: [2, 1]})
    const ds = await loadDataset(folder({root, cache: false}))
    assert.deepEqual([...ds.test.labels], [0, 0, 1])
    assert.equal(ds.val, undefined)
  })

  it('refuses a folder of one class: a classifier needs two', async () => {
    const root = await writeImageFolder(join(tmp, 'one-class'), {train: [2], test: [1]})
    await rejectsData(loadDataset(folder({root, cache: false})), /train has one class folder \(class_0\), and image_folder needs at least 2 classes to train a classifier: add a folder of images for each other class/)
    const flat = await writeImageFolder(join(tmp, 'one-class-flat'), {'.': [4]})
    await rejectsData(loadDataset(folder({root: flat, test_split: 0.5, cache: false})), /one-class-flat has one class folder \(class_0\)/)
  })

  it('with on_bad_image: skip, refuses a training class whose files are all unreadable, as an empty one; a test class may lose its images', async () => {
    const root = await writeImageFolder(join(tmp, 'unreadable-class'), {train: [2, 2], test: [1, 1, 1]})
    mkdirSync(join(root, 'train', 'class_2'))
    for (const name of ['1.png', '2.png']) writeFileSync(join(root, 'train', 'class_2', name), 'not a png')
    // decoded, then from the cache the first load wrote
    for (const cache of [true, true]) {
      await rejectsData(
        loadDataset(folder({root, on_bad_image: 'skip', cache})),
        /Class folder .*unreadable-class.train.class_2 has no images: all 2 image files read from it are unreadable and were skipped \(on_bad_image: skip\), e\.g\. .*class_2.1\.png: .*; fix or replace them, or remove the folder\./,
      )
    }
    const flat = await writeImageFolder(join(tmp, 'unreadable-flat'), {'.': [3, 3]})
    mkdirSync(join(flat, 'class_2'))
    writeFileSync(join(flat, 'class_2', 'only.png'), 'not a png')
    await rejectsData(loadDataset(folder({root: flat, test_split: 0.4, on_bad_image: 'skip', cache: false})), /Class folder .*unreadable-flat.class_2 has no images: the one image file read from it is unreadable/)
    // A test class without readable images is a test/ folder that lacks a class: allowed, as it is.
    rmSync(join(root, 'train', 'class_2'), {recursive: true})
    rmSync(join(root, 'test', 'class_2'), {recursive: true})
    writeFileSync(join(root, 'test', 'class_1', 'img_0.png'), 'not a png')
    const ds = await loadDataset(folder({root, on_bad_image: 'skip', cache: false}))
    assert.deepEqual([...ds.test.labels], [0])
  })

  it('train/, val/ and test/: val/ is the validation split, test/ the test split, also from the cache', async () => {
    const root = await writeImageFolder(join(tmp, 'tvt'), {train: [3, 2], val: [1, 2], test: [2, 1]})
    const lines: string[] = []
    const first = await loadDataset(folder({root, augment: [{type: 'normalize', mean: 0.5, std: 0.25}]}), {log: (m) => lines.push(m)})
    assert.ok(lines.some((l) => new RegExp(`image_folder: .*tvt.val is the validation split \\(the best epoch is chosen on it\\) and .*tvt.test the test split`).test(l)), lines.join('\n'))
    assert.deepEqual([...first.train.labels], [0, 0, 0, 1, 1])
    assert.deepEqual([...first.val!.labels], [0, 1, 1])
    assert.deepEqual([...first.test.labels], [0, 0, 1])
    const px = S * S * 3
    assert.deepEqual([...first.val!.images.subarray(2 * px, 3 * px)], expected(1, 1))
    assert.deepEqual([...first.test.images.subarray(2 * px, 3 * px)], expected(1, 0))
    assert.ok(first.val!.evalTransforms, 'normalize reaches the validation split')
    lines.length = 0
    const cached = await loadDataset(folder({root}), {log: (m) => lines.push(m)})
    assert.ok(lines.some((l) => /from the cache/.test(l)), lines.join('\n'))
    for (const split of ['train', 'val', 'test'] as const) {
      assert.deepEqual(cached[split]!.images, first[split]!.images, split)
      assert.deepEqual(cached[split]!.labels, first[split]!.labels, split)
    }
    // test_limit limits val/ too (an evaluation split), class by class in turn
    const limited = await loadDataset(folder({root, test_limit: 2, cache: false}))
    assert.deepEqual([...limited.val!.labels], [0, 1])
    assert.deepEqual([...limited.test.labels], [0, 1])
  })

  it('train/, val/ and test/ with data.val_split, or a val/ class that train/ lacks, is refused', async () => {
    const root = await writeImageFolder(join(tmp, 'tvt-bad'), {train: [2, 2], val: [1, 1], test: [1, 1]})
    await rejectsData(loadDataset(folder({root, val_split: 0.2, cache: false})), /tvt-bad has val\/ beside test\/, which makes .*tvt-bad.val the validation split, and the spec also sets data\.val_split 0\.2 .*: use one or the other — remove data\.val_split to validate on val\/, or move val\/ out of/)
    mkdirSync(join(root, 'val', 'zebra'))
    await rejectsData(loadDataset(folder({root, cache: false})), /val.zebra is a class folder that .*train does not have; the validation classes must be training classes/)
  })

  it('an explicit data directory (--data-dir, else data.data_dir) replaces data.root, or is refused; locate agrees', async () => {
    const {locateData} = await import('../../src/data/load.js')
    const root = await writeImageFolder(join(tmp, 'dd-root'), {train: [1, 1], test: [1, 1]})
    const other = await writeImageFolder(join(tmp, 'dd-other'), {train: [2, 3], test: [1, 2]})
    const lines: string[] = []
    const ds = await loadDataset(folder({root, cache: false}), {dataDir: other, log: (m) => lines.push(m)})
    assert.equal(ds.source, other)
    assert.deepEqual([...ds.test.labels], [0, 1, 1])
    assert.ok(lines.includes(`image_folder: root ${other} (from --data-dir, in place of data.root ${root})`), lines.join('\n'))
    assert.equal(locateData(folder({root}), other), other)
    const nowhere = join(tmp, 'dd-nowhere')
    await rejectsData(loadDataset(folder({root}), {dataDir: nowhere}), new RegExp(`^--data-dir ${nowhere.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a folder`))
    assert.throws(() => locateData(folder({root}), nowhere), /--data-dir .*dd-nowhere is not a folder/)
    // data.data_dir: the spec's classes and size are its, and the load reads it (as `mixture run` passes it)
    lines.length = 0
    const fromSpec = await loadDataset(folder({root, data_dir: other, cache: false}), {dataDir: other, log: (m) => lines.push(m)})
    assert.equal(fromSpec.source, other)
    assert.ok(lines.some((l) => l.startsWith(`image_folder: root ${other} (from data.data_dir,`)), lines.join('\n'))
    assert.equal(locateData(folder({root, data_dir: other})), other)
    // another folder must hold the same classes as the spec's data: the model's outputs are those
    const more = await writeImageFolder(join(tmp, 'dd-more'), {train: [1, 1, 1], test: [1, 1, 1]})
    await rejectsData(
      loadDataset(folder({root, cache: false}), {dataDir: more}),
      /^The data directory given \(.*dd-more\) holds the image_folder classes \[class_0, class_1, class_2\], but the spec's data have \[class_0, class_1\] \(3 classes, not 2; extra \[class_2\]\): the model's outputs are the spec's classes, in that order, and eval, predict and export name them so\. Give a data directory with the same classes, or train a run on it\.$/,
    )
  })

  it('test_split is held out of the readable images: a corrupt file skipped leaves the split of a clean copy', async () => {
    const clean = await writeImageFolder(join(tmp, 'split-clean'), {'.': [10, 7]})
    const dirty = await writeImageFolder(join(tmp, 'split-dirty'), {'.': [10, 7]})
    writeFileSync(join(dirty, 'class_0', 'aa-corrupt.png'), 'not a png')
    const load = (root: string, cache = false) => loadDataset(folder({root, test_split: 0.3, on_bad_image: 'skip', cache}))
    const a = await load(clean)
    for (const cache of [false, true, true]) {
      const b = await load(dirty, cache)
      for (const split of ['train', 'test'] as const) {
        assert.deepEqual(b[split].labels, a[split].labels, `${split} labels (cache ${cache})`)
        assert.deepEqual(b[split].images, a[split].images, `${split} images (cache ${cache})`)
      }
    }
  })

  it('with test_split the cache holds the whole folder: another split seed or limit decodes nothing', async () => {
    const root = await writeImageFolder(join(tmp, 'split-cache'), {'.': [6, 6]})
    const lines: string[] = []
    const load = (more: Partial<DataConfig>) => loadDataset(folder({root, test_split: 0.5, ...more}), {log: (m) => lines.push(m)})
    const seed0 = await load({split_seed: 0})
    const fresh = await load({split_seed: 1, cache: false})
    lines.length = 0
    const seed1 = await load({split_seed: 1, train_limit: 4})
    assert.ok(lines.some((l) => /from the cache/.test(l)), lines.join('\n'))
    assert.notDeepEqual(seed1.test.images, seed0.test.images)
    assert.deepEqual(seed1.test.images, fresh.test.images)
    assert.deepEqual([...seed1.train.labels], [0, 0, 1, 1])
  })
})

describe('image_folder specs', () => {
  const model = {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}

  it('validation: image_size from the images, class count, root made absolute against the spec file, defaults', async () => {
    const dir = join(tmp, 'spec')
    await writeImageFolder(join(dir, 'images'), {train: [1, 1, 1], test: [1, 1, 1]}, 7)
    const {loadSpec} = await import('../../src/config/load.js')
    const {validateSpec} = await import('../../src/config/validate.js')
    const {numClassesOf} = await import('../../src/model/build.js')
    const file = writeSpec({name: 'x', data: {dataset: 'image_folder', root: 'images'}, model}, dir)
    const spec = validateSpec(loadSpec(file))
    assert.equal(spec.data.image_size, 7)
    assert.equal(spec.data.root, join(dir, 'images'))
    assert.deepEqual({...spec.data, augment: undefined}, {dataset: 'image_folder', root: join(dir, 'images'), image_size: 7, label_mode: 'fine', split_seed: 0, on_bad_image: 'fail', cache: true, augment: undefined})
    assert.equal(numClassesOf(spec), 3)
    const sized = validateSpec(loadSpec(file, ['data.image_size=5']))
    assert.equal(sized.data.image_size, 5)
  })

  it('train/, val/ and test/: early stopping watches val/ by default, training chooses its best epoch on it, and eval --split val scores it', async () => {
    const dir = join(tmp, 'spec-tvt')
    await writeImageFolder(join(dir, 'images'), {train: [4, 4], val: [2, 2], test: [2, 2]})
    const {loadSpec} = await import('../../src/config/load.js')
    const {validateSpec} = await import('../../src/config/validate.js')
    const file = writeSpec({name: 'tvt', seed: 1, data: {dataset: 'image_folder', root: 'images', cache: false}, model, train: {epochs: 2, batch_size: 4, early_stopping: {patience: 5}}, engine: {backend: 'cpu'}}, dir)
    assert.equal(validateSpec(loadSpec(file)).train.early_stopping?.metric, 'val_accuracy')
    const {runExperiment} = await import('../../src/run/experiment.js')
    const {evaluateRun} = await import('../../src/evaluate/evaluate-run.js')
    const lines: string[] = []
    const summary = (await runExperiment({spec: file, outDir: join(dir, 'results'), log: (m) => lines.push(m)})) as {run_dir: string; selection: string; images: Record<string, number>}
    assert.equal(summary.selection, 'best_val')
    assert.deepEqual(summary.images, {train: 8, val: 4, test: 4})
    assert.ok(!lines.some((l) => /held out \(val_split/.test(l)), lines.join('\n'))
    const val = await evaluateRun({run: summary.run_dir, split: 'val'})
    assert.equal(val.examples, 4)
    assert.equal(val.training?.equal, true, 'eval --split val equals the validation row training wrote')
  })

  it("a run whose images moved away is still predicted, exported and evaluated (--data-dir): its classes are recorded; another folder's classes are refused", async () => {
    const dir = join(tmp, 'spec-moved')
    const images = await writeImageFolder(join(dir, 'images'), {train: [3, 3], test: [2, 2]})
    const file = writeSpec({name: 'moved', seed: 1, data: {dataset: 'image_folder', root: 'images', cache: false}, model, train: {epochs: 1, batch_size: 4}, engine: {backend: 'cpu'}}, dir)
    const {runExperiment} = await import('../../src/run/experiment.js')
    const {evaluateRun} = await import('../../src/evaluate/evaluate-run.js')
    const {exportRun} = await import('../../src/export/export-run.js')
    const {predictImages} = await import('../../src/predict/predict.js')
    const summary = (await runExperiment({spec: file, outDir: join(dir, 'results'), log: () => {}})) as {run_dir: string; classes: string[]}
    assert.deepEqual(summary.classes, ['class_0', 'class_1'])
    const moved = join(tmp, 'moved-images')
    renameSync(images, moved)
    const predicted = await predictImages({run: summary.run_dir, inputs: [join(moved, 'test', 'class_1')]})
    assert.deepEqual(predicted.outputs, ['class_0', 'class_1'])
    assert.equal(predicted.predictions.length, 2)
    await exportRun({run: summary.run_dir, format: 'safetensors'})
    const evaluated = await evaluateRun({run: summary.run_dir, dataDir: moved})
    assert.equal(evaluated.examples, 4)
    assert.equal(evaluated.training?.equal, true, 'the same images, read from where they are now')
    const other = await writeImageFolder(join(tmp, 'moved-other'), {train: [1, 1, 1], test: [1, 1, 1]})
    await assert.rejects(evaluateRun({run: summary.run_dir, dataDir: other}), /the data in .*moved-other have the classes \[class_2\], which .* was not trained on \(its classes: \[class_0, class_1\]\)/)
  })

  it('mixed sizes without image_size, unknown keys and bad folders are spec errors naming the path', async () => {
    const dir = join(tmp, 'spec-bad')
    const root = await writeImageFolder(join(dir, 'images'), {train: [1, 1], test: [1, 1]}, 7)
    await writePng(join(root, 'test', 'class_1', 'big.png'), new Uint8Array(8 * 8 * 3), 8, 8)
    const problem = (data: Record<string, unknown>, sets: string[] = []) => {
      try {
        resolveObject({name: 'x', data: {dataset: 'image_folder', root, ...data}, model}, sets)
      } catch (e) {
        assert.ok(e instanceof SpecError, String(e))
        return e.message
      }
      assert.fail('no error')
    }
    assert.match(problem({}), /data\.root: The images of .* have different sizes \(.*img_0\.png is 7×7, .*big\.png is 8×8\): set data\.image_size/)
    assert.doesNotThrow(() => resolveObject({name: 'x', data: {dataset: 'image_folder', root, image_size: 8}, model}))
    assert.match(problem({image_size: 8, val_splt: 0.2}), /data\.val_splt: unknown key, did you mean val_split\?/)
    assert.match(problem({image_size: 8, on_bad_image: 'ignore'}), /data\.on_bad_image: must be one of "fail", "skip"/)
    assert.match(problem({image_size: 8, root: join(dir, 'missing')}), /data\.root: data\.root .*missing is not a folder/)
    assert.match(problem({image_size: 8, synthetic: {train: 4}}), /data\.synthetic: unknown key/)
    assert.match(resolveErr({name: 'x', data: {dataset: 'image_foldr', root}, model}), /unknown dataset "image_foldr", did you mean image_folder\?/)
  })

  it('mixture run on a folder with an empty class: exit 2, the path named, nothing written', async () => {
    const dir = join(tmp, 'cli')
    const root = await writeImageFolder(join(dir, 'images'), {train: [1, 1], test: [1, 1]})
    mkdirSync(join(root, 'train', 'class_5'))
    const file = writeSpec({name: 'x', data: {dataset: 'image_folder', root: 'images', image_size: 6}, model, output: {dir: join(dir, 'results')}}, dir)
    const r = spawnSync(process.execPath, [join(REPO, 'bin', 'run.js'), 'run', file], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}})
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, /spec\.yaml:\d+:\d+: data\.root: Class folder .*images\/train\/class_5 has no images/)
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace')
    assert.ok(!existsSync(join(dir, 'results')), 'no run folder')
  })

  it('a folder of one class is refused at validation', async () => {
    const root = await writeImageFolder(join(tmp, 'spec-one-class'), {train: [1], test: [1]})
    assert.match(resolveErr({name: 'x', data: {dataset: 'image_folder', root, image_size: 6}, model}), /data\.root: .*spec-one-class.train has one class folder \(class_0\), and image_folder needs at least 2 classes/)
  })

  it('mixture run: a training class of unreadable files (skip), or a --data-dir that is not a folder, is exit 2 with nothing written', async () => {
    const dir = join(tmp, 'cli-load')
    const root = await writeImageFolder(join(dir, 'images'), {train: [1, 1], test: [1, 1]})
    mkdirSync(join(root, 'train', 'class_2'))
    writeFileSync(join(root, 'train', 'class_2', '1.png'), 'not a png')
    writeFileSync(join(root, 'train', 'class_2', '2.png'), 'not a png')
    const file = writeSpec({name: 'x', data: {dataset: 'image_folder', root: 'images', image_size: 6, on_bad_image: 'skip', cache: false}, model, output: {dir: join(dir, 'results')}}, dir)
    const run = (...args: string[]) => spawnSync(process.execPath, [join(REPO, 'bin', 'run.js'), 'run', file, ...args], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}})
    const unreadable = run()
    assert.equal(unreadable.status, 2, unreadable.stderr)
    assert.match(unreadable.stderr, /Error: Class folder .*images.train.class_2 has no images: all 2 image files read from it are unreadable and were skipped/)
    const nowhere = run('--data-dir', join(dir, 'nowhere'))
    assert.equal(nowhere.status, 2, nowhere.stderr)
    assert.match(nowhere.stderr, /Error: --data-dir .*nowhere is not a folder; give the folder that holds train\/ and test\//)
    assert.ok(!existsSync(join(dir, 'results')), 'no run folder')
  })

  it('the example spec trains on a folder of PNG files (normalize reaches evaluation batches)', async () => {
    const {runExperiment} = await import('../../src/run/experiment.js')
    const root = await writeImageFolder(join(tmp, 'train-me'), {train: [12, 12, 12], test: [4, 4, 4]}, 8)
    const out = join(tmp, 'results')
    const summary = (await runExperiment({
      spec: join(REPO, 'configs', 'examples', 'image-folder.yaml'),
      overrides: [`data.root=${root}`, 'data.image_size=8', 'train.epochs=3', 'train.batch_size=12', 'engine.backend=cpu'],
      outDir: out,
      log: () => undefined,
    })) as {status: string; epochs_completed: number; best_test_accuracy: number; run_dir: string}
    assert.equal(summary.status, 'completed')
    assert.equal(summary.epochs_completed, 3)
    assert.ok(summary.best_test_accuracy > 1 / 3, `learns the three classes: ${summary.best_test_accuracy}`)
    const config = readFileSync(join(summary.run_dir, 'config.yaml'), 'utf8')
    assert.match(config, new RegExp(`root: ${root.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`))
    const ds = await loadDataset({...(await import('yaml')).parse(config).data, root})
    const evalBatch = [...batches(ds.test, {batchSize: 64, imageSize: ds.imageSize, shuffle: false, seed: 0, epoch: 0, augment: false})][0]
    assert.ok(evalBatch.x.some((v) => v < 0), 'evaluation batches are normalized')
    // mixture eval --data-dir: the run scored on another folder of the same classes, or refused
    const {evaluateRun} = await import('../../src/evaluate/evaluate-run.js')
    const elsewhere = await writeImageFolder(join(tmp, 'eval-elsewhere'), {train: [1, 1, 1], test: [2, 1, 1]}, 8)
    const scored = await evaluateRun({run: summary.run_dir, dataDir: elsewhere})
    assert.equal(scored.examples, 4)
    assert.deepEqual(scored.per_class.map((c) => c.examples), [2, 1, 1])
    // A folder of part of the classes is scored on them, matched to the run's outputs by name
    const fewer = await writeImageFolder(join(tmp, 'eval-fewer'), {train: [1, 1], test: [1, 1]}, 8)
    const notes: string[] = []
    const part = await evaluateRun({run: summary.run_dir, dataDir: fewer, log: (m) => notes.push(m)})
    assert.deepEqual(part.per_class.map((c) => c.examples), [1, 1, 0])
    assert.ok(notes.some((n) => /eval-fewer have no \[class_2\] of the run's 3 classes/.test(n)), notes.join('\n'))
  })
})

function resolveErr(spec: unknown): string {
  try {
    resolveObject(spec)
  } catch (e) {
    return (e as Error).message
  }
  assert.fail('no error')
}
