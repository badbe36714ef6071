// train.loss: the built-in cross_entropy is the default and leaves a spec as it was (a name stays a
// name); a plugin file adds a loss (the focal loss example), validated with its keys and defaults,
// trained (its gradient by autodiff, the correct count taken by the trainer), with the test loss
// still plain cross-entropy; at γ = 0 it trains to cross-entropy's numbers; a label smoothing the loss
// does not apply, an unknown loss and a loss function that does not return a scalar are refused.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {tf} from '../../src/engine/tf.js'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {chooseLoss} from '../../src/recipe/loss.js'
import {lookup, registerLoss} from '../../src/registry/registry.js'
import {mixture, REPO, resolveObject, tempDir, values, writeSpec} from '../helpers.js'

const quiet = () => {}
const plugin = join(REPO, 'configs', 'examples', 'plugins', 'focal-loss.mjs')

const spec = (train: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  name: 'loss',
  seed: 3,
  data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 64, test: 32, classes: 3}},
  model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]},
  train: {epochs: 2, batch_size: 16, ...train},
  engine: {backend: 'cpu'},
  ...extra,
})

function rows(dir: string): number[][] {
  return readFileSync(join(dir, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((r) => r.split(',').slice(1, 5).map(Number))
}

test('cross_entropy is the default, kept as a name; an unknown loss gets a did-you-mean at its line', () => {
  assert.equal(resolveObject(spec()).train.loss, 'cross_entropy')
  assert.equal(resolveObject(spec({loss: 'cross_entropy'})).train.loss, 'cross_entropy')
  const dir = tempDir('mixture-loss-')
  const typo = mixture(['validate', writeSpec(spec({loss: 'cross_entropi'}), dir)])
  assert.equal(typo.code, 2)
  assert.match(typo.stderr, /spec\.yaml:\d+:\d+: train\.loss: unknown loss "cross_entropi", did you mean cross_entropy\?; registered: cross_entropy/)
})

test('a plugin loss (focal): validated with its defaults, trained, γ = 0 matches cross-entropy; the test loss stays cross-entropy', async () => {
  const dir = tempDir('mixture-loss-focal-')
  const file = (loss: unknown, name: string, train: Record<string, unknown> = {}) => writeSpec(spec({loss, ...train}, {plugins: [plugin]}), dir, name)
  const valid = mixture(['validate', file({type: 'focal'}, 'focal.yaml'), '--json'])
  assert.equal(valid.code, 0, valid.stderr)
  assert.deepEqual(JSON.parse(valid.stdout).spec.train.loss, {type: 'focal', gamma: 2, alpha: 1})
  const smoothed = mixture(['validate', file({type: 'focal'}, 'smoothed.yaml', {label_smoothing: 0.1})])
  assert.equal(smoothed.code, 2)
  assert.match(smoothed.stderr, /train\.label_smoothing: the focal loss does not apply label smoothing; set it to 0, or use a loss that applies it \(cross_entropy\)/)
  const bad = mixture(['validate', file({type: 'focal', gamma: -1}, 'bad.yaml')])
  assert.match(bad.stderr, /train\.loss\.gamma: must be >= 0/)
  const listed = mixture(['list', 'loss', '--plugin', plugin])
  assert.match(listed.stdout, /cross_entropy/)
  assert.match(listed.stdout, /focal/)

  const ce = (await runExperiment({spec: writeSpec(spec(), dir, 'ce.yaml'), outDir: join(dir, 'ce'), log: quiet})) as RunSummary
  const zero = (await runExperiment({spec: file({type: 'focal', gamma: 0}, 'zero.yaml'), outDir: join(dir, 'zero'), log: quiet})) as RunSummary
  const focal = (await runExperiment({spec: file({type: 'focal', gamma: 2}, 'two.yaml'), outDir: join(dir, 'two'), log: quiet})) as RunSummary
  rows(zero.run_dir).forEach((row, e) => row.forEach((v, k) => assert.ok(Math.abs(v - rows(ce.run_dir)[e][k]) < 1e-5, `epoch ${e + 1} column ${k}: ${v} vs ${rows(ce.run_dir)[e][k]}`)))
  const [ceRow, focalRow] = [rows(ce.run_dir)[0], rows(focal.run_dir)[0]]
  assert.ok(focalRow[0] < ceRow[0] * 0.8, `the focal training loss is the smaller one (${focalRow[0]} vs ${ceRow[0]})`)
  assert.ok(focalRow[2] > 0.5 * ceRow[2] && focalRow[2] < 2 * ceRow[2], `the test loss is cross-entropy, of cross-entropy's size (${focalRow[2]} vs ${ceRow[2]})`)
})

test('the focal loss example against its formula in double precision, and a loss that gives no scalar is refused', async () => {
  await tf.setBackend('cpu')
  // Registered once per process: by the run of the test before, or here.
  if (!lookup('loss', 'focal')) ((await import(plugin)) as {default: (mm: unknown) => void}).default(await import('../../src/api.js'))
  const logits = tf.tensor2d(values(12, 7).map((v) => 3 * v), [4, 3])
  const labels = tf.tensor1d([0, 2, 1, 2], 'int32')
  const {loss, correct} = chooseLoss({type: 'focal', gamma: 2, alpha: 0.5}, 3, 0)(logits, labels)
  const z = [...logits.dataSync()]
  let sum = 0
  for (let i = 0; i < 4; i++) {
    const row = z.slice(3 * i, 3 * i + 3)
    const pt = Math.exp(row[[0, 2, 1, 2][i]]) / row.reduce((s, v) => s + Math.exp(v), 0)
    sum += -0.5 * (1 - pt) ** 2 * Math.log(pt)
  }
  assert.ok(Math.abs(loss.dataSync()[0] - sum / 4) < 1e-6, `${loss.dataSync()[0]} vs ${sum / 4}`)
  const argmax = [0, 1, 2, 3].map((i) => z.slice(3 * i, 3 * i + 3).indexOf(Math.max(...z.slice(3 * i, 3 * i + 3))))
  assert.equal(correct.dataSync()[0], argmax.filter((a, i) => a === [0, 2, 1, 2][i]).length)
  registerLoss({name: 'per_example', summary: 'not a mean', schema: {type: 'object', properties: {}, additionalProperties: false}, create: () => (l) => tf.sum(l, 1) as unknown as tf.Scalar})
  assert.throws(() => chooseLoss('per_example', 3, 0)(logits, labels), /train\.loss per_example: the loss function must return a scalar tensor \(the batch's mean loss\), not a tensor of shape \[4\]/)
  tf.dispose([logits, labels, loss, correct])
})
