// --data-dir where the spec's or run's own data are gone or are not the ones scored: a run or spec
// whose data.root moved resumes, trains and dry-runs from --data-dir; an evaluation of another folder
// goes to a folder of its own that records the data; Fashion-MNIST's test split is scored from its
// test files alone; a held-out folder with an unrelated train/ is read for its test/; a missing
// --data-dir is named as such; a dataset that reads no files says it does not use --data-dir.
import {before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {DataError} from '../../src/data/index.js'
import {evaluateRun} from '../../src/evaluate/evaluate-run.js'
import {describeEval} from '../../src/commands/eval.js'
import {readConfusionMatrices} from '../../src/report/confusion.js'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {recordedDataSource} from '../../src/run/env.js'
import {mixture, TINY_CNN_SPEC, writeSpec} from '../helpers.js'
import {isolatedTmp, writeImageFolder, writePng} from '../data/helpers.js'
import {imageFolderRun, TINY_MIXTURE} from './helpers.js'

const model = TINY_MIXTURE
const FASHION = '/usr/share/datasets/fashion-mnist'

describe('--data-dir in place of a data.root that is gone', () => {
  let tmp: string
  let file: string
  before(async () => {
    tmp = isolatedTmp('mixture-data-dir-')
    await writeImageFolder(join(tmp, 'if1'), {train: [3, 3, 3], test: [2, 2, 2]})
    file = writeSpec({name: 'if', seed: 1, data: {dataset: 'image_folder', root: 'if1', image_size: 6, cache: false}, model, train: {epochs: 1, batch_size: 4}, engine: {backend: 'cpu'}, output: {dir: join(tmp, 'results')}}, tmp, 'if.yaml')
  })

  it('mixture run --resume R --data-dir D resumes a run whose data.root moved, reading D; a folder of other classes is refused', async () => {
    const runDir = ((await runExperiment({spec: file, log: () => {}})) as RunSummary).run_dir
    const own = await evaluateRun({run: runDir})
    renameSync(join(tmp, 'if1'), join(tmp, 'if1moved'))
    try {
      const lines: string[] = []
      const resumed = (await runExperiment({resume: runDir, epochs: 2, dataDir: join(tmp, 'if1moved'), log: (m) => lines.push(m)})) as RunSummary
      assert.equal(resumed.status, 'completed')
      assert.ok(lines.some((l) => l.includes(`image_folder: root ${join(tmp, 'if1moved')} (from --data-dir`)), lines.join('\n'))
      // env.json's resume record says where the data are read now; the run's own data_source stays as it was.
      const env = JSON.parse(readFileSync(join(runDir, 'env.json'), 'utf8'))
      assert.equal(env.resumed.at(-1).data_source, join(tmp, 'if1moved'))
      assert.equal(env.data_source, join(tmp, 'if1'))
      assert.equal(recordedDataSource(runDir), join(tmp, 'if1moved'))
      // The model resumed is the run's: epoch 1's row is as training wrote it, and evaluating it on the moved folder gives it.
      const again = await evaluateRun({run: runDir, dataDir: join(tmp, 'if1moved')})
      assert.equal(again.training?.equal, true)
      assert.ok(own.training?.equal)
      // Another folder of other classes in place of the run's: refused, naming the classes.
      const other = await writeImageFolder(join(tmp, 'other-classes'), {train: [2, 2, 2, 2], test: [1, 1, 1, 1]})
      const r = mixture(['run', '--resume', runDir, '--epochs', '3', '--data-dir', other])
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr.replace(/\s+/g, ' '), /trained on the classes \[class_0, class_1, class_2\], and --data-dir \S*other-classes holds \[class_0, class_1, class_2, class_3\]/)
    } finally {
      renameSync(join(tmp, 'if1moved'), join(tmp, 'if1'))
    }
  })

  it('a resume that finds another copy of its data (same classes and counts, other images) is refused, naming where the run read them; --data-dir with them resumes, --force continues on the copy', async () => {
    // A copy of the run's folder with one training image changed: the spec's own root is the other copy.
    const copy = join(tmp, 'if1copy')
    cpSync(join(tmp, 'if1'), copy, {recursive: true})
    await writePng(join(copy, 'train', 'class_1', 'img_0.png'), new Uint8Array(6 * 6 * 3).fill(200), 6, 6)
    const runDir = ((await runExperiment({spec: file, dataDir: copy, log: () => {}})) as RunSummary).run_dir
    const refused = mixture(['run', '--resume', runDir, '--epochs', '2'])
    assert.equal(refused.code, 2, refused.stderr)
    assert.match(refused.stderr.replace(/\s+/g, ' '), new RegExp(`the train split read now \\(from \\S*if1\\) holds other images or labels than the run trained on \\(it read them from \\S*if1copy\\).*--data-dir \\S*if1copy, or add --force`))
    assert.equal(JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')).epochs_completed, 1, 'nothing trained')
    const own = mixture(['run', '--resume', runDir, '--epochs', '2', '--data-dir', copy])
    assert.equal(own.code, 0, own.stderr)
    const forced = mixture(['run', '--resume', runDir, '--epochs', '3', '--force'])
    assert.equal(forced.code, 0, forced.stderr)
    assert.match(forced.stderr, /note: the train split read now .* holds other images or labels than the run trained on; continuing on them \(--force/)
    assert.equal(JSON.parse(readFileSync(join(runDir, 'env.json'), 'utf8')).resumed.at(-1).data_source, join(tmp, 'if1'))
  })

  it("an evaluation that finds other test images than the run's (another copy, no --data-dir) goes to a folder of its own, saying so; the run's own data go to eval/test-best/", async () => {
    const copy = join(tmp, 'if1testcopy')
    cpSync(join(tmp, 'if1'), copy, {recursive: true})
    await writePng(join(copy, 'test', 'class_0', 'img_0.png'), new Uint8Array(6 * 6 * 3).fill(50), 6, 6)
    const runDir = ((await runExperiment({spec: file, dataDir: copy, log: () => {}})) as RunSummary).run_dir
    const lines: string[] = []
    const found = await evaluateRun({run: runDir, log: (m) => lines.push(m)})
    assert.equal(found.out_dir, join(runDir, 'eval', 'test-best-on-if1'))
    assert.equal(found.data_dir, join(tmp, 'if1'))
    assert.ok(lines.some((l) => l.includes(`read its data from ${copy}; the test split found now in ${join(tmp, 'if1')} holds other images, so this evaluation goes to a folder of its own`)), lines.join('\n'))
    const own = await evaluateRun({run: runDir, dataDir: copy})
    assert.equal(own.out_dir, join(runDir, 'eval', 'test-best'))
    assert.equal(own.training?.equal, true)
  })

  it('mixture run SPEC --set data.root=gone --data-dir D trains (and dry-runs) from D, and config.yaml records it', () => {
    const dry = mixture(['run', file, '--set', 'data.root=gone', '--data-dir', join(tmp, 'if1'), '-n'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stderr, /note: the spec's own data cannot be read \(data\.root \S*gone is not a folder\); the run reads --data-dir \S*if1 in their place/)
    assert.match(dry.stderr, /data: image_folder in \S*if1\n/)
    const run = mixture(['run', file, '--set', 'data.root=gone', '--data-dir', join(tmp, 'if1'), '--out', join(tmp, 'results-gone')])
    assert.equal(run.code, 0, run.stderr)
    const runDir = /run folder: (.*)/.exec(run.stdout)![1].trim()
    const config = parseYaml(readFileSync(join(runDir, 'config.yaml'), 'utf8')) as {data: {data_dir?: string}}
    assert.equal(config.data.data_dir, join(tmp, 'if1'))
    // A --data-dir that is not a folder, with data.root gone too: said as such, not "give --data-dir".
    const nowhere = mixture(['run', file, '--set', 'data.root=gone', '--data-dir', join(tmp, 'nowhere'), '-n'])
    assert.equal(nowhere.code, 2, nowhere.stderr)
    assert.match(nowhere.stderr, /--data-dir \S*nowhere is not a folder: give the folder the data are in/)
  })
})

describe('mixture eval --data-dir: its own folder, what it read, and the layouts it reads', () => {
  let tmp: string
  let runDir: string
  let images: string
  before(async () => {
    ;({tmp, images, runDir} = await imageFolderRun('mixture-eval-data-dir-', 'held', 1))
  })

  it("writes another folder's evaluation to eval/<split>-<ckpt>-on-<folder>/ (-2 for another folder of that name), recording the folder; the run's own stays", async () => {
    const own = await evaluateRun({run: runDir})
    assert.equal(own.out_dir, join(runDir, 'eval', 'test-best'))
    assert.equal(own.data_dir, null)
    assert.equal(own.data_source, images)
    const ownMetrics = readFileSync(join(own.out_dir, 'metrics.json'), 'utf8')
    const held = await writeImageFolder(join(tmp, 'a', 'held'), {test: [1, 0, 1]})
    const scored = await evaluateRun({run: runDir, dataDir: held})
    assert.equal(scored.out_dir, join(runDir, 'eval', 'test-best-on-held'))
    assert.equal(scored.data_dir, held)
    assert.equal(scored.data_source, held)
    const metrics = JSON.parse(readFileSync(join(scored.out_dir, 'metrics.json'), 'utf8')) as {data_dir: string; data_source: string; examples: number}
    assert.deepEqual([metrics.data_dir, metrics.data_source, metrics.examples], [held, held, 2])
    assert.equal(readFileSync(join(own.out_dir, 'metrics.json'), 'utf8'), ownMetrics, "the run's own evaluation is left as it was")
    const text = describeEval(scored, {otherData: true})
    assert.match(text, new RegExp(`^test split of ${held.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, best\\.ckpt`))
    assert.match(text, /written to \S*test-best-on-held \(the images of \S*held; an evaluation of the run's own data goes to \S*eval.test-best\)/)
    // Another folder named held: its own folder, -2; the first one again: its folder, renewed.
    const other = await writeImageFolder(join(tmp, 'b', 'held'), {test: [0, 1, 1]})
    assert.equal((await evaluateRun({run: runDir, dataDir: other})).out_dir, join(runDir, 'eval', 'test-best-on-held-2'))
    assert.equal((await evaluateRun({run: runDir, dataDir: held})).out_dir, join(runDir, 'eval', 'test-best-on-held'))
    // The run's own folder given with --data-dir: its own evaluation.
    assert.equal((await evaluateRun({run: runDir, dataDir: images})).out_dir, join(runDir, 'eval', 'test-best'))
    // The report reads every folder, and tells the held-out ones by their data folder.
    const matrices = readConfusionMatrices(runDir, () => {})
    assert.deepEqual(matrices.map((m) => [m.name, m.dataDir]), [
      ['test-best', images],
      ['test-best-on-held', held],
      ['test-best-on-held-2', other],
    ])
  })

  it('reads test/ of a folder whose train/ holds other classes (matched to the run by name); its own folder still gives training\'s numbers', async () => {
    const heldtr = join(tmp, 'heldtr')
    mkdirSync(join(heldtr, 'train', 'zebra'), {recursive: true})
    cpSync(join(images, 'train', 'class_0'), join(heldtr, 'train', 'zebra'), {recursive: true})
    cpSync(join(images, 'train', 'class_2'), join(heldtr, 'train', 'yak'), {recursive: true})
    cpSync(join(images, 'test', 'class_1'), join(heldtr, 'test', 'class_1'), {recursive: true})
    const scored = await evaluateRun({run: runDir, dataDir: heldtr})
    assert.equal(scored.examples, 3)
    assert.deepEqual(scored.per_class.map((c) => c.examples), [0, 3, 0])
    const own = await evaluateRun({run: runDir})
    assert.equal(scored.per_class[1].correct, own.per_class[1].correct)
    assert.equal(own.training?.equal, true, "the run's own folder (train/ and test/): the numbers training wrote")
    const copy = join(tmp, 'own-copy')
    cpSync(images, copy, {recursive: true})
    assert.equal((await evaluateRun({run: runDir, dataDir: copy})).training?.equal, true)
    // Training still needs train/'s classes to hold test/'s.
    const {loadDataset} = await import('../../src/data/index.js')
    await assert.rejects(loadDataset({dataset: 'image_folder', root: heldtr, image_size: 6, cache: false} as never), (e: unknown) => e instanceof DataError && /test.class_1 is a class folder that \S*train does not have/.test((e as Error).message))
  })

  it('names --data-dir when it is not a folder (exit 2)', async () => {
    const nowhere = join(tmp, 'no', 'such', 'folder')
    await assert.rejects(evaluateRun({run: runDir, dataDir: nowhere}), (e: unknown) => e instanceof DataError && new RegExp(`^--data-dir ${nowhere.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a folder`).test((e as Error).message))
    const r = mixture(['eval', runDir, '--data-dir', nowhere])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /Error: --data-dir \S*folder is not a folder/)
    assert.doesNotMatch(r.stderr, /data\.data_dir/)
  })

  it('a dataset that reads no files (synthetic) says it does not use --data-dir, and evaluates the run as its own', async () => {
    const synth = ((await runExperiment({spec: writeSpec(TINY_CNN_SPEC, tmp, 'tiny.yaml'), outDir: join(tmp, 'results-tiny'), log: () => {}})) as RunSummary).run_dir
    const notes: string[] = []
    const r = await evaluateRun({run: synth, dataDir: join(tmp, 'images'), log: (m) => notes.push(m)})
    assert.ok(notes.some((n) => /^note: --data-dir \S*images is not used: synthetic reads no files \(synthetic \(generated/.test(n)), notes.join('\n'))
    assert.equal(r.out_dir, join(synth, 'eval', 'test-best'))
    assert.equal(r.data_dir, null)
    assert.equal(r.training?.equal, true)
  })
})

describe('mixture eval of an official dataset\'s test split reads its test files alone', {skip: !existsSync(join(FASHION, 't10k-images-idx3-ubyte.gz')) && `no Fashion-MNIST in ${FASHION}`}, () => {
  it('a fashion_mnist run scored on a folder of the t10k files only; training still needs the training files', async () => {
    const tmp = isolatedTmp('mixture-fm-test-only-')
    const spec = {...TINY_CNN_SPEC, name: 'fm', data: {dataset: 'fashion_mnist', image_size: 8, train_limit: 256, test_limit: 128}}
    const file = writeSpec(spec, tmp, 'fm.yaml')
    const runDir = ((await runExperiment({spec: file, dataDir: FASHION, outDir: join(tmp, 'results'), log: () => {}})) as RunSummary).run_dir
    const fmtest = join(tmp, 'fmtest')
    mkdirSync(fmtest)
    for (const f of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) cpSync(join(FASHION, f), join(fmtest, f))
    const scored = await evaluateRun({run: runDir, dataDir: fmtest})
    assert.equal(scored.examples, 128)
    assert.equal(scored.training?.equal, true)
    assert.equal(scored.data_dir, fmtest)
    // The training images are asked for by --split train, and by a training run: their files are then needed, as before.
    await assert.rejects(evaluateRun({run: runDir, dataDir: fmtest, split: 'train'}), (e: unknown) => e instanceof DataError && /holds t10k-images-idx3-ubyte\.gz and t10k-labels-idx1-ubyte\.gz but not train-images-idx3-ubyte\.gz and train-labels-idx1-ubyte\.gz\. /.test((e as Error).message))
    // Only the test split's files there, neither: the message names those two.
    const empty = join(tmp, 'empty')
    mkdirSync(empty)
    await assert.rejects(evaluateRun({run: runDir, dataDir: empty}), (e: unknown) => e instanceof DataError && /it holds none of t10k-images-idx3-ubyte\.gz and t10k-labels-idx1-ubyte\.gz \(the test split's files: no training images are read\)/.test((e as Error).message))
    rmSync(tmp, {recursive: true, force: true})
  })
})
