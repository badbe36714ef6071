// A run with data.val_split: the validation split evaluated every epoch (metrics.csv's val columns), the
// best epoch chosen on it (best.ckpt, summary.json), an interrupted run resumed to the same digits, and the
// table saying which rule chose its accuracy. The paper's configs keep the paper's rule.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {resolveSpec} from '../../src/config/resolve.js'
import {makeTable} from '../../src/report/index.js'
import {readCheckpoint} from '../../src/run/checkpoint.js'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {readMetricsFile} from '../../src/run/metrics-file.js'
import {REPO, tempDir, writeSpec} from '../helpers.js'
import {interrupted} from './helpers.js'

const spec = {
  name: 'tiny-val',
  label: 'Tiny CNN',
  seed: 5,
  data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 96, test: 32, classes: 3, noise: 0.5}, val_split: 0.25},
  model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]},
  train: {epochs: 3, batch_size: 16, optimizer: {lr: 0.01}, metrics_every: 2},
  engine: {backend: 'cpu'},
}

/** metrics.csv's text without the timing columns: what must be identical to the last digit. */
function metricColumns(runDir: string): string[] {
  const [header, ...rows] = readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n')
  const keep = header.split(',').map((c, i) => (/seconds|images_per_second/.test(c) ? -1 : i)).filter((i) => i >= 0)
  return [header, ...rows].map((line) => keep.map((i) => line.split(',')[i]).join(','))
}

test('a validation split is evaluated every epoch and chooses the best epoch: best.ckpt, summary.json, the table', async () => {
  const dir = tempDir()
  const lines: string[] = []
  const summary = (await runExperiment({spec: writeSpec(spec, dir), outDir: join(dir, 'results'), log: (m) => lines.push(m)})) as RunSummary
  assert.ok(lines.some((l) => /: \d+ trainable parameters, 72 train \/ 24 validation \/ 32 test images/.test(l)), lines.join('\n'))
  assert.ok(lines.some((l) => l === 'validation split: 24 of the 96 training images held out (val_split 0.25 of every class, drawn by seed 5); the best epoch is chosen on it'))
  const {rows} = readMetricsFile(summary.run_dir)
  assert.equal(rows.length, 3)
  for (const r of rows) assert.ok(r.val_loss > 0 && r.val_accuracy >= 0 && r.val_accuracy <= 1 && r.val_accuracy * 24 === Math.round(r.val_accuracy * 24), `epoch ${r.epoch}: val ${r.val_loss} ${r.val_accuracy}`)
  const bestVal = Math.max(...rows.map((r) => r.val_accuracy))
  const best = rows.find((r) => r.val_accuracy === bestVal)!
  assert.equal(summary.selection, 'best_val')
  assert.equal(summary.best_val_accuracy, bestVal)
  assert.equal(summary.best_val_epoch, best.epoch)
  assert.equal(summary.test_accuracy_at_best_val, best.test_accuracy)
  assert.equal(summary.best_test_accuracy, Math.max(...rows.map((r) => r.test_accuracy)), 'the best test accuracy is still reported, as such')
  const ckpt = readCheckpoint(join(summary.run_dir, 'best.ckpt'))
  assert.equal(ckpt.meta.epoch, best.epoch, 'best.ckpt is the best validation epoch')
  assert.equal(ckpt.meta.best_val_accuracy, bestVal)
  assert.deepEqual(JSON.parse(readFileSync(join(summary.run_dir, 'summary.json'), 'utf8')).selection, 'best_val')

  const table = await makeTable({paths: [summary.run_dir], plot: false})
  const [head, , row] = table.markdown.split('\n')
  assert.deepEqual(head.split('|').map((c) => c.trim()).filter(Boolean), ['Model', 'Test Accuracy at Best Validation Epoch', 'Best Test Accuracy over Epochs', 'Total Training Time (Minutes)', 'Number of Parameters'])
  const cells = row.split('|').map((c) => c.trim()).filter(Boolean)
  assert.deepEqual(cells.slice(0, 3), ['Tiny CNN', best.test_accuracy.toFixed(4), summary.best_test_accuracy!.toFixed(4)])
  assert.match(table.caption, /^Top-1 is the test accuracy at the epoch of highest validation accuracy\. The validation split is held out of the training images/)
  assert.equal(table.rows[0].test_accuracy_at_best_val, best.test_accuracy)
  assert.equal(table.rows[0].best_val_epoch, best.epoch)
  const curves = readFileSync(table.files.curves_csv!, 'utf8')
  assert.equal(curves.split('\n').filter((l) => /,val,(loss|accuracy),/.test(l)).length, 6, 'curves.csv has the validation rows')
})

test('the same seed holds out the same images on resume: an interrupted run continues to the digits of an uninterrupted one', async () => {
  const dir = tempDir()
  const file = writeSpec(spec, dir)
  const full = (await runExperiment({spec: file, outDir: join(dir, 'full'), log: () => {}})) as RunSummary
  const runDir = await interrupted(file, join(dir, 'cut'), /^epoch 1\/3/)
  assert.equal(readMetricsFile(runDir).rows.length, 1)
  const resumed = (await runExperiment({resume: runDir, log: () => {}})) as RunSummary
  assert.equal(resumed.status, 'completed')
  assert.deepEqual(metricColumns(runDir), metricColumns(full.run_dir))
  const [header, first] = metricColumns(runDir).map((line) => line.split(','))
  assert.ok(first[header.indexOf('val_accuracy')] !== '', 'with validation values')
  for (const key of ['selection', 'best_val_accuracy', 'best_val_epoch', 'test_accuracy_at_best_val', 'best_test_accuracy'] as const) assert.equal(resumed[key], full[key], key)
  assert.equal(readCheckpoint(join(runDir, 'best.ckpt')).meta.epoch, full.best_val_epoch)
})

test('the paper’s configs keep the paper’s rule: none holds a validation split out', async () => {
  const root = join(REPO, 'configs', 'paper')
  const files = readdirSync(root, {recursive: true, encoding: 'utf8'}).filter((f) => f.includes('/') && f.endsWith('.yaml') && !f.endsWith('table.yaml'))
  assert.ok(files.length >= 24, `${files.length} paper configs`)
  for (const f of files) assert.equal((await resolveSpec(join(root, f))).spec.data.val_split, undefined, f)
})
