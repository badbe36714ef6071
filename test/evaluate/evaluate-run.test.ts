// mixture eval: a tiny run trained here, its best and last checkpoints evaluated; loss and accuracy
// equal the metrics.csv rows of their epochs exactly, and the folder it writes is what the report reads.
import {before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {copyFileSync, cpSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {evaluateRun} from '../../src/evaluate/evaluate-run.js'
import {EvalTally} from '../../src/evaluate/tally.js'
import {parseConfusionCsv, readConfusionMatrices} from '../../src/report/confusion.js'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {readMetricsFile} from '../../src/run/metrics-file.js'
import {UsageError} from '../../src/errors.js'
import {mixture, REPO, tempDir, writeSpec} from '../helpers.js'

const spec = {
  name: 'tiny-eval',
  seed: 11,
  // 6 classes (top-5 is not trivially 1), a normalize transform (evaluation batches use it), and
  // an evaluation batch size that leaves a short last batch (40 = 3 × 12 + 4).
  data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 96, test: 40, classes: 6, noise: 0.6}, augment: [{type: 'hflip'}, {type: 'normalize', mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3]}]},
  model: {type: 'mixture', block: 'joint', components: [{type: 'cnn', channels: [4, 3]}, {type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 4, mlp_dim: 8}], norm: {type: 'batchnorm'}},
  train: {epochs: 4, batch_size: 32, eval_batch_size: 12, optimizer: {lr: 0.02}},
  engine: {backend: 'cpu'},
}

