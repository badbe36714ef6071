/**
 * Steps that accumulate gradients (train.accumulate_grad_batches) on WebGPU: both halves — a batch's
 * backward added into the sums, and the update from the sums (with a loss scaler, its unscale and
 * its update, one step skipped for an overflow) — are replayed, and the weights,
 * running statistics, optimizer moments and losses agree (to 1e-5, as graph.test.ts) with those of the same steps run by tfjs, with a
 * smaller last batch and a step of fewer batches. Runs wherever a WebGPU adapter is present (a
 * software one with MIXTURE_WEBGPU_ALLOW_SOFTWARE=1); skipped, with the loader's reason, elsewhere.
 */
import {describe} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../../src/engine/tf.js'
import type {Trainer} from '../../../src/engine/trainer.js'
import {restoreEnvAfter, values} from '../../helpers.js'
import {webgpuUnavailable} from '../paper-rows.js'
import {needing} from '../../require.js'
import {assertReplayMatches, SIZE, trainOnWebgpu} from './replay-check.js'

const {it} = needing('webgpu', await webgpuUnavailable('webgpu gradient-accumulation tests'))

restoreEnvAfter('MIXTURE_WEBGPU_GRAPH')

/**
 * 16 batches: steps of 3 batches, and one of 1 where the 8th batch ends an "epoch"; batch 12 is
 * smaller; batch `bad` has NaN pixels (with a loss scaler, its step is skipped).
 */
async function steps(trainer: Trainer, bad = -1): Promise<number[]> {
  const losses: number[] = []
  for (let i = 0; i < 16; i++) {
    const batch = i === 12 ? 1 : 2
    const x = tf.tensor4d(i === bad ? new Float32Array(batch * SIZE * SIZE * 3).fill(NaN) : values(batch * SIZE * SIZE * 3, 300 + i), [batch, SIZE, SIZE, 3])
    const y = tf.tensor1d(Array.from({length: batch}, (_, j) => (i + j) % 3), 'int32')
    const within = i < 8 ? i : i - 8
    await trainer.trainStep(x, y, 1e-2, undefined, (within + 1) % 3 === 0 || within === 7)
    tf.dispose([x, y])
    losses.push((await trainer.readMetrics()).loss)
  }
  return losses
}

describe('accumulating steps on WebGPU', () => {
  it('replayed, they equal the steps run by tfjs: weights, statistics, moments, losses', async () => {
    const options = {accumulate: 3, maxGradNorm: 1}
    const plain = await trainOnWebgpu(false, options, steps)
    const replayed = await trainOnWebgpu(true, options, steps)
    assertReplayMatches(replayed, plain)
    assert.match(replayed.describe.join('; '), /accumulated update .*replayed [1-9]/)
  })

  it('with a loss scaler (mixed16\'s GradScaler), replayed, they equal the steps run by tfjs, a skipped step included', async () => {
    const options = {accumulate: 3, maxGradNorm: 1, lossScale: {init: 1024, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2}}
    const withBad = (trainer: Trainer) => steps(trainer, 10)
    // Without BatchNorm: the NaN batch's forward would fill its running statistics with NaN (in PyTorch too), skipped step or not.
    const vit = {type: 'mixture', components: [{type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 8, mlp_dim: 16, dropout: 0, emb_dropout: 0}], adapter: {type: 'token_image', batch_norm: false}}
    const plain = await trainOnWebgpu(false, options, withBad, vit)
    const replayed = await trainOnWebgpu(true, options, withBad, vit)
    assertReplayMatches(replayed, plain)
    assert.match(replayed.describe.join('; '), /accumulated unscale .*replayed [1-9]/)
    assert.match(replayed.describe.join('; '), /accumulated update .*replayed [1-9]/)
  })
})
