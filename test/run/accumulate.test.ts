// train.accumulate_grad_batches: k batches of b make one optimizer step of their summed gradients
// (each loss ÷ k), as Lightning's accumulate_grad_batches. Without BatchNorm, that trains to the
// numbers of batches of k·b, learning rates of a schedule included; an epoch's last step takes the
// batches left; --resume continues to the numbers of an uninterrupted run; mixed16 is refused.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {Trainer} from '../../src/engine/trainer.js'
import {buildModel} from '../../src/model/build.js'
import {mixture, resolveObject, tempDir, writeSpec} from '../helpers.js'

/** A ViT on 8×8 images without dropout or BatchNorm (LayerNorm only), so that nothing depends on how a batch is split. */
const spec = (batch: number, accumulate: number | undefined, epochs = 2, schedule: Record<string, unknown> = {type: 'cosine'}) => ({
  name: 'accumulate',
  seed: 4,
  data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 64, test: 32, classes: 3}, augment: false},
  model: {type: 'mixture', components: [{type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, dropout: 0, emb_dropout: 0}], adapter: {type: 'token_image', batch_norm: false}},
  train: {epochs, batch_size: batch, optimizer: {type: 'sgd', lr: 0.05, momentum: 0.9}, schedule, ...(accumulate !== undefined ? {accumulate_grad_batches: accumulate} : {})},
  engine: {backend: 'cpu'},
})

function run(s: Record<string, unknown>): string {
  const dir = tempDir('mixture-accumulate-')
  const r = mixture(['run', writeSpec(s, dir), '--out', join(dir, 'results')])
  assert.equal(r.code, 0, r.stderr)
  return /run folder: (.*)/.exec(r.stdout)![1].trim()
}

/** epoch, train_loss, train_accuracy, test_loss, test_accuracy, lr of every metrics.csv row. */
function rows(runDir: string): number[][] {
  const [header, ...lines] = readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n')
  const keys = header.split(',')
  const at = ['epoch', 'train_loss', 'train_accuracy', 'test_loss', 'test_accuracy', 'lr'].map((k) => keys.indexOf(k))
  return lines.map((l) => at.map((i) => Number(l.split(',')[i])))
}

test('4 batches of 4 accumulated train as batches of 16: the same losses, accuracies and learning rates', {timeout: 120_000}, () => {
  const whole = rows(run(spec(16, undefined)))
  const split = rows(run(spec(4, 4)))
  assert.equal(split.length, 2)
  split.forEach((row, e) => row.forEach((v, k) => assert.ok(Math.abs(v - whole[e][k]) <= 2e-5 * (1 + Math.abs(whole[e][k])), `epoch ${e + 1} column ${k}: ${v} vs ${whole[e][k]}`)))
  const unaccumulated = rows(run(spec(4, undefined)))
  assert.ok(Math.abs(unaccumulated[1][3] - whole[1][3]) > 1e-3, 'batches of 4 without accumulation train otherwise (the comparison can fail)')
})

test('an epoch whose batches do not divide by k ends with a shorter step, and --resume continues to the uninterrupted numbers', {timeout: 120_000}, () => {
  // 16 batches of 4, k = 3: five steps of 3 batches and one of 1 per epoch; a per-step warmup over the first epoch's 6 steps.
  const schedule = {type: 'constant', warmup_epochs: 1}
  const straight = run(spec(4, 3, 3, schedule))
  const cut = run(spec(4, 3, 2, schedule))
  const r = mixture(['run', '--resume', cut, '--epochs', '3'])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(rows(cut), rows(straight))
  const summary = JSON.parse(readFileSync(join(straight, 'summary.json'), 'utf8'))
  assert.equal(summary.status, 'completed')
  const last = readFileSync(join(straight, 'last.ckpt'))
  const header = JSON.parse(last.toString('utf8', 44, 44 + last.readUInt32LE(40)))
  assert.equal(header.meta.step, 18, 'six optimizer steps an epoch')
})

test('accumulation is refused with a loss scaler (mixed16), and must be a whole number ≥ 1', () => {
  const {model} = buildModel(resolveObject(spec(4, 2)))
  assert.throws(() => new Trainer(model, {lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0}, {accumulate: 2, lossScale: {init: 1024, growth_factor: 2, backoff_factor: 0.5, growth_interval: 100}}), /train\.accumulate_grad_batches above 1 does not go with engine\.precision mixed16/)
  model.dispose()
  assert.throws(() => resolveObject(spec(4, 0)), /train\.accumulate_grad_batches: must be >= 1/)
})