describe('mixture eval', () => {
  let run: string

  before(async () => {
    const dir = tempDir()
    run = ((await runExperiment({spec: writeSpec(spec, dir), outDir: join(dir, 'results'), log: () => {}})) as RunSummary).run_dir
  })

  for (const ckpt of ['best', 'last'] as const) {
    it(`${ckpt}.ckpt on the test split: loss and accuracy equal what training wrote for its epoch`, async () => {
      const r = await evaluateRun({run, ckpt})
      const row = readMetricsFile(run).rows.find((x) => x.epoch === r.epoch)!
      assert.ok(row, `metrics.csv has epoch ${r.epoch}`)
      assert.equal(r.loss, row.test_loss)
      assert.equal(r.accuracy, row.test_accuracy)
      assert.equal(r.accuracy_definition, 'per_example')
      assert.deepEqual(r.training, {loss: row.test_loss, accuracy: row.test_accuracy, equal: true, examples: r.examples, changed: []})
      assert.equal(r.examples, 40)
      assert.equal(r.batch_size, 12)
      // The confusion matrix agrees with the accuracy; per class is its rows.
      const total = r.confusion.flat().reduce((a, b) => a + b, 0)
      const diagonal = r.confusion.reduce((a, row, i) => a + row[i], 0)
      assert.equal(total + r.predicted_outside_classes, 40)
      assert.equal(diagonal / 40, r.accuracy_per_example)
      r.per_class.forEach((c, i) => {
        assert.equal(c.examples, r.confusion[i].reduce((a, b) => a + b, 0))
        assert.equal(c.correct, r.confusion[i][i])
      })
      assert.equal(r.top_k, 5)
      assert.ok(r.top_k_accuracy >= r.accuracy && r.top_k_accuracy <= 1)
      // The mean of per-batch accuracies weighs the short last batch like a full one.
      assert.ok(r.accuracy_batch_mean >= 0 && r.accuracy_batch_mean <= 1)

      const out = join(run, 'eval', `test-${ckpt}`)
      assert.equal(r.out_dir, out)
      assert.deepEqual(r.files.map((f) => f.slice(out.length + 1)).sort(), ['confusion.csv', 'confusion.png', 'confusion.svg', 'confusion.vl.json', 'metrics.json', 'per-class.csv'])
      assert.deepEqual(parseConfusionCsv(readFileSync(join(out, 'confusion.csv'), 'utf8')), {classes: r.classes, counts: r.confusion})
      assert.equal(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).loss, r.loss)
      assert.deepEqual([...readFileSync(join(out, 'confusion.png')).subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG')
      assert.match(readFileSync(join(out, 'confusion.svg'), 'utf8'), /^<svg/)
      assert.equal(readFileSync(join(out, 'per-class.csv'), 'utf8').split('\n')[0], 'class,index,examples,correct,accuracy')
    })
  }

  it('the report finds the evaluations (eval/<split>-<ckpt>/confusion.csv)', async () => {
    await evaluateRun({run, ckpt: 'best'})
    const found = readConfusionMatrices(run, (m) => assert.fail(m)).map((m) => m.name)
    assert.ok(found.includes('test-best'))
  })

  it('--split train evaluates the unaugmented training images; --split val is refused for a run that holds out none', async () => {
    const r = await evaluateRun({run, split: 'train'})
    assert.equal(r.examples, 96)
    assert.equal(r.training, null)
    assert.equal(r.out_dir, join(run, 'eval', 'train-best'))
    await assert.rejects(evaluateRun({run, split: 'val'}), (e: Error) => e instanceof UsageError && /--split val needs a validation split/.test(e.message) && /--split test/.test(e.message))
  })

  it('the CLI prints the comparison with training, and --json one document', () => {
    const text = mixture(['eval', run])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /equal to what training wrote for epoch \d+/)
    const json = mixture(['eval', run, '--ckpt', 'last', '--json'])
    assert.equal(json.code, 0, json.stderr)
    const doc = JSON.parse(json.stdout)
    const last = readMetricsFile(run).rows.at(-1)!
    assert.equal(doc.loss, last.test_loss)
    assert.equal(doc.training.equal, true)
    assert.equal(doc.training.examples, 40, 'summary.json records how many test images training evaluated')
  })

  it('says the data changed where the split now holds another number of images than training evaluated', () => {
    // As if the test split had 39 images when the run trained (and so another loss): a folder changed since.
    const copy = join(tempDir(), 'run')
    cpSync(run, copy, {recursive: true})
    const summaryFile = join(copy, 'summary.json')
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8'))
    writeFileSync(summaryFile, JSON.stringify({...summary, images: {...summary.images, test: 39}}))
    const metrics = join(copy, 'metrics.csv')
    const lines = readFileSync(metrics, 'utf8').trim().split('\n')
    lines[summary.best_test_epoch] = lines[summary.best_test_epoch].replace(/^(\d+,[^,]+,[^,]+,)([^,]+)/, (_, head: string, loss: string) => `${head}${Number(loss) + 0.5}`)
    writeFileSync(metrics, `${lines.join('\n')}\n`)
    const r = mixture(['eval', copy])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout.replace(/\s+/g, ' '), /this evaluation differs \(the test split has 40 images now and had 39 when the run trained: the data changed since\)/)
  })

  it("names what changed where the numbers differ: the split's contents (same count) and each plugin file, from the hashes summary.json recorded", () => {
    const dir = tempDir()
    const copy = join(dir, 'run')
    cpSync(run, copy, {recursive: true})
    const summaryFile = join(copy, 'summary.json')
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8'))
    assert.match(summary.fingerprints.data.test, /^[0-9a-f]{16}$/, 'training recorded the test split\'s hash')
    assert.deepEqual(summary.fingerprints.plugins, {})
    // As if the run had trained with a plugin file since edited, and on other test images of the same count.
    const plugin = join(dir, 'rmsprop.mjs')
    copyFileSync(join(REPO, 'configs', 'examples', 'plugins', 'rmsprop.mjs'), plugin)
    writeFileSync(join(copy, 'config.yaml'), `plugins: [${JSON.stringify(plugin)}]\n${readFileSync(join(copy, 'config.yaml'), 'utf8').replace(/^plugins:.*\n/m, '')}`)
    writeFileSync(summaryFile, JSON.stringify({...summary, fingerprints: {data: {test: '0123456789abcdef'}, plugins: {[plugin]: 'fedcba9876543210'}}}))
    const metrics = join(copy, 'metrics.csv')
    const lines = readFileSync(metrics, 'utf8').trim().split('\n')
    lines[summary.best_test_epoch] = lines[summary.best_test_epoch].replace(/^(\d+,[^,]+,[^,]+,)([^,]+)/, (_, head: string, loss: string) => `${head}${Number(loss) + 0.5}`)
    writeFileSync(metrics, `${lines.join('\n')}\n`)
    const r = mixture(['eval', copy, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout).training.changed, [
      "the test split's images or labels are not those the run trained with (same count, other contents)",
      `the plugin file ${plugin} changed since the run trained`,
    ])
    const text = mixture(['eval', copy])
    assert.match(text.stdout.replace(/\s+/g, ' '), /this evaluation differs \(the test split's images or labels are not those the run trained with \(same count, other contents\); the plugin file .*rmsprop\.mjs changed since the run trained\)/)
  })
})

describe('mixture eval --split val', () => {
  let run: string
  let summary: RunSummary

  before(async () => {
    const dir = tempDir()
    const withVal = {...spec, data: {...spec.data, val_split: 0.25}, train: {...spec.train, epochs: 3}}
    summary = (await runExperiment({spec: writeSpec(withVal, dir), outDir: join(dir, 'results'), log: () => {}})) as RunSummary
    run = summary.run_dir
  })

  it('best.ckpt on the validation split equals the validation row training wrote for the best validation epoch', async () => {
    assert.equal(summary.selection, 'best_val')
    const r = await evaluateRun({run, split: 'val'})
    assert.equal(r.epoch, summary.best_val_epoch)
    const row = readMetricsFile(run).rows.find((x) => x.epoch === r.epoch)!
    assert.equal(r.loss, row.val_loss)
    assert.equal(r.accuracy, row.val_accuracy)
    assert.equal(r.accuracy, summary.best_val_accuracy)
    assert.deepEqual(r.training, {loss: row.val_loss, accuracy: row.val_accuracy, equal: true, examples: r.examples, changed: []})
    // 96 training images of 6 classes, 16 each: a quarter of every class held out
    assert.deepEqual(r.per_class.map((c) => c.examples), [4, 4, 4, 4, 4, 4])
    assert.equal(r.out_dir, join(run, 'eval', 'val-best'))
    const last = await evaluateRun({run, split: 'val', ckpt: 'last'})
    assert.equal(last.loss, readMetricsFile(run).rows.at(-1)!.val_loss)
    // --split train is what training trained on: the other 72 images
    assert.equal((await evaluateRun({run, split: 'train'})).examples, 72)
  })

  it('the test split of a run with data.val_split is read without the training images (none to hold the validation split out of), and equals the test row', async () => {
    const lines: string[] = []
    const r = await evaluateRun({run, log: (m) => lines.push(m)})
    assert.ok(lines.some((l) => /^synthetic: 0 train \/ 40 test/.test(l)), lines.join('\n'))
    const row = readMetricsFile(run).rows.find((x) => x.epoch === r.epoch)!
    assert.deepEqual(r.training, {loss: row.test_loss, accuracy: row.test_accuracy, equal: true, examples: 40, changed: []})
  })

  it('the CLI says the evaluation equals training’s validation row', () => {
    const text = mixture(['eval', run, '--split', 'val'])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^val split, best\.ckpt \(epoch \d\), 24 examples/)
    assert.match(text.stdout, /equal to what training wrote for epoch \d \(val_loss [\d.]+, val_accuracy [\d.]+\)/)
  })
})

describe('EvalTally', () => {
  it('counts the first largest logit as the prediction, ranks ties by index for top-k, and keeps each batch\'s accuracy', () => {
    const t = new EvalTally(3, 4, 2)
    // rows: [pred 1 (tie with 2 → first), label 2: top-2 hit], [pred 0, label 0], [pred 3 (outside the classes), label 1: not in top 2]
    t.add([0, 5, 5, 1, 9, 1, 1, 1], [2, 0], 2)
    t.add([0, 1, 2.5, 3], [1], 1)
    const r = t.result()
    assert.deepEqual(r.confusion, [[1, 0, 0], [0, 0, 0], [0, 1, 0]])
    assert.deepEqual(r.outside, [0, 1, 0])
    assert.equal(r.k, 2)
    assert.equal(r.topK, 2 / 3)
    assert.deepEqual(r.batchAccuracies, [0.5, 0])
    assert.equal(r.examples, 3)
  })
})
