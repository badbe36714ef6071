// Two accuracies per pass: per example (correct / examples) and the paper's mean of per-batch
// accuracies, which weighs a short last batch as much as a full one (SPEC "Accuracy per epoch in the
// original"); `train.accuracy` picks the one a run reports.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {tf} from '../../src/engine/tf.js'
import {epochAccuracy, MetricSums} from '../../src/ops/metric-sums.js'
import {Trainer} from '../../src/engine/trainer.js'
import {loadWebgpu} from '../../src/backends/webgpu/index.js'
import {buildModel} from '../../src/model/build.js'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {collectGroups} from '../../src/report/group.js'
import {renderMarkdown, toTableRows} from '../../src/report/table.js'
import {loadSpec} from '../../src/config/load.js'
import {validateSpec} from '../../src/config/validate.js'
import {REPO, resolveObject, tempDir, values, writeSpec} from '../helpers.js'
import {skipUnless} from '../require.js'

let webgpu: string | false = false
try {
  await loadWebgpu()
  if (!(await tf.setBackend('webgpu'))) webgpu = "tf.setBackend('webgpu') failed"
} catch (error) {
  webgpu = `no usable WebGPU adapter: ${(error as Error).message}`
}
await tf.setBackend('cpu')
const noWebgpu = skipUnless('webgpu', webgpu)

async function sumsCase(inPlace = false): Promise<void> {
  const sums = new MetricSums()
  const before = sums.tensor
  // batches of 4, 4 and 2 examples with 4, 2 and 0 correct
  for (const [correct, batch] of [[4, 4], [2, 4], [0, 2]]) sums.add(tf.scalar(1.5), tf.scalar(correct), batch)
  assert.equal(sums.tensor === before, inPlace, inPlace ? 'updated in place' : 'a new tensor per batch')
  const m = await sums.read()
  assert.equal(m.examples, 10)
  assert.ok(Math.abs(m.accuracy - 0.6) < 1e-7, `per example ${m.accuracy}`)
  assert.ok(Math.abs(m.batch_mean_accuracy - 0.5) < 1e-7, `batch mean ${m.batch_mean_accuracy}`)
  assert.ok(Math.abs(m.loss - 1.5) < 1e-7)
  assert.equal(epochAccuracy(m, 'per_example'), m.accuracy)
  assert.equal(epochAccuracy(m, 'batch_mean'), m.batch_mean_accuracy)
  sums.reset()
  sums.add(tf.scalar(0), tf.scalar(1), 2)
  assert.deepEqual({...(await sums.read()), loss: 0}, {loss: 0, accuracy: 0.5, batch_mean_accuracy: 0.5, examples: 2})
  sums.dispose()
}

test('MetricSums: per-example accuracy and the mean of per-batch accuracies', () => sumsCase())

test('MetricSums on webgpu: the in-place update keeps the third sum too', {skip: noWebgpu}, async () => {
  await tf.setBackend('webgpu')
  try {
    await sumsCase(true)
  } finally {
    await tf.setBackend('cpu')
  }
})

test('an evaluation pass with a short last batch reports both, as the predictions give them', async () => {
  const spec = resolveObject({name: 'acc', seed: 5, data: {dataset: 'synthetic', image_size: 8, synthetic: {classes: 3}}, model: {type: 'cnn_classifier', channels: [4, 3]}})
  const built = buildModel(spec)
  const trainer = new Trainer(built.model, {lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0})
  try {
    const n = 10
    const x = tf.tensor4d(values(n * 8 * 8 * 3, 9).map((v) => (v + 1) / 2), [n, 8, 8, 3])
    const predicted = (tf.argMax(built.model.predict(x) as tf.Tensor2D, 1).dataSync() as Int32Array).slice()
    // labels: right for examples 0–3 and 8, wrong elsewhere → batches (4, 4, 2) have 4, 0 and 1 correct
    const right = new Set([0, 1, 2, 3, 8])
    const y = tf.tensor1d(Array.from(predicted, (p, i) => (right.has(i) ? p : (p + 1) % 3)), 'int32')
    for (const [start, size] of [[0, 4], [4, 4], [8, 2]]) tf.tidy(() => trainer.evalStep(tf.slice(x, [start], [size]) as tf.Tensor4D, tf.slice(y, [start], [size]) as tf.Tensor1D))
    const m = await trainer.readMetrics()
    assert.ok(Math.abs(m.accuracy - 5 / 10) < 1e-7, `per example ${m.accuracy}`)
    assert.ok(Math.abs(m.batch_mean_accuracy - (1 + 0 + 0.5) / 3) < 1e-7, `batch mean ${m.batch_mean_accuracy}`)
    tf.dispose([x, y])
  } finally {
    trainer.dispose()
    built.model.dispose()
  }
})

test('train.accuracy: batch_mean is recorded in the run and said under the table', async () => {
  const dir = tempDir()
  const file = writeSpec(
    {
      name: 'acc-run',
      label: 'Tiny',
      seed: 3,
      data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 20, test: 10, classes: 3}},
      model: {type: 'cnn_classifier', channels: [3]},
      train: {epochs: 1, batch_size: 8, eval_batch_size: 4, accuracy: 'batch_mean'},
      engine: {backend: 'cpu'},
    },
    dir,
  )
  const run = (await runExperiment({spec: file, outDir: join(dir, 'results'), log: () => {}})) as RunSummary
  assert.equal(run.accuracy, 'batch_mean')
  assert.equal(JSON.parse(readFileSync(join(run.run_dir, 'summary.json'), 'utf8')).accuracy, 'batch_mean')
  assert.equal(parseYaml(readFileSync(join(run.run_dir, 'config.yaml'), 'utf8')).train.accuracy, 'batch_mean')
  assert.match(renderMarkdown(toTableRows(collectGroups([run.run_dir], false, () => {}))), /Accuracy is the mean of per-batch accuracies \(the paper’s code\)\./)
  const defaults = resolveObject({name: 'd', data: {dataset: 'synthetic'}, model: {type: 'cnn_classifier'}})
  assert.equal(defaults.train.accuracy, 'per_example', 'the default counts every example alike')
})

test("every paper row reports the paper's accuracy (batch_mean)", () => {
  const root = join(REPO, 'configs', 'paper')
  const rows = readdirSync(root, {withFileTypes: true})
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(root, d.name)).filter((f) => f.endsWith('.yaml') && f !== 'table.yaml').map((f) => join(root, d.name, f)))
  assert.equal(rows.length, 24)
  for (const file of rows) assert.equal(validateSpec(loadSpec(file)).train.accuracy, 'batch_mean', file)
})
