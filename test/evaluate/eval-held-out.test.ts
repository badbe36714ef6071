// mixture eval of an image_folder run on a held-out folder — test/<class>/ alone, no train/ — the
// way a trained run is scored on new images: its classes matched to the run's by name (a folder
// may hold part of them, in any places), a class the run does not know refused, class folders
// without test/ refused with the layout eval wants, and a run whose folder moved told to give it
// with --data-dir. Training still needs train/.
import {before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {cpSync, mkdirSync, renameSync} from 'node:fs'
import {join} from 'node:path'
import {DataError, loadDataset, type DataConfig} from '../../src/data/index.js'
import {UsageError} from '../../src/errors.js'
import {evaluateRun} from '../../src/evaluate/evaluate-run.js'
import {runExperiment} from '../../src/run/experiment.js'
import {mixture, writeSpec} from '../helpers.js'
import {cifarFile, isolatedTmp, write, writeImageFolder} from '../data/helpers.js'
import {imageFolderRun, TINY_MIXTURE} from './helpers.js'

const model = TINY_MIXTURE

const isError = (kind: typeof DataError | typeof UsageError, ...patterns: RegExp[]) => (e: unknown) => {
  assert.ok(e instanceof kind, `expected a ${kind.name}, got ${String(e)}`)
  for (const re of patterns) assert.match((e as Error).message, re)
  return true
}

describe('mixture eval on a held-out folder (test/<class>/ alone)', () => {
  let tmp: string
  let runDir: string
  let images: string

  before(async () => {
    ;({tmp, images, runDir} = await imageFolderRun('mixture-held-out-', 'held-out', 2))
  })

  it("scores a folder of test/ alone as it scores the run's own test split: the same numbers as training wrote", async () => {
    const heldOut = join(tmp, 'held-out-copy')
    cpSync(join(images, 'test'), join(heldOut, 'test'), {recursive: true})
    const own = await evaluateRun({run: runDir})
    const notes: string[] = []
    const scored = await evaluateRun({run: runDir, dataDir: heldOut, log: (m) => notes.push(m)})
    assert.equal(scored.examples, 7)
    assert.equal(scored.loss, own.loss)
    assert.equal(scored.accuracy, own.accuracy)
    assert.equal(scored.training?.equal, true, 'the same images as the run\'s test/, so the row training wrote')
    assert.ok(!notes.some((n) => /no \[/.test(n)), notes.join('\n'))
  })

  it("matches a folder holding part of the classes to the run's outputs by name, and says which classes it lacks", async () => {
    const own = await evaluateRun({run: runDir})
    // class_0 and class_2 only: sorted, class_2 is the folder's second class but the run's third output.
    const part = await writeImageFolder(join(tmp, 'held-out-part'), {test: [2, 0, 2]})
    const notes: string[] = []
    const scored = await evaluateRun({run: runDir, dataDir: part, log: (m) => notes.push(m)})
    assert.equal(scored.examples, 4)
    assert.deepEqual(scored.classes, ['class_0', 'class_1', 'class_2'])
    assert.deepEqual(scored.per_class.map((c) => c.examples), [2, 0, 2])
    // The same images of class_2 as in the run's test/: scored against the same output, so as many right.
    assert.equal(scored.per_class[2].correct, own.per_class[2].correct)
    assert.equal(scored.per_class[0].correct, own.per_class[0].correct)
    assert.equal(scored.per_class[1].accuracy, null)
    assert.deepEqual(scored.confusion.map((row) => row.reduce((a, b) => a + b, 0)), [2, 0, 2])
    assert.ok(notes.some((n) => /have no \[class_1\] of the run's 3 classes: those are scored on no images/.test(n)), notes.join('\n'))
  })

  it('refuses a class the run was not trained on, naming it', async () => {
    const extra = await writeImageFolder(join(tmp, 'held-out-extra'), {test: [1, 1, 1, 1]})
    await assert.rejects(evaluateRun({run: runDir, dataDir: extra}), isError(UsageError, /have the classes \[class_3\], which .* was not trained on \(its classes: \[class_0, class_1, class_2\]\): the model has no output for them/))
  })

  it('refuses class folders without test/ (with the layout eval wants), and folders beside test/', async () => {
    const loose = join(tmp, 'loose')
    await writeImageFolder(join(tmp, 'loose-src'), {test: [1, 1, 1]})
    renameSync(join(tmp, 'loose-src', 'test'), loose)
    await assert.rejects(evaluateRun({run: runDir, dataDir: loose}), isError(DataError, /loose holds class folders \(class_0, class_1, class_2\) but no test\/ folder: to evaluate a run on these images, move the class folders under .*loose.test \(.*loose.test.<class>\/\.\.\.\)/))
    const beside = await writeImageFolder(join(tmp, 'beside'), {test: [1, 1, 1]})
    mkdirSync(join(beside, 'class_9'))
    await assert.rejects(evaluateRun({run: runDir, dataDir: beside}), isError(DataError, /beside has test\/ but no train\/, and other folders beside \(class_9\): for an evaluation it is a held-out folder/))
  })

  it('--split train on a held-out folder is refused: it has no training images', async () => {
    const heldOut = await writeImageFolder(join(tmp, 'held-out-train'), {test: [1, 1, 1]})
    await assert.rejects(evaluateRun({run: runDir, dataDir: heldOut, split: 'train'}), isError(DataError, /has test\/ but no train\//))
  })

  it('a run whose folder moved: eval says to give it with --data-dir (exit 2), and then scores it', async () => {
    const copy = join(tmp, 'moved-run')
    cpSync(runDir, copy, {recursive: true})
    const moved = join(tmp, 'moved-images')
    cpSync(images, moved, {recursive: true})
    renameSync(images, join(tmp, 'images-gone'))
    try {
      await assert.rejects(evaluateRun({run: copy}), isError(UsageError, new RegExp(`moved-run was trained on the data in .*images, which is not there now \\(moved, renamed or deleted\\?\\)\\. Give the folder the data are in now: mixture eval .*moved-run --data-dir <folder> \\(the folder as it was, or a held-out folder: test/<class>/ alone\\)$`)))
      const r = mixture(['eval', copy])
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr.replace(/\s+/g, ' '), /mixture eval \S*moved-run --data-dir <folder>/)
      const scored = await evaluateRun({run: copy, dataDir: moved})
      assert.equal(scored.training?.equal, true)
    } finally {
      renameSync(join(tmp, 'images-gone'), images)
    }
  })
})

describe('loadDataset without training images (image_folder)', () => {
  let tmp: string
  before(() => {
    tmp = isolatedTmp('mixture-held-out-load-')
  })
  const folder = (root: string, more: Partial<DataConfig> = {}): DataConfig => ({dataset: 'image_folder', root, image_size: 6, augment: false, cache: false, ...more})

  it('--split val of a run that validated on a val/ folder, given a folder without one, says the folder lacks it', async () => {
    const own = await writeImageFolder(join(tmp, 'with-val'), {train: [3, 3, 3], val: [1, 1, 1], test: [1, 1, 1]})
    const file = writeSpec({name: 'with-val', seed: 3, data: {dataset: 'image_folder', root: own, image_size: 6, cache: false}, model, train: {epochs: 1, batch_size: 4}, engine: {backend: 'cpu'}}, tmp, 'with-val.yaml')
    const run = ((await runExperiment({spec: file, outDir: join(tmp, 'results-val'), log: () => {}})) as {run_dir: string}).run_dir
    assert.equal((await evaluateRun({run, split: 'val'})).examples, 3)
    const testOnly = join(tmp, 'test-only')
    cpSync(join(own, 'test'), join(testOnly, 'test'), {recursive: true})
    await assert.rejects(evaluateRun({run, split: 'val', dataDir: testOnly}), isError(UsageError, /chose its best epoch on the validation split of its data \(a val\/ folder beside test\/\), and .*test-only has none: give a folder with val\/<class>\/ beside test\//))
  })

  it('reads test/ (and val/ beside it) alone, of one class or more; training still needs train/', async () => {
    const root = await writeImageFolder(join(tmp, 'tv'), {test: [2, 1], val: [0, 3]})
    const ds = await loadDataset(folder(root), {withoutTrain: true})
    assert.equal(ds.train.count, 0)
    assert.deepEqual(ds.classNames, ['class_0', 'class_1'])
    assert.deepEqual([...ds.test.labels], [0, 0, 1])
    assert.deepEqual([...ds.val!.labels], [1, 1, 1])
    const one = await writeImageFolder(join(tmp, 'one'), {test: [2]})
    assert.deepEqual((await loadDataset(folder(one), {withoutTrain: true})).classNames, ['class_0'])
    await assert.rejects(loadDataset(folder(root)), isError(DataError, /tv has test\/ but no train\/: put the training images' class folders under/))
  })

  it('a held-out folder given to a test_split spec is all test split (test_split is not used, said in a note)', async () => {
    const root = await writeImageFolder(join(tmp, 'ts'), {test: [4, 4]})
    const notes: string[] = []
    const ds = await loadDataset(folder(root, {test_split: 0.5}), {withoutTrain: true, log: (m) => notes.push(m)})
    assert.equal(ds.test.count, 8)
    assert.ok(notes.some((n) => /ts.test is the test split \(a held-out folder: data\.test_split 0\.5 is not used\)/.test(n)), notes.join('\n'))
  })

  it('an official dataset asked for no training images reads none and says nothing of a short train split; its test split is as a full load gives it', async () => {
    const dir = join(tmp, 'cifar', 'cifar10')
    for (let k = 1; k <= 5; k++) write(join(dir, `data_batch_${k}.bin`), cifarFile([[k % 10]], k))
    write(join(dir, 'test_batch.bin'), cifarFile([[3], [1], [4]], 100))
    const notes: string[] = []
    const ds = await loadDataset({dataset: 'cifar10', image_size: 32}, {dataDir: dir, withoutTrain: true, log: (m) => notes.push(m)})
    const full = await loadDataset({dataset: 'cifar10', image_size: 32}, {dataDir: dir})
    assert.equal(ds.train.count, 0)
    assert.deepEqual(ds.test, full.test)
    assert.deepEqual(ds.classNames, full.classNames)
    assert.ok(!notes.some((n) => /train split has/.test(n)), notes.join('\n'))
  })

  it('a missing data.root says how to give the folder where the images are now', async () => {
    const gone = join(tmp, 'gone')
    await assert.rejects(loadDataset(folder(gone)), isError(DataError, /^data\.root .*gone is not a folder; .* If the images moved, give the folder they are in now with --data-dir <folder>, which replaces data\.root/))
  })
})
