// train.mixup through a run: with nothing mixed (prob 0: the targets are the smoothed labels) it
// trains to the numbers of label smoothing alone; with both alphas 0 it is off, as timm's, and trains
// as a run without it (a loss of labels only is then accepted); mixing changes the training columns
// and not how a run is scored; the same batches with and without data workers; --resume across
// off_epoch continues bit for bit; a backwards cutmix_minmax, one too narrow for the images and a
// loss that takes labels only are refused, each at its line.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {chooseLoss} from '../../src/recipe/loss.js'
import {registerLoss} from '../../src/registry/registry.js'
import {tf} from '../../src/engine/tf.js'
import {mixture, REPO, resolveObject, tempDir, writeSpec} from '../helpers.js'
import {numbers} from '../faults/helpers.js'

const quiet = () => {}

const spec = (train: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  name: 'mixup',
  seed: 3,
  data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 48, test: 24, classes: 3}},
  model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]},
  train: {epochs: 2, batch_size: 10, optimizer: {lr: 0.01}, ...train},
  engine: {backend: 'cpu'},
  ...extra,
})

function rows(dir: string): number[][] {
  return readFileSync(join(dir, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((r) => r.split(',').slice(1, 5).map(Number))
}

async function train(dir: string, name: string, s: Record<string, unknown>): Promise<string> {
  return ((await runExperiment({spec: writeSpec(s, dir, `${name}.yaml`), outDir: join(dir, name), log: quiet})) as RunSummary).run_dir
}

test('nothing mixed (prob 0), the targets are the smoothed labels: the numbers of label smoothing alone; both alphas 0 is no mixup at all', {timeout: 120_000}, async () => {
  const dir = tempDir('mixture-mixup-off-')
  const smoothed = await train(dir, 'smoothed', spec({label_smoothing: 0.1}))
  const unmixed = await train(dir, 'unmixed', spec({label_smoothing: 0.1, mixup: {mixup_alpha: 1, prob: 0}}))
  rows(unmixed).forEach((row, e) => row.forEach((v, k) => assert.ok(Math.abs(v - rows(smoothed)[e][k]) < 1e-5, `epoch ${e + 1} column ${k}: ${v} vs ${rows(smoothed)[e][k]}`)))
  // timm's --mixup 0 --cutmix 0: no Mixup, plain labels and loss — the very numbers of a run without the key.
  const off = await train(dir, 'off', spec({label_smoothing: 0.1, mixup: {mixup_alpha: 0, cutmix_alpha: 0}}))
  assert.deepEqual(numbers(off), numbers(smoothed))
})

test('mixing changes training, the same with data workers or without; config.yaml records it with its defaults', {timeout: 120_000}, async () => {
  const dir = tempDir('mixture-mixup-')
  const plain = await train(dir, 'plain', spec())
  const mixed = await train(dir, 'mixed', spec({mixup: {mixup_alpha: 0.8, cutmix_alpha: 1}}))
  const workers = await train(dir, 'workers', spec({mixup: {mixup_alpha: 0.8, cutmix_alpha: 1}}, {engine: {backend: 'cpu', data_workers: 2}}))
  assert.notEqual(numbers(mixed)[0].split(',')[1], numbers(plain)[0].split(',')[1], 'the training loss is the mixed batches\'')
  assert.deepEqual(numbers(workers), numbers(mixed))
  const config = readFileSync(join(mixed, 'config.yaml'), 'utf8')
  assert.match(config, /mixup:\n\s+mixup_alpha: 0.8\n\s+cutmix_alpha: 1\n\s+prob: 1\n\s+switch_prob: 0.5\n\s+mode: batch\n\s+correct_lam: true/)
  // A spec without train.mixup resolves as before (no key, so its hash does not move).
  assert.equal('mixup' in resolveObject(spec()).train, false)
})

test('--resume across off_epoch: 1 epoch + resume to 3 gives the numbers of 3 uninterrupted', {timeout: 120_000}, () => {
  const dir = tempDir('mixture-mixup-resume-')
  const mix = {mixup: {mixup_alpha: 0.4, cutmix_alpha: 1, mode: 'elem', off_epoch: 2}, label_smoothing: 0.1}
  const run = (epochs: number, name: string) => {
    const r = mixture(['run', writeSpec(spec({...mix, epochs}), dir, `${name}.yaml`), '--out', join(dir, name)])
    assert.equal(r.code, 0, r.stderr)
    return /run folder: (.*)/.exec(r.stdout)![1].trim()
  }
  const straight = run(3, 'straight')
  const resumed = run(1, 'resumed')
  const r = mixture(['run', '--resume', resumed, '--epochs', '3'])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(numbers(resumed), numbers(straight))
})

test('refused at its line: a backwards cutmix_minmax, one too narrow for the images, a loss that takes labels only (unless nothing is mixed)', () => {
  const dir = tempDir('mixture-mixup-bad-')
  const check = (train: Record<string, unknown>, extra: Record<string, unknown>, name: string, message: RegExp) => {
    const r = mixture(['validate', writeSpec(spec(train, extra), dir, `${name}.yaml`)])
    assert.equal(r.code, 2, `${name}: ${r.stdout}`)
    assert.match(r.stderr, message, name)
  }
  check({mixup: {cutmix_minmax: [0.8, 0.2]}}, {}, 'minmax', /minmax\.yaml:\d+:\d+: train\.mixup\.cutmix_minmax: \[0\.8, 0\.2\]: the first \(the smallest box side\) must be below the second/)
  check({mixup: {cutmix_minmax: [0.01, 0.05]}}, {}, 'narrow', /train\.mixup\.cutmix_minmax: \[0\.01, 0\.05\] of 8-pixel images gives every box the side 0 \(⌊8·min⌋ = ⌊8·max⌋\), so nothing is cut: widen the range/)
  check({mixup: {mixup_alpha: 0.2}, loss: {type: 'focal'}}, {plugins: [join(REPO, 'configs', 'examples', 'plugins', 'focal-loss.mjs')]}, 'focal', /train\.mixup: the focal loss takes integer labels only \(its registration does not declare softTargets\), and train\.mixup trains on mixed targets; use cross_entropy, or remove train\.mixup/)
  check({mixup: {mixup_alpha: 0.2, mode: 'row'}}, {}, 'mode', /train\.mixup\.mode: must be one of "batch", "pair", "elem" \(got "row"\)/)
  const off = mixture(['validate', writeSpec(spec({mixup: {mixup_alpha: 0}, loss: {type: 'focal'}}, {plugins: [join(REPO, 'configs', 'examples', 'plugins', 'focal-loss.mjs')]}), dir, 'off.yaml')])
  assert.equal(off.code, 0, `a mixup that mixes nothing leaves the labels plain: ${off.stderr}`)
  // A program that makes a trainer itself meets the same refusal.
  registerLoss({name: 'labels_only_test', summary: 'a loss of labels only', schema: {type: 'object', additionalProperties: false, properties: {}}, create: () => (logits) => tf.mean(logits) as tf.Scalar})
  assert.throws(() => chooseLoss('labels_only_test', 3, 0, true), /the labels_only_test loss takes integer labels only/)
})

test("label_smoothing with a soft-target loss that applies none itself: taken with train.mixup (its targets carry the smoothing), refused without", () => {
  registerLoss({
    name: 'soft_targets_only_test',
    summary: 'a loss of target distributions that does not smooth',
    schema: {type: 'object', additionalProperties: false, properties: {}},
    softTargets: true,
    create: () => (logits) => tf.mean(logits) as tf.Scalar,
  })
  const withMixup = resolveObject(spec({mixup: {mixup_alpha: 0.2}, loss: 'soft_targets_only_test', label_smoothing: 0.1}))
  assert.equal(withMixup.train.label_smoothing, 0.1)
  assert.throws(() => resolveObject(spec({loss: 'soft_targets_only_test', label_smoothing: 0.1})), /train\.label_smoothing: the soft_targets_only_test loss does not apply label smoothing; .* — or train it with train\.mixup, whose targets carry the smoothing/)
  // A mixup that mixes nothing leaves the labels plain, and the loss would not smooth them.
  assert.throws(() => resolveObject(spec({mixup: {mixup_alpha: 0}, loss: 'soft_targets_only_test', label_smoothing: 0.1})), /does not apply label smoothing/)
})
