// train.accumulate_grad_batches: k batches of b make one optimizer step of their summed gradients
// (each loss ÷ k), as Lightning's accumulate_grad_batches. Without BatchNorm, that trains to the
// numbers of batches of k·b, learning rates of a schedule included; an epoch's last step takes the
// batches left; --resume continues to the numbers of an uninterrupted run. With a loss scaler
// (mixed16), as GradScaler accumulates: at a power-of-two scale exactly the unscaled numbers; a step
// whose summed gradients overflow is skipped whole, its batches left out of the metrics.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {tf} from '../../src/engine/tf.js'
import {Trainer, type StepMetrics} from '../../src/engine/trainer.js'
import {buildModel} from '../../src/model/build.js'
import {mixture, resolveObject, tempDir, values, writeSpec} from '../helpers.js'

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

test('accumulation must be a whole number ≥ 1', () => {
  assert.throws(() => resolveObject(spec(4, 0)), /train\.accumulate_grad_batches: must be >= 1/)
})

/**
 * Batches of 4 (`bad`: the batch whose pixels are NaN, as a float16 overflow makes them) trained by a
 * fresh model of spec(4, 3) with 3 batches a step (and a loss scaler at `scale`): its weights, the
 * epoch's metrics and the scale after.
 */
async function accumulated(batches: number[], scale?: number, bad = -1): Promise<{weights: number[][]; metrics: StepMetrics; scale?: number}> {
  await tf.setBackend('cpu')
  const {model} = buildModel(resolveObject(spec(4, 3)))
  const lossScale = scale === undefined ? {} : {lossScale: {init: scale, growth_factor: 2, backoff_factor: 0.5, growth_interval: 1000}}
  const trainer = new Trainer(model, {lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0}, {accumulate: 3, ...lossScale})
  try {
    for (const [i, b] of batches.entries()) {
      const pixels = b === bad ? new Float32Array(4 * 8 * 8 * 3).fill(NaN) : values(4 * 8 * 8 * 3, 60 + b)
      const x = tf.tensor4d(pixels, [4, 8, 8, 3])
      const y = tf.tensor1d([b % 3, (b + 1) % 3, (b + 2) % 3, b % 3], 'int32')
      await trainer.trainStep(x, y, 1e-3, undefined, (i + 1) % 3 === 0 || i === batches.length - 1)
      tf.dispose([x, y])
    }
    return {weights: model.getWeights().map((w) => [...w.dataSync()]), metrics: await trainer.readMetrics(), scale: trainer.optimizerState().lossScaler?.scale}
  } finally {
    trainer.dispose()
    model.dispose()
  }
}

test('with a loss scaler (mixed16) at a power of two, accumulation gives exactly the unscaled numbers; an overflowing step is skipped whole', async () => {
  const plain = await accumulated([1, 2, 3, 4, 5, 6, 7])
  const scaled = await accumulated([1, 2, 3, 4, 5, 6, 7], 65536)
  assert.deepEqual(scaled.weights, plain.weights, 'the scale and its reciprocal are exact in float32')
  assert.deepEqual(scaled.metrics, plain.metrics)
  assert.equal(scaled.scale, 65536)
  // The second step's middle batch overflows: that step is skipped (no update, Adam's count stays), the scale halves, its three batches leave the metrics.
  const skipped = await accumulated([1, 2, 3, 4, 5, 6, 7, 8, 9], 65536, 5)
  const without = await accumulated([1, 2, 3, 7, 8, 9])
  assert.deepEqual(skipped.weights, without.weights)
  assert.deepEqual(skipped.metrics, without.metrics)
  assert.equal(skipped.scale, 32768)
})
